// .sops.yaml as text: rule lookup as sops does it, and edits of a rule's age keys that keep every
// other byte (comments, order, quoting, indentation, line endings).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.hpp"
#include "lifecycle/sops_yaml.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::lifecycle;

namespace {

const std::string A = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";
const std::string B = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
const std::string N = "age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm";

SopsYaml parse(const std::string& text) { return SopsYaml::parse(text, ".sops.yaml"); }

// The age keys of rule `i` after parsing `text` again.
std::vector<std::vector<std::string>> keys_of(const std::string& text, std::size_t i) {
    return parse(text).rules().at(i).age_groups;
}

// sops' own reader (Config::load) accepts the text and routes `file` to a rule listing `key`.
bool sops_reads(const std::string& text, const std::string& file, const std::string& key) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sops-yaml-test-XXXXXX").string();
    std::filesystem::path dir = ::mkdtemp(tmpl.data());
    std::ofstream(dir / ".sops.yaml") << text;
    bool ok = false;
    try {
        auto rule = sops::Config::load(dir / ".sops.yaml").rule_for(dir / file);
        for (const auto& g : rule.age_groups)
            for (const auto& r : g) ok = ok || r == key;
    } catch (const Error&) {
    }
    std::filesystem::remove_all(dir);
    return ok;
}

// `edited` is `original` with exactly one line changed or inserted.
bool one_line_touched(const std::string& original, const std::string& edited) {
    std::size_t a = 0, b = 0;
    std::size_t lines_a = static_cast<std::size_t>(std::count(original.begin(), original.end(), '\n'));
    std::size_t lines_b = static_cast<std::size_t>(std::count(edited.begin(), edited.end(), '\n'));
    while (a < original.size() && a < edited.size() && original[a] == edited[a]) ++a;
    while (b < original.size() && b < edited.size() &&
           original[original.size() - 1 - b] == edited[edited.size() - 1 - b])
        ++b;
    return lines_b - lines_a <= 1 && original.substr(0, a) == edited.substr(0, a);
}

}  // namespace

TEST_CASE("rules are found as sops finds them") {
    auto y = parse("creation_rules:\n"
                   "  - path_regex: \\.env\\.json$\n    age: " + A + "\n"
                   "  - path_regex: 'overlays/(dev|prod)/.*secret.*\\.yaml$'\n    age: " + B + "\n"
                   "  - age: " + N + "\n");
    CHECK(y.rule_for("x/.env.json") == 0u);
    CHECK(y.rule_for("overlays/prod/db-secret.yaml") == 1u);
    CHECK(y.rule_for("apps/anything.yaml") == 2u);  // no path_regex: every file
    CHECK(y.find_rule("2") == 1u);
    CHECK(y.find_rule("overlays/(dev|prod)/.*secret.*\\.yaml$") == 1u);
    CHECK_FALSE(y.find_rule("4"));
    CHECK_FALSE(y.find_rule("nope"));
    CHECK(y.rules()[2].id().empty());
    CHECK(y.rules()[1].lists(B));
}

TEST_CASE("a config without rules or with a bad one") {
    CHECK(parse("stores:\n  yaml:\n    indent: 2\n").rules().empty());
    CHECK(parse("").rules().empty());
    CHECK_THROWS_AS(parse("creation_rules: {a: 1}\n"), Error);
    CHECK_THROWS_AS(parse("creation_rules: [\n"), Error);
    CHECK_FALSE(parse("creation_rules:\n  - path_regex: x\n").rule_for("y"));
}

TEST_CASE("adding a key keeps every other byte, whatever the layout of `age`") {
    struct Case {
        const char* name;
        std::string text, expected;
    };
    const std::string head = "# top comment\ncreation_rules:\n  # the rule\n  - path_regex: x\n";
    const std::vector<Case> cases = {
        {"plain scalar with a comment", head + "    age: " + A + " # dev\n",
         head + "    age: " + A + "," + N + " # dev\n"},
        {"single-quoted", head + "    age: '" + A + "'\n", head + "    age: '" + A + "," + N + "'\n"},
        {"double-quoted", head + "    age: \"" + A + ", \"\n", head + "    age: \"" + A + ", " + N + "\"\n"},
        {"empty quoted", head + "    age: ''\n", head + "    age: '" + N + "'\n"},
        {"null with a comment", head + "    age: # none yet\n", head + "    age: " + N + " # none yet\n"},
        {"block list", head + "    age:\n      # keys\n      - " + A + "\n      - '" + B + "' # b\n",
         head + "    age:\n      # keys\n      - " + A + "\n      - '" + B + "' # b\n      - " + N + "\n"},
        {"block list at the key's indentation", head + "    age:\n    - " + A + "\n",
         head + "    age:\n    - " + A + "\n    - " + N + "\n"},
        {"flow list", head + "    age: [" + A + ", " + B + "] # f\n",
         head + "    age: [" + A + ", " + B + ", " + N + "] # f\n"},
        {"empty flow list", head + "    age: []\n", head + "    age: [" + N + "]\n"},
        {"folded", head + "    age: >-\n      " + A + ",\n      " + B + "\n",
         head + "    age: >-\n      " + A + ",\n      " + B + ",\n      " + N + "\n"},
        {"literal", head + "    age: |\n      " + A + "\n", head + "    age: |\n      " + A + ",\n      " + N + "\n"},
        {"absent", head + "    encrypted_regex: ^(data|stringData)$ # only values\n",
         head + "    encrypted_regex: ^(data|stringData)$ # only values\n    age: " + N + "\n"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        std::string out = parse(c.text).add_recipient(0, N);
        CHECK(out == c.expected);
        CHECK(sops_reads(out, "x.yaml", N));
    }
}

TEST_CASE("a missing age key goes at the end of its rule, before the next rule's comments") {
    const std::string text = "creation_rules:\n"
                             "  - path_regex: first\n"
                             "    encrypted_regex: ^data$\n"
                             "\n"
                             "  # second rule\n"
                             "  - path_regex: second\n"
                             "    age: " + A + "\n"
                             "# the end\n"
                             "stores:\n  yaml:\n    indent: 2\n";
    std::string out = parse(text).add_recipient(0, N);
    CHECK(out == "creation_rules:\n"
                 "  - path_regex: first\n"
                 "    encrypted_regex: ^data$\n"
                 "    age: " + N + "\n"
                 "\n"
                 "  # second rule\n"
                 "  - path_regex: second\n"
                 "    age: " + A + "\n"
                 "# the end\n"
                 "stores:\n  yaml:\n    indent: 2\n");
    std::string last = parse(
                           "creation_rules:\n- path_regex: only\n  encrypted_regex: ^data$\n# trailing\nstores: {}\n")
                           .add_recipient(0, N);
    CHECK(last == "creation_rules:\n- path_regex: only\n  encrypted_regex: ^data$\n  age: " + N +
                      "\n# trailing\nstores: {}\n");
}

TEST_CASE("key groups: the key joins the first group's age list") {
    const std::string text = "creation_rules:\n  - path_regex: x\n    key_groups:\n      - age:\n          - " + A +
                             "\n      - age:\n          - " + B + "\n";
    std::string out = parse(text).add_recipient(0, N);
    CHECK(keys_of(out, 0) == std::vector<std::vector<std::string>>{{A, N}, {B}});
    CHECK(one_line_touched(text, out));
    // A first group without `age:` is left to the user.
    CHECK_THROWS_WITH(parse("creation_rules:\n  - key_groups:\n      - pgp: [x]\n").add_recipient(0, N),
                      Catch::Contains("by hand"));
}

TEST_CASE("line endings and a missing final newline are kept") {
    std::string crlf = "creation_rules:\r\n  - path_regex: x\r\n    age:\r\n      - " + A + "\r\n";
    CHECK(parse(crlf).add_recipient(0, N) == crlf + "      - " + N + "\r\n");
    std::string bare = "creation_rules:\n  - path_regex: x\n    age: " + A;
    CHECK(parse(bare).add_recipient(0, N) == bare + "," + N);
}

TEST_CASE("layouts the editor will not touch are refused with what to do") {
    CHECK_THROWS_WITH(parse("creation_rules: [{path_regex: x, age: " + A + "}]\n").add_recipient(0, N),
                      Catch::Contains("add " + N));
    // A plain scalar continued on the next line.
    CHECK_THROWS_WITH(parse("creation_rules:\n  - age: " + A + ",\n      " + B + "\n").add_recipient(0, N),
                      Catch::Contains("by hand"));
}

TEST_CASE("replacing a key touches only the rules named") {
    const std::string text = "creation_rules:\n"
                             "  - path_regex: a # the old key: " + A + "\n"
                             "    age: " + A + "," + B + "\n"
                             "  - path_regex: b\n"
                             "    age:\n      - " + A + "\n";
    const std::vector<std::size_t> first = {0};
    std::string out = parse(text).replace_recipient(first, A, N);
    CHECK(keys_of(out, 0) == std::vector<std::vector<std::string>>{{N, B}});
    CHECK(keys_of(out, 1) == std::vector<std::vector<std::string>>{{A}});
    CHECK(out.find("# the old key: " + N) != std::string::npos);  // comments of the rule follow
    const std::vector<std::size_t> both = {0, 1};
    std::string all = parse(text).replace_recipient(both, A, N);
    CHECK(all.find(A) == std::string::npos);
    CHECK(sops_reads(all, "b", N));
}

TEST_CASE("a new rule goes after the last one, in its style") {
    const std::string text = "# header\ncreation_rules:\n    -   path_regex: first\n        age: " + A +
                             "\n    # comment about what follows\nstores:\n  yaml:\n    indent: 2\n";
    std::string out = parse(text).append_rule("apps/.*secret.*\\.yaml$", N);
    CHECK(out == "# header\ncreation_rules:\n    -   path_regex: first\n        age: " + A +
                     "\n    -   path_regex: 'apps/.*secret.*\\.yaml$'\n        encrypted_regex: '^(data|stringData)$'\n"
                     "        age: " + N + "\n    # comment about what follows\nstores:\n  yaml:\n    indent: 2\n");
    CHECK(sops_reads(out, "apps/x-secret.yaml", N));

    std::string none = parse("creation_rules:\nstores: {}\n").append_rule("x", N);
    CHECK(keys_of(none, 0) == std::vector<std::vector<std::string>>{{N}});
    std::string missing = parse("# only stores\nstores: {}\n").append_rule("it's", N);
    CHECK(parse(missing).rules().at(0).path_regex == "it's");
    CHECK_THROWS_AS(parse("creation_rules: []\n").append_rule("x", N), Error);
}

TEST_CASE("a new .sops.yaml routes Secrets to the key") {
    std::string text = SopsYaml::new_file(kDefaultPathRegex, N);
    auto y = parse(text);
    REQUIRE(y.rules().size() == 1);
    CHECK(y.rule_for("infrastructure/monitoring/grafana-secret.yaml") == 0u);
    CHECK_FALSE(y.rule_for("apps/deployment.yaml"));
    CHECK(sops_reads(text, "a/db-secret.yml", N));
}
