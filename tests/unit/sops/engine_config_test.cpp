// `.sops.yaml`: lookup, creation rules, key groups, stores.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;
namespace fs = std::filesystem;

namespace {

constexpr const char* kA = "age1g74wj3g2m2l2x37frsn6q0efutcsl2zgrt0uwv9r64dpsawaughq5lxmhp";
constexpr const char* kB = "age1t8l9y8ex3av75rasg43wzwshvn27dtegs2m27pxp78pj6yq5fdxqzujd4e";

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "engine-config-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path write(const std::string& name, const std::string& text) const {
        fs::path p = path / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p;
    }
};

struct Cwd {
    fs::path saved = fs::current_path();
    explicit Cwd(const fs::path& p) { fs::current_path(p); }
    ~Cwd() { fs::current_path(saved); }
};

}  // namespace

TEST_CASE("engine: creation rules match relative to the config's folder, first match wins") {
    TempDir t;
    std::string yaml = std::string("creation_rules:\n") +
                       "  - path_regex: ^secrets/.*\\.yaml$\n"
                       "    encrypted_regex: ^(data|stringData)$\n"
                       "    age: " +
                       kA + ", " + kB +
                       "\n"
                       "  - path_regex: \\.env$\n"
                       "    age:\n"
                       "      - " +
                       kA +
                       "\n"
                       "    mac_only_encrypted: true\n"
                       "stores:\n"
                       "  yaml:\n"
                       "    indent: 2\n";
    fs::path cfg = t.write(".sops.yaml", yaml);
    Config c = Config::load(cfg);
    CHECK(c.has_creation_rules());
    CHECK(c.stores().yaml_indent == 2);
    CHECK(c.stores().json_indent == -1);

    CreationRule r = c.rule_for(t.path / "secrets" / "a.yaml");
    REQUIRE(r.age_groups.size() == 1);
    CHECK(r.age_groups[0] == std::vector<std::string>{kA, kB});
    CHECK(r.selectors.encrypted_regex == "^(data|stringData)$");

    CreationRule e = c.rule_for(t.path / "x" / "prod.env");
    CHECK(e.mac_only_encrypted);
    CHECK(e.age_groups[0] == std::vector<std::string>{kA});

    try {
        c.rule_for(t.path / "other.json");
        FAIL("matched");
    } catch (const Error& err) {
        std::string m = err.what();
        CHECK(m.find("no matching creation rules") != std::string::npos);
        CHECK(m.find("other.json") != std::string::npos);
        CHECK(m.find(cfg.string()) != std::string::npos);
        CHECK(err.code() == exit_code::generic);
    }
}

TEST_CASE("engine: key_groups with merge, duplicates dropped, non-age keys refused") {
    TempDir t;
    std::string yaml = std::string("creation_rules:\n") +
                       "  - path_regex: groups\n"
                       "    shamir_threshold: 2\n"
                       "    key_groups:\n"
                       "      - age: [" +
                       kA +
                       "]\n"
                       "        merge:\n"
                       "          - age: [\"" +
                       kB + "," + kA +
                       "\"]\n"
                       "      - age: [" +
                       kB +
                       "]\n"
                       "  - path_regex: pgp\n"
                       "    pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n"
                       "  - path_regex: two\n"
                       "    age: " +
                       kA +
                       "\n"
                       "    encrypted_regex: a\n"
                       "    encrypted_suffix: b\n"
                       "  - age: " +
                       kB + "\n";
    Config c = Config::load(t.write(".sops.yaml", yaml));
    CreationRule r = c.rule_for(t.path / "groups.yaml");
    REQUIRE(r.age_groups.size() == 2);
    CHECK(r.age_groups[0] == std::vector<std::string>{kB, kA});  // merged groups come first
    CHECK(r.age_groups[1] == std::vector<std::string>{kB});
    CHECK(r.shamir_threshold == 2);
    CHECK_THROWS_WITH(c.rule_for(t.path / "pgp.yaml"), Catch::Contains("age recipients only"));
    CHECK_THROWS(c.rule_for(t.path / "two.yaml"));
    CHECK(c.rule_for(t.path / "anything").age_groups[0] == std::vector<std::string>{kB});
}

TEST_CASE("engine: the config is found upward from the working directory, or named") {
    TempDir t;
    fs::path cfg = t.write(".sops.yaml", "creation_rules: []\n");
    fs::create_directories(t.path / "a" / "b");
    {
        Cwd in(t.path / "a" / "b");
        ::unsetenv("SOPS_CONFIG");
        auto found = find_config(std::nullopt);
        REQUIRE(found);
        CHECK(fs::equivalent(*found, cfg));
        CHECK(find_config(std::string("/elsewhere/x.yaml")) == fs::path("/elsewhere/x.yaml"));
        ::setenv("SOPS_CONFIG", "/env/config.yaml", 1);
        CHECK(find_config(std::nullopt) == fs::path("/env/config.yaml"));
        ::unsetenv("SOPS_CONFIG");
    }
    auto from_start = find_config(std::nullopt, t.path / "a" / "b");
    REQUIRE(from_start);
    CHECK(fs::equivalent(*from_start, cfg));
    // No creation_rules key: no config as far as encryption is concerned.
    Config none = Config::load(t.write("empty.yaml", "stores:\n  json:\n    indent: 4\n"));
    CHECK(!none.has_creation_rules());
    CHECK(none.stores().json_indent == 4);
    CHECK_THROWS(Config::load(t.path / "missing.yaml"));
    CHECK_THROWS(Config::load(t.write("bad.yaml", "creation_rules: [\n")));
}
