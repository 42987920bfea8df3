// History scans (scan_all, scan_range) against repositories the real git command builds: the
// diffs come from git diff-tree and the blobs from git cat-file (history.hpp), so these cover
// what their output may hold: paths git would quote, empty commits, merges, large blobs.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "git/harness.hpp"
#include "git/repo.hpp"
#include "git/scan.hpp"

using namespace gitsops;
using namespace gitsops::git;
using namespace testgit;

namespace {

std::string git_cmd(const std::string& args) { return std::string(testgit::git) + " " + args; }

const std::string kSecret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n";

void commit_all(const fs::path& dir, const std::string& message) {
    sh(dir, git_cmd("add -A && ") + git_cmd("commit -q --allow-empty -m '" + message + "'"));
}

// (path, commit summary) of each error finding, in report order.
std::vector<std::pair<std::string, std::string>> errors_of(const ScanResult& r) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& o : r.findings)
        if (o.finding.severity == policy::Severity::error) out.emplace_back(o.finding.path, o.commit_summary);
    return out;
}

}  // namespace

TEST_CASE("scan_all: paths git quotes come back as they are, at the commit that added them") {
    TempDir t;
    git_init(t.path());
    write_text(t / "plain.yaml", "a: 1\n");
    commit_all(t.path(), "first");
    const std::string odd = "dir with space/tab\there \"quoted\" caf\xc3\xa9\nline.yaml";
    write_text(t / odd, kSecret);
    commit_all(t.path(), "odd name");
    commit_all(t.path(), "empty");
    write_text(t / "plain.yaml", "a: 2\n");
    commit_all(t.path(), "last");

    const Repository repo = Repository::open(t.path());
    const ScanResult r = scan_all(repo, ScanOptions{});
    CHECK(r.commits == 4);
    CHECK(r.blobs == 3);
    REQUIRE(errors_of(r) == std::vector<std::pair<std::string, std::string>>{{odd, "odd name"}});
}

TEST_CASE("scan_all: a Secret re-added after its deletion is found once, at the oldest commit") {
    TempDir t;
    git_init(t.path());
    write_text(t / "s.yaml", kSecret);
    commit_all(t.path(), "add");
    sh(t.path(), git_cmd("rm -q s.yaml && ") + git_cmd("commit -qm delete"));
    write_text(t / "s.yaml", kSecret);
    commit_all(t.path(), "re-add");

    const Repository repo = Repository::open(t.path());
    CHECK(errors_of(scan_all(repo, ScanOptions{})) == std::vector<std::pair<std::string, std::string>>{{"s.yaml", "add"}});
    // The range without the first commit still sees the re-added one.
    CHECK(errors_of(scan_range(repo, "HEAD~1..HEAD", ScanOptions{})) ==
          std::vector<std::pair<std::string, std::string>>{{"s.yaml", "re-add"}});
}

TEST_CASE("scan_all: merges keep what a side brought at that side's commit; an evil merge's own change is the merge's") {
    TempDir t;
    git_init(t.path());
    write_text(t / "base.yaml", "a: 1\n");
    commit_all(t.path(), "base");
    sh(t.path(), git_cmd("checkout -qb side"));
    write_text(t / "side.yaml", kSecret);
    commit_all(t.path(), "side secret");
    sh(t.path(), git_cmd("checkout -q main"));
    write_text(t / "main.yaml", "b: 1\n");
    commit_all(t.path(), "mainline");
    sh(t.path(), git_cmd("merge -q --no-ff --no-commit side"));
    write_text(t / "evil.yaml", kSecret);
    sh(t.path(), git_cmd("add evil.yaml && ") + git_cmd("commit -qm 'the merge'"));

    const Repository repo = Repository::open(t.path());
    const ScanResult r = scan_all(repo, ScanOptions{});
    CHECK(r.commits == 4);
    CHECK(errors_of(r) ==
          std::vector<std::pair<std::string, std::string>>{{"side.yaml", "side secret"}, {"evil.yaml", "the merge"}});
}

TEST_CASE("scan_all: a blob larger than a pipe's buffer, and many blobs in one commit") {
    TempDir t;
    git_init(t.path());
    std::string big = kSecret;
    for (int i = 0; i < 20000; ++i) big += "# padding line " + std::to_string(i) + "\n";
    write_text(t / "big.yaml", big);
    for (int i = 0; i < 300; ++i) write_text(t / ("many/f" + std::to_string(i) + ".yaml"), "n: " + std::to_string(i) + "\n");
    write_text(t / "many/zz-secret.yaml", kSecret);
    commit_all(t.path(), "one");

    const Repository repo = Repository::open(t.path());
    const ScanResult r = scan_all(repo, ScanOptions{});
    CHECK(r.blobs == 302);
    CHECK(errors_of(r) == std::vector<std::pair<std::string, std::string>>{{"big.yaml", "one"}, {"many/zz-secret.yaml", "one"}});
}

TEST_CASE("scan_all: a missing blob is an error naming the file") {
    TempDir t;
    git_init(t.path());
    write_text(t / "a.yaml", "a: 1\n");
    commit_all(t.path(), "one");
    const std::string blob = sh(t.path(), git_cmd("rev-parse HEAD:a.yaml"));
    fs::remove(t.path() / ".git/objects" / blob.substr(0, 2) / blob.substr(2));

    const Repository repo = Repository::open(t.path());
    try {
        scan_all(repo, ScanOptions{});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("a.yaml") != std::string::npos);
    }
}

TEST_CASE("scan_all: a commit that adds a rule checks the files it did not touch, at that commit") {
    TempDir t;
    git_init(t.path());
    write_text(t / "settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  a: b\n");
    write_text(t / "other.yaml", "a: 1\n");
    commit_all(t.path(), "settings");
    write_text(t / ".sops.yaml", "creation_rules:\n  - path_regex: ^settings\\.yaml$\n    age: "
                                 "age1g74wj3g2m2l2x37frsn6q0efutcsl2zgrt0uwv9r64dpsawaughq5lxmhp\n");
    commit_all(t.path(), "new rule");
    write_text(t / "other.yaml", "a: 2\n");
    commit_all(t.path(), "later");

    const Repository repo = Repository::open(t.path());
    const ScanResult r = scan_all(repo, ScanOptions{});
    REQUIRE(errors_of(r) == std::vector<std::pair<std::string, std::string>>{{"settings.yaml", "new rule"}});
    // settings.yaml and other.yaml once without rules, then with them: .sops.yaml, settings.yaml,
    // other.yaml at "new rule", and other.yaml's new version.
    CHECK(r.blobs == 6);
}
