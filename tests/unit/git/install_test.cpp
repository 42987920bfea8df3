// install/uninstall: the text transformations, and a round trip on a real repository.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>

#include "base/error.hpp"
#include "git/harness.hpp"
#include "git/install.hpp"

using namespace gitsops;
using namespace gitsops::git;
using namespace gitsops::git::install_detail;
using namespace testgit;

TEST_CASE("compiled-in templates match the files in filters/ and hooks/") {
    const fs::path src = GITSOPS_SOURCE_DIR;
    CHECK(attributes_template() == read_text(src / "filters/gitattributes"));
    for (auto hook : hooks) {
        CHECK(hook_template(hook) == read_text(src / "hooks" / hook));
        struct stat st {};
        REQUIRE(::stat((src / "hooks" / hook).c_str(), &st) == 0);
        CHECK((st.st_mode & 0111) != 0);
    }
    CHECK_THROWS_AS(hook_template("post-merge"), Error);
}

TEST_CASE("shell quoting of the git-sops path") {
    CHECK(shell_quote("/usr/local/bin/git-sops") == "/usr/local/bin/git-sops");
    CHECK(shell_quote("/opt/my tools/git-sops") == "'/opt/my tools/git-sops'");
    CHECK(shell_quote("/it's/git-sops") == "'/it'\\''s/git-sops'");
    CHECK(shell_quote("/a/$HOME/x") == "'/a/$HOME/x'");
    CHECK(shell_quote("") == "''");
}

TEST_CASE("hook shims: the command line is replaced, the marker identifies them") {
    const std::string plain = render_hook("pre-commit", "git-sops");
    CHECK(plain == hook_template("pre-commit"));
    const std::string pinned = render_hook("pre-receive", "'/opt/my tools/git-sops'");
    CHECK_THAT(pinned, Catch::Contains("\ngit_sops='/opt/my tools/git-sops'\n"));
    CHECK_THAT(pinned, !Catch::Contains("\ngit_sops=git-sops\n"));
    CHECK(is_shim(plain));
    CHECK(is_shim(pinned));
    CHECK_FALSE(is_shim("#!/bin/sh\nexec pre-commit run\n"));
}

TEST_CASE(".gitattributes: our block is added once and removed exactly") {
    const std::string block(attributes_template());

    SECTION("no file") {
        CHECK(add_attributes_block(std::nullopt) == block);
        CHECK(remove_attributes_block(block) == "");
    }
    SECTION("user lines before, with and without a final newline") {
        for (std::string user : {"*.png binary\n# mine\n", "*.png binary"}) {
            const auto added = add_attributes_block(user);
            REQUIRE(added);
            CHECK(added->starts_with(user));
            CHECK_THAT(*added, Catch::EndsWith(block));
            CHECK_FALSE(add_attributes_block(*added));  // idempotent
            auto removed = remove_attributes_block(*added);
            REQUIRE(removed);
            if (!user.ends_with('\n')) removed->pop_back();  // install records that it added this newline
            CHECK(*removed == user);
        }
    }
    SECTION("user lines after our block stay where they are") {
        const std::string text = "a b\n" + block + "z y\n";
        CHECK(remove_attributes_block(text) == "a b\nz y\n");
    }
    SECTION("CRLF files get CRLF lines") {
        const auto added = add_attributes_block(std::string("*.png binary\r\n"));
        REQUIRE(added);
        CHECK_THAT(*added, Catch::Contains("*.ini filter=sops diff=sops merge=sops\r\n.sops.yaml !filter !diff !merge\r\n# END git-sops\r\n"));
        CHECK(remove_attributes_block(*added) == "*.png binary\r\n");
    }
    SECTION("our rules already there (committed, spaced differently): nothing to do") {
        std::string rules;
        for (const char* ext : {"yaml", "yml", "json", "env", "ini"})
            rules += std::string("*.") + ext + "   filter=sops diff=sops\tmerge=sops\n";
        rules += ".sops.yaml !filter !diff !merge\n";
        CHECK_FALSE(add_attributes_block(rules));
        CHECK(add_attributes_block(rules.substr(0, rules.find('\n') + 1)));  // only one rule: add the block
        CHECK_FALSE(remove_attributes_block(rules));
    }
    SECTION("a block whose end marker is gone is not touched") {
        CHECK_FALSE(remove_attributes_block("# BEGIN git-sops\n*.yaml filter=sops\n"));
    }
}

TEST_CASE("config text: only empty headers of our sections are pruned") {
    const std::vector<std::string> ours = {"filter.sops", "diff.sops", "git-sops"};
    const std::string text = "[core]\n\tbare = false\n"
                             "[filter \"sops\"]\n"
                             "[diff \"sops\"]\n\t# user note\n"
                             "[filter \"other\"]\n"
                             "[Git-Sops]\n\n"
                             "[merge \"sops\"]\n";
    CHECK(prune_empty_sections(text, ours) == "[core]\n\tbare = false\n"
                                              "[diff \"sops\"]\n\t# user note\n"
                                              "[filter \"other\"]\n"
                                              "\n"
                                              "[merge \"sops\"]\n");
    CHECK(prune_empty_sections("[filter \"sops\"]\n\tclean = x\n", ours) == "[filter \"sops\"]\n\tclean = x\n");
    CHECK(prune_empty_sections("[filter \"SOPS\"]\n", ours) == "[filter \"SOPS\"]\n");  // subsections are case-sensitive
}

namespace {

struct Snapshot {
    std::string config, attributes, pre_commit, record;
};

Snapshot snapshot(const fs::path& top) {
    auto read_or = [](const fs::path& p) { return fs::exists(p) ? read_text(p) : std::string("<none>"); };
    return {read_or(top / ".git/config"), read_or(top / ".gitattributes"), read_or(top / ".git/hooks/pre-commit"),
            read_or(top / ".git/git-sops/installed")};
}

bool operator==(const Snapshot& a, const Snapshot& b) {
    return a.config == b.config && a.attributes == b.attributes && a.pre_commit == b.pre_commit &&
           a.record == b.record;
}

}  // namespace

TEST_CASE("install twice changes nothing; uninstall restores the repository byte for byte") {
    TempDir t;
    const fs::path top = fs::canonical(t.path());
    git_init(top);
    sh(top, "git config filter.sops.smudge 'my-own smudge' && git config user.note kept");
    write_text(top / ".gitattributes", "*.png binary");
    write_text(top / ".git/hooks/pre-commit", "#!/bin/sh\necho mine\n");
    fs::permissions(top / ".git/hooks/pre-commit", fs::perms(0755));
    const Snapshot before = snapshot(top);

    auto repo = Repository::open(top);
    auto first = install(repo, {});
    CHECK(first.changed);
    const Snapshot installed = snapshot(top);
    CHECK(installed.config != before.config);
    CHECK_THAT(installed.pre_commit, Catch::Contains("# git-sops hook shim"));
    CHECK(read_text(top / ".git/hooks/pre-commit.git-sops-chained") == "#!/bin/sh\necho mine\n");
    CHECK(repo.config().get_string("filter.sops.smudge") != "my-own smudge");
    CHECK(repo.config().get_string("diff.sops.cachetextconv") == std::nullopt);
    CHECK_FALSE(decrypted_worktree(repo));

    auto second = install(repo, {});
    CHECK_FALSE(second.changed);
    CHECK(snapshot(top) == installed);

    auto decrypted = install(repo, {true});
    CHECK(decrypted.changed);
    CHECK(decrypted_worktree(repo));
    install(repo, {false});  // dropping the option takes its entry (and empty section) away again
    CHECK(snapshot(top) == installed);

    auto removed = uninstall(repo);
    CHECK(removed.changed);
    CHECK(snapshot(top).config == before.config);
    CHECK(snapshot(top).attributes == before.attributes);
    CHECK(snapshot(top).pre_commit == before.pre_commit);
    CHECK_FALSE(fs::exists(top / ".git/hooks/pre-commit.git-sops-chained"));
    CHECK_FALSE(fs::exists(top / ".git/hooks/pre-receive"));
    CHECK_FALSE(fs::exists(top / ".git/git-sops"));

    CHECK_THAT(uninstall(repo).notes.front(), Catch::Contains("not installed here"));
}

TEST_CASE("uninstall leaves what the user changed after install") {
    TempDir t;
    const fs::path top = fs::canonical(t.path());
    git_init(top);
    auto repo = Repository::open(top);
    install(repo, {});
    sh(top, "git config filter.sops.required false");
    write_text(top / ".git/hooks/pre-receive", "#!/bin/sh\nexit 0\n");
    const auto report = uninstall(repo);
    CHECK(repo.config().get_string("filter.sops.required") == "false");
    CHECK_FALSE(repo.config().get_string("filter.sops.clean"));
    CHECK(read_text(top / ".git/hooks/pre-receive") == "#!/bin/sh\nexit 0\n");
    std::string all;
    for (const auto& n : report.notes) all += n + "\n";
    CHECK_THAT(all, Catch::Contains("left filter.sops.required as it is"));
    CHECK_THAT(all, Catch::Contains("no longer the git-sops shim"));
}

TEST_CASE("install refuses to chain over an existing chained hook") {
    TempDir t;
    const fs::path top = fs::canonical(t.path());
    git_init(top);
    write_text(top / ".git/hooks/pre-commit", "#!/bin/sh\n");
    write_text(top / ".git/hooks/pre-commit.git-sops-chained", "#!/bin/sh\n");
    auto repo = Repository::open(top);
    CHECK_THROWS_WITH(install(repo, {}), Catch::Contains("exists already"));
    // What was done before the failure is recorded, so uninstall still cleans up.
    uninstall(repo);
    CHECK_FALSE(repo.config().get_string("filter.sops.process"));
    CHECK(read_text(top / ".git/hooks/pre-commit") == "#!/bin/sh\n");
}

TEST_CASE("hooks_dir follows core.hooksPath, relative to the worktree top") {
    TempDir t;
    const fs::path top = fs::canonical(t.path());
    git_init(top);
    auto repo = Repository::open(top);
    CHECK(hooks_dir(repo) == top / ".git/hooks");
    sh(top, "git config core.hooksPath .githooks");
    CHECK(hooks_dir(repo) == top / ".githooks");
    sh(top, "git config core.hooksPath /srv/hooks/");
    CHECK(hooks_dir(repo) == fs::path("/srv/hooks/"));
}
