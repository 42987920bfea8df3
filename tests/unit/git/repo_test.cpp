// The libgit2 wrappers against repositories the real git command builds.
#include <catch2/catch.hpp>

#include <string>

#include "base/error.hpp"
#include "base/secure.hpp"
#include "git/harness.hpp"
#include "git/repo.hpp"

using namespace gitsops;
using namespace gitsops::git;
using namespace testgit;

// Under GITSOPS_SANITIZE: libgit2 1.5 itself leaks the extension list set through
// GIT_OPT_SET_EXTENSIONS and pcre2 match data while checking a repository's extensions.
// Those leaks are not ours to fix; leaks in our code still fail the run.
extern "C" const char* __lsan_default_suppressions() { return "leak:libgit2.so\nleak:libpcre2-8.so\n"; }

namespace {

std::string git_cmd(const std::string& args) { return std::string(testgit::git) + " " + args; }

// main: c1 (a.yaml=one) -> c2 (a.yaml=two, dir/b.yaml=bee) -> c3 (c.txt)
void three_commits(const fs::path& dir) {
    git_init(dir);
    write_text(dir / "a.yaml", "one\n");
    sh(dir, git_cmd("add a.yaml && ") + git_cmd("commit -qm c1"));
    write_text(dir / "a.yaml", "two\n");
    write_text(dir / "dir/b.yaml", "bee\n");
    sh(dir, git_cmd("add . && ") + git_cmd("commit -qm 'c2 subject' -m 'body'"));
    write_text(dir / "c.txt", "see\n");
    sh(dir, git_cmd("add . && ") + git_cmd("commit -qm c3"));
}

std::string text_of(const Blob& b) { return std::string(view_of(b.bytes())); }

}  // namespace

TEST_CASE("Oid: hex round trip and validation") {
    const std::string hex = "0123456789abcdef0123456789abcdef01234567";
    CHECK(Oid::from_hex(hex).hex() == hex);
    CHECK(Oid::from_hex("0123456789ABCDEF0123456789ABCDEF01234567").hex() == hex);
    CHECK(Oid().is_zero());
    CHECK(Oid().hex() == std::string(40, '0'));
    CHECK_FALSE(Oid::from_hex(hex).is_zero());
    CHECK(Oid::from_hex(hex) == Oid::from_hex(hex));
    CHECK(Oid() < Oid::from_hex(hex));
    CHECK_THROWS_WITH(Oid::from_hex("abc"), Catch::Contains("expected 40 hex digits"));
    CHECK_THROWS_WITH(Oid::from_hex(std::string(39, 'a') + "g"), Catch::Contains("invalid object id"));
}

TEST_CASE("Repository: open, discover, folders") {
    TempDir t;
    const fs::path top = fs::canonical(t.path()) / "repo";
    three_commits(top);
    fs::create_directories(top / "dir/deeper");

    auto repo = Repository::open(top);
    CHECK(repo.workdir() == top);
    CHECK(repo.git_dir() == top / ".git");
    CHECK(repo.common_dir() == top / ".git");
    CHECK_FALSE(repo.is_bare());

    auto found = Repository::discover(top / "dir/deeper");
    CHECK(found.workdir() == top);

    CHECK_THROWS_WITH(Repository::open(top / "dir"), Catch::Contains("cannot open a git repository at"));
    CHECK_THROWS_AS(Repository::discover(t.path()), Error);

    sh(t.path(), git_cmd("clone -q --bare repo bare.git"));
    auto bare = Repository::open(t.path() / "bare.git");
    CHECK(bare.is_bare());
    CHECK_FALSE(bare.workdir().has_value());
}

TEST_CASE("Repository: extensions.worktreeConfig (sparse checkouts) does not stop us") {
    TempDir t;
    three_commits(t.path());
    sh(t.path(), "git config core.repositoryformatversion 1 && git config extensions.worktreeConfig true");
    auto repo = Repository::open(t.path());
    CHECK(text_of(*repo.blob_at("HEAD", "a.yaml")) == "two\n");
}

TEST_CASE("Repository: linked worktrees share the common dir") {
    TempDir t;
    const fs::path top = fs::canonical(t.path()) / "repo";
    three_commits(top);
    sh(top, git_cmd("worktree add -q ../wt -b side"));
    auto wt = Repository::discover(t.path() / "wt");
    CHECK(wt.workdir() == fs::canonical(t.path()) / "wt");
    CHECK(wt.git_dir() == top / ".git/worktrees/wt");
    CHECK(wt.common_dir() == top / ".git");

    // A hook in the linked worktree gets GIT_DIR=<common>/worktrees/wt and no GIT_WORK_TREE.
    ScopedEnv dir("GIT_DIR", (top / ".git/worktrees/wt").string());
    auto from_env = Repository::open_from_env();
    CHECK(from_env.workdir() == fs::canonical(t.path()) / "wt");
    CHECK(from_env.common_dir() == top / ".git");
    CHECK(text_of(*from_env.blob_at("HEAD", "a.yaml")) == "two\n");
}

TEST_CASE("Repository: blobs at revisions, commits, trees") {
    TempDir t;
    three_commits(t.path());
    auto repo = Repository::open(t.path());

    auto a = repo.blob_at("HEAD", "a.yaml");
    REQUIRE(a);
    CHECK(text_of(*a) == "two\n");
    CHECK(a->id().hex() == sh(t.path(), "git rev-parse HEAD:a.yaml"));
    CHECK(text_of(*repo.blob_at("HEAD~2", "a.yaml")) == "one\n");
    CHECK(text_of(*repo.blob_at("main", "dir/b.yaml")) == "bee\n");
    CHECK_FALSE(repo.blob_at("HEAD", "missing.yaml"));
    CHECK_FALSE(repo.blob_at("HEAD", "dir"));  // a tree, not a blob
    CHECK_FALSE(repo.blob_at("no-such-branch", "a.yaml"));

    const auto head = repo.resolve_commit("HEAD");
    REQUIRE(head);
    CHECK(head->hex() == sh(t.path(), "git rev-parse HEAD"));
    auto c2 = repo.commit(repo.commit(*head).parent_id(0));
    CHECK(c2.summary() == "c2 subject");
    CHECK(c2.parent_count() == 1);
    CHECK(c2.tree().entry_id("dir/b.yaml")->hex() == sh(t.path(), "git rev-parse HEAD~1:dir/b.yaml"));
    CHECK_FALSE(c2.tree().entry_id("c.txt"));
    CHECK_THROWS_AS(repo.commit(*head).parent_id(3), Error);

    const auto blob_id = Oid::from_hex(sh(t.path(), "git rev-parse HEAD:c.txt"));
    CHECK(text_of(repo.blob(blob_id)) == "see\n");
    CHECK_THROWS_WITH(repo.blob(Oid::from_hex(std::string(40, 'e'))), Catch::Contains("cannot read blob eeee"));

    TempDir empty;
    git_init(empty.path());
    auto unborn = Repository::open(empty.path());
    CHECK_FALSE(unborn.resolve_commit("HEAD"));
    CHECK_FALSE(unborn.blob_at("HEAD", "a.yaml"));
}

TEST_CASE("Repository: revwalk of new commits") {
    TempDir t;
    three_commits(t.path());
    auto repo = Repository::open(t.path());
    auto walk = repo.revwalk();
    walk.sort(Revwalk::topological | Revwalk::reverse);
    walk.push_head();
    walk.hide(*repo.resolve_commit("HEAD~2"));
    std::vector<std::string> seen;
    while (auto id = walk.next()) seen.push_back(repo.commit(*id).summary());
    CHECK(seen == std::vector<std::string>{"c2 subject", "c3"});

    auto all = repo.revwalk();
    all.push(*repo.resolve_commit("HEAD"));
    all.hide_glob("refs/*");
    CHECK_FALSE(all.next());  // everything is already on a ref
}

TEST_CASE("Index: entries, lookup by path, blob ids, reload") {
    TempDir t;
    three_commits(t.path());
    write_text(t.path() / "staged.yaml", "new\n");
    sh(t.path(), "git add staged.yaml");
    auto repo = Repository::open(t.path());
    auto index = repo.index();
    CHECK(index.size() == 4);
    const auto entries = index.entries();
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].path == "a.yaml");
    CHECK(entries[0].mode == 0100644);
    CHECK(entries[0].stage == 0);
    CHECK(index.find("dir/b.yaml")->id.hex() == sh(t.path(), "git rev-parse :dir/b.yaml"));
    CHECK(index.blob_id("staged.yaml")->hex() == sh(t.path(), "git rev-parse :staged.yaml"));
    CHECK(text_of(repo.blob(*index.blob_id("staged.yaml"))) == "new\n");
    CHECK_FALSE(index.find("nope"));

    write_text(t.path() / "later.yaml", "later\n");
    sh(t.path(), "git add later.yaml");
    CHECK_FALSE(index.find("later.yaml"));
    index.reload();
    CHECK(index.find("later.yaml"));
}

TEST_CASE("Repository::open_from_env: GIT_DIR, GIT_INDEX_FILE and GIT_WORK_TREE") {
    TempDir t;
    const fs::path top = fs::canonical(t.path()) / "repo";
    three_commits(top);
    // What `git commit -a` gives a pre-commit hook: a temporary index holding other blobs.
    write_text(top / "a.yaml", "in the temporary index\n");
    sh(top, "cp .git/index .git/tmp-index && GIT_INDEX_FILE=.git/tmp-index git add a.yaml");

    ScopedEnv dir("GIT_DIR", (top / ".git").string());
    ScopedEnv index_file("GIT_INDEX_FILE", (top / ".git/tmp-index").string());
    SECTION("with GIT_REPOSITORY_OPEN_FROM_ENV") {
        ScopedEnv wt("GIT_WORK_TREE", std::nullopt);
        auto repo = Repository::open_from_env();
        CHECK(repo.workdir() == top);
        CHECK(text_of(repo.blob(*repo.index().blob_id("a.yaml"))) == "in the temporary index\n");
    }
    SECTION("by hand, because libgit2 1.5 refuses GIT_WORK_TREE") {
        ScopedEnv wt("GIT_WORK_TREE", top.string());
        auto repo = Repository::open_from_env();
        CHECK(repo.workdir() == top);
        CHECK(text_of(repo.blob(*repo.index().blob_id("a.yaml"))) == "in the temporary index\n");
    }
    SECTION("the real index without GIT_INDEX_FILE") {
        ScopedEnv no_index("GIT_INDEX_FILE", std::nullopt);
        auto repo = Repository::open_from_env();
        CHECK(text_of(repo.blob(*repo.index().blob_id("a.yaml"))) == "two\n");
    }
}

TEST_CASE("Repository::open_from_env: quarantined objects are visible, old ones too") {
    TempDir t;
    const fs::path top = fs::canonical(t.path()) / "repo";
    three_commits(top);
    // As receive-pack does: new objects in a separate directory, the real store as alternate.
    const fs::path quarantine = top / ".git/objects/tmp_objdir-incoming-test";
    fs::create_directories(quarantine);
    const std::string id = sh(top, "printf 'pushed\\n' | GIT_OBJECT_DIRECTORY='" + quarantine.string() +
                                       "' git hash-object -w --stdin");
    const std::string old_id = sh(top, "git rev-parse HEAD:a.yaml");
    ScopedEnv dir("GIT_DIR", (top / ".git").string());
    ScopedEnv objects("GIT_OBJECT_DIRECTORY", quarantine.string());
    ScopedEnv alternates("GIT_ALTERNATE_OBJECT_DIRECTORIES", (top / ".git/objects").string());
    ScopedEnv quarantine_path("GIT_QUARANTINE_PATH", quarantine.string());

    for (bool by_hand : {false, true}) {
        ScopedEnv wt("GIT_WORK_TREE", by_hand ? std::optional<std::string>(top.string()) : std::nullopt);
        auto repo = Repository::open_from_env();
        CHECK(text_of(repo.blob(Oid::from_hex(id))) == "pushed\n");
        CHECK(text_of(repo.blob(Oid::from_hex(old_id))) == "two\n");
    }
    // Without the environment the quarantined blob is not there.
    ScopedEnv no_objects("GIT_OBJECT_DIRECTORY", std::nullopt);
    CHECK_THROWS_AS(Repository::open(top).blob(Oid::from_hex(id)), Error);
}

TEST_CASE("Config: local get, set, remove; levels; paths") {
    TempDir t;
    git_init(t.path());
    auto repo = Repository::open(t.path());
    auto local = repo.local_config();
    CHECK_FALSE(local.get_string("filter.sops.clean"));
    local.set_string("filter.sops.clean", "git-sops clean -- %f");
    local.set_string("filter.sops.required", "true");
    CHECK(local.get_string("filter.sops.clean") == "git-sops clean -- %f");
    CHECK(sh(t.path(), "git config --local filter.sops.clean") == "git-sops clean -- %f");
    CHECK(repo.config().get_bool("filter.sops.required") == true);
    CHECK(repo.config().get_string("FILTER.sops.CLEAN") == "git-sops clean -- %f");
    CHECK(local.remove("filter.sops.clean"));
    CHECK_FALSE(local.remove("filter.sops.clean"));
    CHECK_FALSE(repo.config().get_string("filter.sops.clean"));

    sh(t.path(), "git config core.hooksPath '~/my-hooks'");
    const auto hooks = repo.config().get_path("core.hooksPath");
    REQUIRE(hooks);
    CHECK(hooks->is_absolute());
    CHECK(hooks->filename() == "my-hooks");

    sh(t.path(), "git config sops.flag maybe");
    CHECK_THROWS_AS(repo.config().get_bool("sops.flag"), Error);
}
