// sops 3.13's age identity discovery: sources combined, commands run without a shell with
// SOPS_AGE_RECIPIENT, missing sources reported.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/io.hpp"
#include "keys/keys.hpp"

using namespace gitsops;
using namespace gitsops::keys;
namespace fs = std::filesystem;

namespace {

const fs::path kSet = fs::path(GITSOPS_SHARED) / "fixtures" / "sops-3.13.2";

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "keys-test-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string recipient_of(const fs::path& key_file) {
    SecureBytes text = io::read_file_secure(key_file);
    return age::identity_file_recipients(text, key_file.string()).at(0);
}

std::string secret_line(const fs::path& key_file) {
    std::ifstream in(key_file);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("AGE-SECRET-KEY-")) return line;
    return {};
}

// Whether the identities open a file encrypted to `recipient`.
bool opens(const age::Identities& ids, const std::string& recipient) {
    age::Recipients r;
    r.push_back(age::parse_recipient(recipient));
    const std::uint8_t data[4] = {1, 2, 3, 4};
    std::string enc = age::encrypt(r, data, true);
    try {
        return age::decrypt(ids, bytes_of(enc)).size() == 4;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

TEST_CASE("keys: command lines split like google/shlex") {
    using V = std::vector<std::string>;
    CHECK(split_command("cat /tmp/key") == V{"cat", "/tmp/key"});
    CHECK(split_command("  a   'b c'  \"d \\\" e\" f\\ g ") == V{"a", "b c", "d \" e", "f g"});
    CHECK(split_command("x'y'\"z\"") == V{"xyz"});
    CHECK(split_command("cmd # a comment") == V{"cmd"});
    CHECK(split_command("") == V{});
    CHECK_THROWS(split_command("a 'b"));
    CHECK_THROWS(split_command("a \"b"));
    CHECK_THROWS(split_command("a\\"));
}

TEST_CASE("keys: commands run without a shell and see the extra environment") {
    SecureBytes out = run_command({"sh", "-c", "printf %s \"$SOPS_AGE_RECIPIENT\""}, {"SOPS_AGE_RECIPIENT=age1xyz"});
    CHECK(view_of(out) == "age1xyz");
    SecureBytes literal = run_command({"echo", "$HOME", "a;b"}, {});
    CHECK(view_of(literal) == "$HOME a;b\n");
    CHECK_THROWS(run_command({"false"}, {}));
    CHECK_THROWS(run_command({"/nonexistent/command"}, {}));
}

TEST_CASE("keys: every source is combined; missing ones are only reported") {
    TempDir t;
    const std::string a = recipient_of(kSet / "key.txt");
    const std::string b = recipient_of(kSet / "key2.txt");

    SECTION("SOPS_AGE_KEY with several identities on one line") {
        Environment env;
        env.age_key = secret_line(kSet / "key.txt") + " " + secret_line(kSet / "key2.txt") + "\n# comment\n";
        env.home = t.path.string();
        Discovery d(env);
        CHECK(d.identities(a).size() == 2);
        CHECK(opens(d.identities(a), a));
        CHECK(opens(d.identities(b), b));
    }
    SECTION("SOPS_AGE_KEY_FILE and the default keys.txt together") {
        fs::create_directories(t.path / "cfg" / "sops" / "age");
        fs::copy_file(kSet / "key2.txt", t.path / "cfg" / "sops" / "age" / "keys.txt");
        Environment env;
        env.age_key_file = (kSet / "key.txt").string();
        env.xdg_config_home = (t.path / "cfg").string();
        env.home = t.path.string();
        Discovery d(env);
        CHECK(opens(d.identities(a), a));
        CHECK(opens(d.identities(b), b));
    }
    SECTION("$HOME/.config when XDG_CONFIG_HOME is unset, ~/.ssh/id_ed25519") {
        fs::create_directories(t.path / ".config" / "sops" / "age");
        fs::copy_file(kSet / "key.txt", t.path / ".config" / "sops" / "age" / "keys.txt");
        fs::create_directories(t.path / ".ssh");
        fs::copy_file(kSet / "ssh_ed25519", t.path / ".ssh" / "id_ed25519");
        Environment env;
        env.home = t.path.string();
        Discovery d(env);
        CHECK(opens(d.identities(a), a));
        std::ifstream pub(kSet / "ssh_ed25519.pub");
        std::string ssh;
        std::getline(pub, ssh);
        CHECK(opens(d.identities(ssh), ssh));
    }
    SECTION("SOPS_AGE_KEY_CMD gets the recipient") {
        fs::path script = t.path / "key.sh";
        {
            std::ofstream s(script);
            s << "#!/bin/sh\n[ \"$SOPS_AGE_RECIPIENT\" = \"" << b << "\" ] && cat '" << (kSet / "key2.txt").string()
              << "'\n";
        }
        fs::permissions(script, fs::perms::owner_all);
        Environment env;
        env.age_key_cmd = script.string();
        env.home = t.path.string();
        Discovery d(env);
        CHECK(opens(d.identities(b), b));
        CHECK(d.identities(a).empty());  // the command failed for that recipient
        CHECK(d.report().find("SOPS_AGE_KEY_CMD") != std::string::npos);
    }
    SECTION("a broken source is reported, the others still work") {
        Environment env;
        env.age_key_file = (t.path / "missing.txt").string();
        env.age_key = secret_line(kSet / "key.txt");
        env.home = t.path.string();
        Discovery d(env);
        CHECK(opens(d.identities(a), a));
        std::string report = d.report();
        CHECK(report.find("SOPS_AGE_KEY_FILE") != std::string::npos);
        CHECK(report.find("SOPS_AGE_SSH_PRIVATE_KEY_FILE") != std::string::npos);
        CHECK(report.find(secret_line(kSet / "key.txt")) == std::string::npos);
    }
    SECTION("an unusable key file is named once in the report") {
        // A post-quantum identity (AGE-SECRET-KEY-PQ-1...), which git-sops cannot use.
        const fs::path pq = fs::path(GITSOPS_SHARED) / "fixtures" / "sops-age-real" / "flux-kustomize-controller" /
                            "age-pq.agekey";
        Environment env;
        env.age_key_file = pq.string();
        env.home = t.path.string();
        Discovery d(env);
        CHECK(d.identities(a).empty());
        const std::string report = d.report();
        CHECK(report.find(pq.string() + ": line 3: a post-quantum") != std::string::npos);
        CHECK(report.find(pq.string() + ": " + pq.string()) == std::string::npos);
    }
    SECTION("nothing anywhere") {
        Environment env;
        env.home = t.path.string();
        Discovery d(env);
        CHECK(d.identities(a).empty());
        CHECK(d.report().find((t.path / ".config" / "sops" / "age" / "keys.txt").string()) != std::string::npos);
    }
}
