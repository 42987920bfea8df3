// Tables for the stores: go-yaml typing and scalar styles, Go number and time forms, JSON
// escaping and layout, dotenv and INI details, comment placement, and bad or huge input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "sops/flatten.hpp"
#include "sops/go_format.hpp"
#include "sops/json_store.hpp"
#include "sops/store.hpp"
#include "sops/yaml_emit.hpp"
#include "sops/yaml_load.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

Node yaml_value(const std::string& scalar) {
    const Documents docs = yaml::load_documents("k: " + scalar + "\n");
    REQUIRE(docs.size() == 1);
    const Node* v = docs[0].find("k");
    REQUIRE(v != nullptr);
    return *v;
}

std::string yaml_doc(const Node& doc, int indent = 4) { return yaml::emit_documents(Documents{doc}, indent); }

std::string yaml_round_trip(const std::string& text, int indent = 4) {
    return yaml::emit_documents(yaml::load_documents(text), indent);
}

Node one(std::string_view key, Node value) {
    Node m = Node::mapping();
    m.add(key, std::move(value));
    return m;
}

// The error message of `f`, or "" when it does not throw.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

// Inputs and the start their error message must have ("<line>:<column>: ...").
struct ErrorRow {
    std::string text;
    std::string starts;
};

template <class Load>
void check_errors(const std::vector<ErrorRow>& rows, Load&& load) {
    for (const auto& row : rows) {
        INFO(row.text);
        CHECK_THAT(error_of([&] { load(row.text); }), Catch::StartsWith(row.starts));
    }
}

}  // namespace

// ---- go-yaml typing ---------------------------------------------------------------------------

TEST_CASE("plain YAML scalars are typed as go-yaml v3 types them") {
    struct Row {
        const char* text;
        Node expected;
    };
    const Row rows[] = {
        {"7", Node::integer(7)},
        {"010", Node::integer(8)},
        {"0777", Node::integer(511)},
        {"0x1F", Node::integer(31)},
        {"0X1f", Node::integer(31)},
        {"-0x1F", Node::integer(-31)},
        {"0o17", Node::integer(15)},
        {"0b101", Node::integer(5)},
        {"1_000", Node::integer(1000)},
        {"0x_1F", Node::integer(31)},
        {"+12", Node::integer(12)},
        {"-0", Node::integer(0)},
        {"9223372036854775807", Node::integer(std::numeric_limits<std::int64_t>::max())},
        {"-9223372036854775808", Node::integer(std::numeric_limits<std::int64_t>::min())},
        {"1.50", Node::floating(1.5)},
        {"1.0", Node::floating(1.0)},
        {"1.", Node::floating(1.0)},
        {".5", Node::floating(0.5)},
        {"-.5", Node::floating(-0.5)},
        {"1e3", Node::floating(1000)},
        {"1E+3", Node::floating(1000)},
        {"08", Node::floating(8)},  // not octal, so a float
        {"1_000.5", Node::floating(1000.5)},
        {"-9223372036854775809", Node::floating(-9223372036854775808.0)},
        {"18446744073709551616", Node::floating(18446744073709551616.0)},
        {"1e-400", Node::floating(0)},
        {".inf", Node::floating(std::numeric_limits<double>::infinity())},
        {"+.Inf", Node::floating(std::numeric_limits<double>::infinity())},
        {"-.INF", Node::floating(-std::numeric_limits<double>::infinity())},
        {".NaN", Node::floating(std::numeric_limits<double>::quiet_NaN())},
        {"true", Node::boolean(true)},
        {"True", Node::boolean(true)},
        {"TRUE", Node::boolean(true)},
        {"False", Node::boolean(false)},
        {"yes", Node::string("yes")},
        {"no", Node::string("no")},
        {"on", Node::string("on")},
        {"off", Node::string("off")},
        {"y", Node::string("y")},
        {"tRUE", Node::string("tRUE")},
        {"~", Node::null_value()},
        {"null", Node::null_value()},
        {"Null", Node::null_value()},
        {"NULL", Node::null_value()},
        {"", Node::null_value()},
        {"2024-01-01", Node::time("2024-01-01T00:00:00Z")},
        {"2024-1-2", Node::time("2024-01-02T00:00:00Z")},
        {"2024-01-01T10:00:00Z", Node::time("2024-01-01T10:00:00Z")},
        {"2024-01-01t10:00:00Z", Node::time("2024-01-01T10:00:00Z")},
        {"2024-01-01 10:00:00", Node::time("2024-01-01T10:00:00Z")},
        {"2024-01-01T10:00:00.250+05:30", Node::time("2024-01-01T10:00:00.25+05:30")},
        {"2024-01-01T10:00:00.1234567891Z", Node::time("2024-01-01T10:00:00.123456789Z")},
        {"2024-01-01T10:00:00-00:00", Node::time("2024-01-01T10:00:00Z")},
        {"2024-01-01T10:00:00", Node::string("2024-01-01T10:00:00")},  // no zone: a string
        {"2024-02-30", Node::string("2024-02-30")},
        {"2024-01-01T24:00:00Z", Node::string("2024-01-01T24:00:00Z")},
        {"12:30", Node::string("12:30")},
        {"1e400", Node::string("1e400")},
        {"0x1p3", Node::string("0x1p3")},
        {"0b", Node::string("0b")},
        {"_1", Node::string("_1")},
        {"-a", Node::string("-a")},
        {"+", Node::string("+")},
        {"123abc", Node::string("123abc")},
        {".infinity", Node::string(".infinity")},
        {"<<", Node::string("<<")},
        {"\"12\"", Node::string("12")},
        {"'true'", Node::string("true")},
        {"\"\"", Node::string("")},
        {"''", Node::string("")},
        {"!!str 12", Node::string("12")},
        {"!!str true", Node::string("true")},
        {"!!int \"42\"", Node::integer(42)},
        {"!!float 1", Node::floating(1)},
        {"!!float \"2.5\"", Node::floating(2.5)},
        {"!!bool \"true\"", Node::boolean(true)},
        {"!!null ''", Node::null_value()},
        {"!!timestamp \"2024-01-01\"", Node::time("2024-01-01T00:00:00Z")},
        {"!!binary aGVsbG8=", Node::string("hello")},
        {"! 12", Node::integer(12)},
        {"!custom 12", Node::string("12")},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        CHECK(yaml_value(row.text) == row.expected);
    }
}

TEST_CASE("YAML scalars sops cannot hold or tags that do not fit are errors") {
    check_errors({{"9223372036854775808", "1:4: integer value does not fit"},
                  {"0x8000000000000000", "1:4: integer value does not fit"},
                  {"!!int 1.5", "1:4: cannot decode !!float value as !!int"},
                  {"!!bool yes", "1:4: cannot decode !!str value as !!bool"},
                  {"!!binary \"@@@\"", "1:4: !!binary value contains invalid base64 data"}},
                 [](const std::string& text) { yaml_value(text); });
}

// ---- scalar styles ----------------------------------------------------------------------------

TEST_CASE("strings get go-yaml's quoting and block styles") {
    struct Row {
        std::string value;
        std::string line;
    };
    const Row rows[] = {
        {"hello world", "k: hello world\n"},
        {"", "k: \"\"\n"},
        {"yes", "k: \"yes\"\n"},
        {"y", "k: \"y\"\n"},
        {"off", "k: \"off\"\n"},
        {"true", "k: \"true\"\n"},
        {"null", "k: \"null\"\n"},
        {"~", "k: \"~\"\n"},
        {"123", "k: \"123\"\n"},
        {"0x1F", "k: \"0x1F\"\n"},
        {"1.5", "k: \"1.5\"\n"},
        {"1e3", "k: \"1e3\"\n"},
        {".inf", "k: \".inf\"\n"},
        {"2024-01-01", "k: \"2024-01-01\"\n"},
        {"2024-01-01T10:00:00", "k: 2024-01-01T10:00:00\n"},
        {"1:20", "k: \"1:20\"\n"},
        {"<<", "k: !!merge <<\n"},  // go-yaml's parser tags a plain << !!merge, and the tag stays
        {" lead", "k: ' lead'\n"},
        {"trail ", "k: 'trail '\n"},
        {"key: value", "k: 'key: value'\n"},
        {"a #b", "k: 'a #b'\n"},
        {"a#b", "k: a#b\n"},
        {"#x", "k: '#x'\n"},
        {"- x", "k: '- x'\n"},
        {"-x", "k: -x\n"},
        {"?x", "k: ?x\n"},
        {"@x", "k: '@x'\n"},
        {"'x", "k: '''x'\n"},
        {"\"x", "k: '\"x'\n"},
        {"it's", "k: it's\n"},
        {"---", "k: '---'\n"},
        {"[a]", "k: '[a]'\n"},
        {"a,b", "k: a,b\n"},
        {"a\tb", "k: \"a\\tb\"\n"},
        {"x\x01", "k: \"x\\x01\"\n"},
        {"caf\xC3\xA9", "k: caf\xC3\xA9\n"},
        {"go \xF0\x9F\x9A\x80", "k: \"go \\U0001F680\"\n"},
        {"\xC2\x85", "k: \"\\N\"\n"},
        {"\xEF\xBB\xBF" "ab", "k: \"\\uFEFF\\x61\\x62\"\n"},
        {"ENC[AES256_GCM,data:YWJj,iv:aXY=,tag:dGFn,type:str]", "k: ENC[AES256_GCM,data:YWJj,iv:aXY=,tag:dGFn,type:str]\n"},
        {"line1\nline2", "k: |-\n    line1\n    line2\n"},
        {"line1\n", "k: |\n    line1\n"},
        {"line1\n\n", "k: |+\n    line1\n\n"},
        {" lead\nx", "k: |4-\n     lead\n    x\n"},
        {"\nx", "k: |4-\n\n    x\n"},
        {"a \nb", "k: \"a \\nb\"\n"},
        {"x\n ", "k: \"x\\n \"\n"},
        {"bad\xFF", "k: !!binary YmFk/w==\n"},
    };
    for (const auto& row : rows) {
        INFO(row.value);
        CHECK(yaml_doc(one("k", Node::string(row.value))) == row.line);
    }
}

TEST_CASE("line separators are written escaped in double quotes, which both readers read alike") {
    // go-yaml writes LS and PS raw in single quotes followed by indentation, which yaml-cpp
    // would read with the indentation; NEL is not printable to go-yaml and escaped anyway.
    const Node doc = one("k", Node::string("x\xE2\x80\xA9y: z"));
    CHECK(yaml_doc(doc) == "k: \"x\\Py: z\"\n");
    CHECK(yaml_doc(one("k", Node::string("a\xE2\x80\xA8" "b\xC2\x85" "c"))) == "k: \"a\\Lb\\Nc\"\n");
    CHECK(yaml::load_documents(yaml_doc(doc))[0] == doc);
}

TEST_CASE("a literal's indentation indicator is its distance from the key or the '-'") {
    // go-yaml (sops 3.13) writes its indentation step, 4, which only fits a key at the start of
    // a line: "- k: |4" and "- |4" with the text 2 further in read back as nothing it wrote.
    CHECK(yaml_round_trip("k: \" x\\ny\"\n") == "k: |4-\n     x\n    y\n");
    CHECK(yaml_round_trip("l:\n  - k: \" x\\ny\"\n") == "l:\n    - k: |2-\n         x\n        y\n");
    CHECK(yaml_round_trip("l:\n  - \"\\n\\nq\\n\"\n") == "l:\n    - |2\n\n\n      q\n");
    CHECK(yaml_round_trip("l:\n  - - a: 1\n      k: \" x\\ny\"\n") ==
          "l:\n    - - a: 1\n        k: |4-\n             x\n            y\n");
    for (const std::string text : {"l:\n  - k: \" x\\ny\"\n", "l:\n  - \"\\n\\nq\\n\"\n"}) {
        const Documents docs = yaml::load_documents(text);
        CHECK(yaml::load_documents(yaml::emit_documents(docs, 4)) == docs);
        CHECK(yaml::load_documents(yaml::emit_documents(docs, 2)) == docs);
    }
}

TEST_CASE("YAML keys, numbers, nulls and times are written as go-yaml writes them") {
    Node m = Node::mapping();
    m.add("y", Node::integer(-12));
    m.add("f", Node::floating(1250000.0));
    m.add("g", Node::floating(1.0));
    m.add("nil", Node::null_value());
    m.add("b", Node::boolean(false));
    m.add("t", Node::time("2025-03-14T09:26:53.25+05:30"));
    m.add("empty_map", Node::mapping());
    m.add("empty_list", Node::sequence());
    m.add("key: colon", Node::string("v"));
    CHECK(yaml_doc(m) ==
          "\"y\": -12\nf: 1.25e+06\ng: 1\nnil: null\nb: false\nt: 2025-03-14T09:26:53.25+05:30\n"
          "empty_map: {}\nempty_list: []\n'key: colon': v\n");
    const std::string long_key(130, 'k');
    CHECK(yaml_doc(one(long_key, Node::string("v"))) == "? " + long_key + "\n: v\n");
}

TEST_CASE("YAML indentation follows go-yaml for sequences and literal blocks") {
    const std::string text =
        "a:\n"
        "- b: |\n"
        "    x\n"
        "  c:\n"
        "  - - 1\n"
        "    - 2\n"
        "  - []\n";
    CHECK(yaml_round_trip(text) ==
          "a:\n"
          "    - b: |\n"
          "        x\n"
          "      c:\n"
          "        - - 1\n"
          "          - 2\n"
          "        - []\n");
    CHECK(yaml_round_trip(text, 2) ==
          "a:\n"
          "  - b: |\n"
          "      x\n"
          "    c:\n"
          "      - - 1\n"
          "        - 2\n"
          "      - []\n");
}

TEST_CASE("documents are separated by --- and flow style becomes block style") {
    CHECK(yaml_round_trip("---\na: {x: 1, y: [2, 3]}\n---\n---\nb: 1\n") ==
          "a:\n    x: 1\n    \"y\":\n        - 2\n        - 3\n---\n{}\n---\nb: 1\n");
    CHECK(yaml::load_documents("").empty());
    CHECK(yaml::load_documents("# only a comment\n").empty());
}

TEST_CASE("anchors and aliases are expanded and << stays an ordinary key") {
    const Documents docs = yaml::load_documents("base: &b\n  x: 1\nother:\n  <<: *b\n  y: *b\n");
    const Node* other = docs[0].find("other");
    REQUIRE(other != nullptr);
    CHECK(other->items[0].key.text == to_sstring("<<"));
    CHECK(*other->find("<<") == *docs[0].find("base"));
    CHECK(*other->find("y") == *docs[0].find("base"));
    CHECK(yaml::emit_documents(docs, 2) == "base:\n  x: 1\nother:\n  !!merge <<:\n    x: 1\n  \"y\":\n    x: 1\n");
    CHECK(*yaml::load_documents("!!merge <<: 1\n")[0].find("<<") == Node::integer(1));
}

// ---- comments ---------------------------------------------------------------------------------

TEST_CASE("YAML comments become tree items where sops puts them") {
    const Documents docs = yaml::load_documents(
        "# head\n"
        "a: 1 # inline a\n"
        "b: # on b\n"
        "  # inside b\n"
        "  c: 2\n"
        "  # end of b\n"
        "list:\n"
        "  # before x\n"
        "  - x # inline x\n"
        "  - y\n"
        "# before d\n"
        "d: |- # on the block\n"
        "  text # not a comment\n"
        "# tail\n");
    REQUIRE(docs.size() == 1);
    const Node& root = docs[0];
    REQUIRE(root.items.size() == 10);
    CHECK(root.items[0].key == Node::comment(" head"));
    CHECK(root.items[1].key == Node::comment(" inline a", true));
    CHECK(sv(root.items[2].key.text) == "a");
    CHECK(root.items[3].key == Node::comment(" on b"));
    const Node& b = root.items[4].value;
    REQUIRE(b.items.size() == 3);
    CHECK(b.items[0].key == Node::comment(" inside b"));
    CHECK(b.items[2].key == Node::comment(" end of b"));
    const Node& list = root.items[5].value;
    REQUIRE(list.elements.size() == 4);
    CHECK(list.elements[0] == Node::comment(" before x"));
    CHECK(list.elements[1] == Node::comment(" inline x", true));
    CHECK(root.items[6].key == Node::comment(" before d"));
    CHECK(root.items[7].key == Node::comment(" on the block", true));
    CHECK(*root.find("d") == Node::string("text # not a comment"));
    CHECK(root.items[9].key == Node::comment(" tail"));
    CHECK(yaml::emit_documents(docs, 4) ==
          "# head\n"
          "a: 1 # inline a\n"
          "# on b\n"
          "b:\n"
          "    # inside b\n"
          "    c: 2\n"
          "    # end of b\n"
          "list:\n"
          "    # before x\n"
          "    - x # inline x\n"
          "    - \"y\"\n"
          "# before d\n"
          "d: 'text # not a comment' # on the block\n"
          "# tail\n");
}

TEST_CASE("comments after a dedent join the deepest block they are indented for") {
    const Documents docs = yaml::load_documents(
        "a:\n"
        "  b:\n"
        "    x: 1\n"
        "    # in b\n"
        "  # in a\n"
        "# top\n"
        "c: 'q # not' # after c\n");
    const Node& a = *docs[0].find("a");
    CHECK(a.items.back().key == Node::comment(" in a"));
    CHECK(a.find("b")->items.back().key == Node::comment(" in b"));
    CHECK(docs[0].items[1].key == Node::comment(" top"));
    CHECK(docs[0].items[2].key == Node::comment(" after c", true));
    CHECK(*docs[0].find("c") == Node::string("q # not"));
}

TEST_CASE("comments in sequences of mappings stay in the sequence") {
    CHECK(yaml_round_trip("s:\n  # first\n  - a: 1\n    # in item\n    b: 2\n  # second\n  - c: 3\n") ==
          "s:\n    # first\n    - a: 1\n      # in item\n      b: 2\n    # second\n    - c: 3\n");
}

TEST_CASE("comments after a collection is closed go where go-yaml's runs of foot and head comments put them") {
    // Inputs and what sops 3.13.2 (go.yaml.in/yaml/v3 v3.0.4) writes after reading them: the
    // first run of comments before a dedent is the foot of the node before it, however far it is
    // dedented; later runs follow the ends of the collections that close there (a block
    // sequence's end passes them on to the collection around it).
    const std::vector<std::pair<std::string, std::string>> rows = {
        {
          "r:\n"
          "  - p: 1\n"
          "  # indented one\n"
          "# top level\n",
          "r:\n"
          "    - p: 1\n"
          "      # indented one\n"
          "# top level\n"},
        {
          "r:\n"
          "  - p: 1\n"
          "  # c\n",
          "r:\n"
          "    - p: 1\n"
          "# c\n"},
        {
          "r:\n"
          "  - p: 1\n"
          "  # c\n"
          "s: 2\n",
          "r:\n"
          "    - p: 1\n"
          "      # c\n"
          "s: 2\n"},
        {
          "x:\n"
          "  r:\n"
          "    - p: 1\n"
          "    # c\n"
          "  # d\n"
          "# top\n",
          "x:\n"
          "    r:\n"
          "        - p: 1\n"
          "          # c\n"
          "    # d\n"
          "# top\n"},
        {
          "r:\n"
          "  - p: 1\n"
          "# c\n"
          "  # d\n"
          "# top\n",
          "r:\n"
          "    - p: 1\n"
          "      # c\n"
          "# d\n"
          "# top\n"},
        {
          "a:\n"
          "  b: 1\n"
          "# c\n"
          "  # d\n"
          "z: 1\n",
          "a:\n"
          "    b: 1\n"
          "# c\n"
          "# d\n"
          "z: 1\n"},
        {
          "a:\n"
          "  b:\n"
          "    x: 1\n"
          "  # c\n"
          "    # d\n",
          "a:\n"
          "    b:\n"
          "        x: 1\n"
          "    # c\n"
          "    # d\n"},
        {
          "r:\n"
          "  - a\n"
          "# c\n"
          "  # d\n",
          "r:\n"
          "    - a\n"
          "# c\n"
          "# d\n"},
        {
          "r:\n"
          "  - p: [1]\n"
          "  # c\n"
          "# top\n",
          "r:\n"
          "    - p:\n"
          "        - 1\n"
          "      # c\n"
          "# top\n"},
    };
    for (const auto& [in, out] : rows) {
        INFO(in);
        CHECK(yaml_round_trip(in) == out);
    }
}


TEST_CASE("empty values after nested collections keep pending comments in place") {
    const Documents docs = yaml::load_documents("s:\n  - a: 1 # c\n  -\n  - b: [1] # d\n  -\nx: # e\n");
    const Node& s = *docs[0].find("s");
    REQUIRE(s.elements.size() == 4);
    CHECK(s.elements[3] == Node::null_value());
    CHECK(s.elements[0].items[0].key == Node::comment(" c", true));
    CHECK(s.elements[1] == Node::null_value());
    CHECK(s.elements[2].find("b")->elements[0] == Node::comment(" d"));
    CHECK(docs[0].items[1].key == Node::comment(" e"));
    CHECK(*docs[0].find("x") == Node::null_value());
}

// ---- bad YAML ---------------------------------------------------------------------------------

TEST_CASE("bad YAML is refused with its position") {
    check_errors({{"a: [1, 2\n", "2:1: end of sequence flow not found"},
                  {"a: b: c\n", "1:5: illegal map value"},
                  {"a: 1\na: 2\n", "2:1: mapping key \"a\" already defined at line 1"},
                  {"1: x\n", "1:1: Tree contains a non-string key"},
                  {"~: x\n", "1:1: Tree contains a non-string key"},
                  {"[a]: x\n", "1:1: Tree contains a non-string key"},
                  {"- a\n- b\n", "1:1: YAML documents that are sequences are not supported"},
                  {"just a scalar\n", "1:1: YAML documents that are values are not supported"},
                  {"a: *nope\n", "1:4: "},
                  {"a: b\xff\n", "1:5: invalid UTF-8"},
                  {"a: \"\xed\xa0\x80\"\n", "1:5: invalid UTF-8"},
                  {"a: 1\nb: x\x7f\n", "2:5: control characters are not allowed"},
                  {"a: {x: 1}\n}\n", "2:1: "},
                  // quoted scalars that run to the end of the input (yaml-cpp took the first as closed)
                  {"a: \"x\nb: 1\n", "1:4: found unexpected end of stream while scanning a quoted scalar"},
                  {"a: \"x\\\"\n", "1:4: found unexpected end of stream"},
                  {"a: 'x\nb: 1\n", "1:4: found unexpected end of stream"},
                  // a lone scalar ending a block mapping (a truncated file): yaml-cpp made it a key
                  {"a: 1\nb", "2:1: could not find expected ':'"},
                  {"a:\n  x: 1\n  na\n", "3:3: could not find expected ':'"},
                  {"a: 1\nb # c\n", "2:1: "},
                  {"a: 1\n\"b\"\n", "2:1: "},
                  {"- a: 1\n  b\n", "2:3: could not find expected ':'"},
                  // a document after the first without "---" (yaml-cpp started one after a dedent)
                  {"    a: 1\nb: 2\n", "2:1: did not find expected <document start>"},
                  {"a: 1\n...\nb: 2\n", "3:1: did not find expected <document start>"},
                  // line separators: line breaks to go-yaml, ordinary characters to yaml-cpp
                  {"a: \"x\xE2\x80\xA8y\"\n", "1:6: line separators (U+0085, U+2028, U+2029) are not supported"},
                  {"a: 1 # \xC2\x85\n", "1:8: line separators"},
                  {"=rt:  ---\xE2\x80\xA9:@ h", "1:10: line separators"}},
                 [](const std::string& text) { yaml::load_documents(text); });
    CHECK_NOTHROW(yaml::load_documents("a: \"x\\\\\"\nb: 'it''s'\nc: \"\"\n"));
    // keys that need no ':' after them, or have it further on
    CHECK_NOTHROW(yaml::load_documents("? a\n? &x b\n?\n  c\n: 1\n\"q\" : 1\nhttp://x: 1\nk:\nf: {b, c}\nt:\tv\n"));
    try {
        yaml::load_documents("a: [1,\n");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == exit_code::could_not_read_input);
    }
}

TEST_CASE("only the first YAML document is checked for duplicate keys, as in sops") {
    CHECK_NOTHROW(yaml::load_documents("a: 1\n---\nb: 1\nb: 2\n"));
}

TEST_CASE("deeply nested input is refused cleanly") {
    const std::string flow = "a: " + std::string(10000, '[') + std::string(10000, ']') + "\n";
    CHECK_THAT(error_of([&] { yaml::load_documents(flow); }), Catch::Contains("nested too deeply"));
    std::string block;
    for (int i = 0; i < 10000; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
    CHECK_THAT(error_of([&] { yaml::load_documents(block); }), Catch::Contains("nested too deeply"));
    const std::string json = std::string(10000, '[') + std::string(10000, ']');
    CHECK_THAT(error_of([&] { json::parse_value(json); }), Catch::Contains("nested deeper than 1000"));
    const std::string ok = std::string(900, '[') + std::string(900, ']');
    CHECK_NOTHROW(json::parse_value(ok));
}

TEST_CASE("alias bombs are refused") {
    std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    std::string prev = "a";
    for (char c = 'b'; c <= 'k'; ++c) {
        text += std::string(1, c) + ": &" + c + " [";
        for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + prev;
        text += "]\n";
        prev = std::string(1, c);
    }
    CHECK_THAT(error_of([&] { yaml::load_documents(text); }), Catch::Contains("excessive aliasing"));
}

TEST_CASE("50 MiB of YAML and JSON load in reasonable time") {
    std::string yaml_text, json_text = "{";
    yaml_text.reserve(52u << 20);
    json_text.reserve(52u << 20);
    for (int i = 0; yaml_text.size() < (50u << 20); ++i) {
        const std::string n = std::to_string(i);
        yaml_text += "key_" + n + ": \"some value string number " + n + " with text\"\n";
        json_text += (i ? ",\"key_" : "\"key_") + n + "\": \"some value string number " + n + " with text\"";
    }
    json_text += "}";
    // A guard against quadratic loading (a hang on big input), not a benchmark (scripts/bench/
    // measures speed): processor time, so a busy machine does not fail it, with limits ~20x the
    // normal cost, stretched by GITSOPS_TEST_SLOWDOWN under valgrind (which sets 10).
    const char* slowdown_env = std::getenv("GITSOPS_TEST_SLOWDOWN");
    const double slowdown = slowdown_env ? std::max(1.0, std::atof(slowdown_env)) : 1.0;
    const std::clock_t t0 = std::clock();
    const Documents y = make_store(Format::yaml)->load_plain(yaml_text);
    const std::clock_t t1 = std::clock();
    const Documents j = make_store(Format::json)->load_plain(json_text);
    const std::clock_t t2 = std::clock();
    CHECK(y[0].items.size() == j[0].items.size());
    CHECK(static_cast<double>(t1 - t0) / CLOCKS_PER_SEC < 20 * slowdown);
    CHECK(static_cast<double>(t2 - t1) / CLOCKS_PER_SEC < 5 * slowdown);
}

// ---- Go number and time forms -----------------------------------------------------------------

TEST_CASE("Go float formatting: 'f', YAML 'g', JSON and ValToString") {
    struct Row {
        double v;
        const char* f;
        const char* yaml;
        const char* json;
        const char* text;
    };
    const Row rows[] = {
        {1.0, "1", "1", "1", "1.0"},
        {25.4, "25.4", "25.4", "25.4", "25.4"},
        {1.5, "1.5", "1.5", "1.5", "1.5"},
        {-0.5, "-0.5", "-0.5", "-0.5", "-0.5"},
        {0.0, "0", "0", "0", "0.0"},
        {-0.0, "-0", "-0", "-0", "-0.0"},
        {123456.0, "123456", "123456", "123456", "123456.0"},
        {1000000.0, "1000000", "1e+06", "1000000", "1E+06"},
        {1250000.0, "1250000", "1.25e+06", "1250000", "1.25E+06"},
        {12345678.0, "12345678", "1.2345678e+07", "12345678", "1.2345678E+07"},
        {0.0001, "0.0001", "0.0001", "0.0001", "0.0001"},
        {0.00001, "0.00001", "1e-05", "0.00001", "1E-05"},
        {3.5e-6, "0.0000035", "3.5e-06", "0.0000035", "3.5E-06"},
        {1e-6, "0.000001", "1e-06", "0.000001", "1E-06"},
        {9.99e-7, "0.000000999", "9.99e-07", "9.99e-7", "9.99E-07"},
        {-4.2e-8, "-0.000000042", "-4.2e-08", "-4.2e-8", "-4.2E-08"},
        {1e-10, "0.0000000001", "1e-10", "1e-10", "1E-10"},
        {1e21, "1000000000000000000000", "1e+21", "1e+21", "1E+21"},
        {1e20, "100000000000000000000", "1e+20", "100000000000000000000", "1E+20"},
        {18446744073709551615.0, "18446744073709552000", "1.8446744073709552e+19", "18446744073709552000",
         "1.8446744073709552E+19"},
        {0.1 + 0.2, "0.30000000000000004", "0.30000000000000004", "0.30000000000000004", "0.30000000000000004"},
        {1e100, "", "1e+100", "1e+100", "1E+100"},
    };
    for (const auto& r : rows) {
        INFO(r.yaml);
        if (*r.f) CHECK(format_float_f(r.v) == r.f);
        CHECK(format_float_yaml(r.v) == r.yaml);
        CHECK(format_float_json(r.v) == r.json);
        CHECK(format_float_text(r.v) == r.text);
    }
    CHECK(format_float_f(1e100) == "1" + std::string(100, '0'));
    CHECK(format_float_f(5e-324) == "0." + std::string(323, '0') + "5");
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(format_float_yaml(inf) == ".inf");
    CHECK(format_float_yaml(-inf) == "-.inf");
    CHECK(format_float_yaml(nan) == ".nan");
    CHECK(format_float_f(inf) == "+Inf");
    CHECK(format_float_f(nan) == "NaN");
    CHECK_THROWS_AS(format_float_json(nan), Error);
    CHECK_THROWS_AS(format_float_json(-inf), Error);
}

TEST_CASE("YAML timestamps get Go's MarshalText form") {
    CHECK(canonical_time("2025-03-14") == "2025-03-14T00:00:00Z");
    CHECK(canonical_time("2025-03-14T09:26:53Z") == "2025-03-14T09:26:53Z");
    CHECK(canonical_time("2025-03-14T09:26:53.250+05:30") == "2025-03-14T09:26:53.25+05:30");
    CHECK(canonical_time("2025-3-4T9:6:3.000Z") == "2025-03-04T09:06:03Z");
    CHECK(canonical_time("2025-03-14T09:26:53,5-07:00") == "2025-03-14T09:26:53.5-07:00");
    CHECK(canonical_time("2024-02-29 23:59:59.999999999") == "2024-02-29T23:59:59.999999999Z");
    for (const char* bad : {"2025-03-14T09:26:53", "2023-02-29", "2025-13-01", "2025-03-14T09:60:00Z", "25-03-14",
                            "2025-03-14T09:26:53+5:30", "2025-03-14T09:26:53z", "2025-03-14 09:26:53Z", ""}) {
        INFO(bad);
        CHECK_THROWS_AS(canonical_time(bad), Error);
    }
}

// ---- JSON -------------------------------------------------------------------------------------

TEST_CASE("JSON strings are escaped as Go's json.Marshal escapes them") {
    struct Row {
        std::string in;
        std::string out;
    };
    const Row rows[] = {
        {"plain", "\"plain\""},
        {"<b>&</b>", "\"\\u003cb\\u003e\\u0026\\u003c/b\\u003e\""},
        {"q\"b\\", "\"q\\\"b\\\\\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {std::string("\x01\x1f", 2), "\"\\u0001\\u001f\""},
        {"\xE2\x80\xA8\xE2\x80\xA9", "\"\\u2028\\u2029\""},
        {"caf\xC3\xA9 \xF0\x9F\x9A\x80", "\"caf\xC3\xA9 \xF0\x9F\x9A\x80\""},
        {"bad\xFF\xC3", "\"bad\\ufffd\\ufffd\""},
        {"\xED\xA0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
        {"\x7f", "\"\x7f\""},
    };
    for (const auto& r : rows) {
        std::string out;
        json::append_quoted(out, r.in);
        CHECK(out == r.out);
    }
}

TEST_CASE("JSON numbers, strings and duplicates are read as sops 3.13.2 reads them") {
    const Node v = json::parse_object(
        R"({"i": 8443, "neg": -7, "z": -0, "f": 1.0, "e": 2.5e3, "small": -4.2e-8, "huge": 18446744073709551615,)"
        R"( "tiny": 1e-400, "s": "\u00e9\ud83d\ude80\ud83d\u0041", "d": 1, "d": 2, "n": null, "b": true})");
    CHECK(*v.find("i") == Node::integer(8443));
    CHECK(*v.find("neg") == Node::integer(-7));
    CHECK(*v.find("z") == Node::integer(0));
    CHECK(*v.find("f") == Node::floating(1.0));
    CHECK(*v.find("e") == Node::floating(2500));
    CHECK(*v.find("small") == Node::floating(-4.2e-8));
    CHECK(*v.find("huge") == Node::floating(18446744073709551615.0));
    CHECK(*v.find("tiny") == Node::floating(0));
    CHECK(*v.find("s") == Node::string("\xC3\xA9\xF0\x9F\x9A\x80\xEF\xBF\xBD" "A"));
    CHECK(v.items.size() == 13);  // both "d" members are kept
    CHECK(*v.find("n") == Node::null_value());
    CHECK(*v.find("b") == Node::boolean(true));
}

TEST_CASE("bad JSON is refused with its position") {
    check_errors({{"", "1:1: unexpected end of JSON input"},
                  {"[1, 2]", "1:1: SOPS only supports JSON files with a top-level object"},
                  {"{\"a\": 1} x", "1:10: invalid character 'x' after top-level value"},
                  {"{\"a\": 1,\n \"b\" 2}", "2:6: invalid character '2' after object key"},
                  {"{\"a\": \"x\ny\"}", "1:9: invalid character 0x0a in string literal"},
                  {"{\"a\": 01}", "1:8: invalid character '1' after object key:value pair"},
                  {"{\"a\": 1e400}", "1:7: number out of range"},
                  {"{\"a\": tru}", "1:7: invalid character 't' looking for beginning of value"},
                  {"{\"a\": \"\\x\"}", "1:9: invalid character 'x' in string escape code"},
                  {"{\"a\": [1,]}", "1:10: invalid character ']' looking for beginning of value"},
                  {"{\"a\": 1", "1:8: unexpected end of JSON input"}},
                 [](const std::string& text) { json::parse_object(text); });
}

TEST_CASE("JSON output uses json.Indent's layout with the configured indentation") {
    Node doc = Node::mapping();
    doc.add("a", Node::sequence());
    Node inner = Node::mapping();
    inner.add("x", Node::floating(0.5));
    inner.items.push_back(MapItem{Node::comment(" dropped"), Node::null_value()});
    doc.add("m", inner);
    Node list = Node::sequence();
    list.elements.push_back(Node::time("2024-01-01T00:00:00Z"));
    list.elements.push_back(Node::comment(" dropped too"));
    list.elements.push_back(Node::mapping());
    doc.add("l", list);
    StoreConfig tabs, two, zero;
    two.json_indent = 2;
    zero.json_indent = 0;
    CHECK(make_store(Format::json, tabs)->emit_plain({doc}) ==
          "{\n\t\"a\": [],\n\t\"m\": {\n\t\t\"x\": 0.5\n\t},\n\t\"l\": [\n\t\t\"2024-01-01T00:00:00Z\",\n\t\t{}\n\t]\n}\n");
    CHECK(make_store(Format::json, two)->emit_plain({doc}) ==
          "{\n  \"a\": [],\n  \"m\": {\n    \"x\": 0.5\n  },\n  \"l\": [\n    \"2024-01-01T00:00:00Z\",\n    {}\n  ]\n}\n");
    CHECK(make_store(Format::json, zero)->emit_plain({doc}) ==
          "{\n\"a\": [],\n\"m\": {\n\"x\": 0.5\n},\n\"l\": [\n\"2024-01-01T00:00:00Z\",\n{}\n]\n}\n");
    CHECK(make_store(Format::json)->emit_value(list) == "[\n\t\"2024-01-01T00:00:00Z\",\n\t{}\n]");
    CHECK(make_store(Format::json)->emit_value(Node::string("raw \"text\"")) == "raw \"text\"");
}

// ---- dotenv -----------------------------------------------------------------------------------

TEST_CASE("dotenv lines, comments and escapes") {
    auto store = make_store(Format::dotenv);
    const std::string text = "# c\nA=1\n\nB=x=y\nC=line1\\nline2\nD=\n E =sp \n";
    const Documents docs = store->load_plain(text);
    const Node& d = docs[0];
    CHECK(d.items[0].key == Node::comment(" c"));
    CHECK(*d.find("A") == Node::string("1"));
    CHECK(*d.find("B") == Node::string("x=y"));
    CHECK(*d.find("C") == Node::string("line1\nline2"));
    CHECK(*d.find("D") == Node::string(""));
    CHECK(*d.find(" E ") == Node::string("sp "));
    CHECK(store->emit_plain(docs) == "# c\nA=1\nB=x=y\nC=line1\\nline2\nD=\n E =sp \n");
    CHECK_THAT(error_of([&] { store->load_plain("A=1\nnoequals\n"); }), Catch::StartsWith("2:1: invalid dotenv input line"));
    Node typed = Node::mapping();
    typed.add("i", Node::integer(5));
    typed.add("f", Node::floating(5));
    typed.add("b", Node::boolean(true));
    typed.add("t", Node::time("2024-01-01T10:00:00.5Z"));
    CHECK(store->emit_plain({typed}) == "i=5\nf=5.0\nb=true\nt=2024-01-01T10:00:00Z\n");
    CHECK_THAT(error_of([&] { store->emit_plain({one("n", Node::mapping())}); }), Catch::Contains("complex value"));
}

TEST_CASE("dotenv metadata is flattened under sops_ and typed back when read") {
    auto store = make_store(Format::dotenv);
    Node metadata = Node::mapping();
    Node age = Node::mapping();
    age.add("enc", Node::string("-----BEGIN-----\nabc\n"));
    age.add("recipient", Node::string("age1x"));
    Node ages = Node::sequence();
    ages.elements.push_back(age);
    metadata.add("age", ages);
    metadata.add("mac_only_encrypted", Node::boolean(true));
    metadata.add("shamir_threshold", Node::integer(2));
    metadata.add("version", Node::string("3.13.2"));
    const std::string out = store->emit_encrypted({one("K", Node::string("v"))}, metadata);
    CHECK(out ==
          "K=v\nsops_age__list_0__map_enc=-----BEGIN-----\\nabc\\n\nsops_age__list_0__map_recipient=age1x\n"
          "sops_mac_only_encrypted=true\nsops_shamir_threshold=2\nsops_version=3.13.2\n");
    auto [docs, read] = store->load_encrypted(out);
    CHECK(read == metadata);
    CHECK(docs[0] == one("K", Node::string("v")));
    CHECK_THAT(error_of([&] { store->emit_encrypted({one("sops_x", Node::string("v"))}, metadata); }),
               Catch::Contains("reserved"));
    CHECK(error_of([&] { store->load_encrypted("K=v\n"); }) == "sops metadata not found");
}

// ---- flatten ----------------------------------------------------------------------------------

TEST_CASE("flatten and unflatten are inverse and sort mapping keys") {
    Node tree = Node::mapping();
    Node groups = Node::sequence();
    for (int g = 0; g < 12; ++g) {
        Node entry = Node::mapping();
        entry.add("z", Node::string("last"));
        entry.add("a", Node::string(std::to_string(g)));
        groups.elements.push_back(entry);
    }
    tree.add("key_groups", groups);
    tree.add("b", Node::string("x"));
    const Node flat = flat::flatten(tree, "p_");
    CHECK(sv(flat.items[0].key.text) == "p_key_groups__list_0__map_z");
    CHECK(sv(flat.items[22].key.text) == "p_key_groups__list_11__map_z");
    Node unprefixed = flat::flatten(tree, "");
    const Node back = flat::unflatten(unprefixed);
    CHECK(sv(back.items[0].key.text) == "b");
    CHECK(sv(back.find("key_groups")->elements[11].items[0].key.text) == "a");
    CHECK(*back.find("key_groups")->elements[11].find("a") == Node::string("11"));

    Node mismatch = Node::mapping();
    mismatch.add("a", Node::string("1"));
    mismatch.add("a__map_b", Node::string("2"));
    CHECK_THAT(error_of([&] { flat::unflatten(mismatch); }), Catch::Contains("Type mismatch"));
    Node gap = Node::mapping();
    gap.add("l__list_1", Node::string("1"));
    CHECK_THAT(error_of([&] { flat::unflatten(gap); }), Catch::Contains("Incomplete list"));
}

// ---- INI --------------------------------------------------------------------------------------

TEST_CASE("INI reading follows go-ini and sops") {
    auto store = make_store(Format::ini);
    const Documents docs = store->load_plain(
        "; file comment\n"
        "[owner]\n"
        "name=John Doe\n"
        "organization: Acme ; inline\n"
        "\n"
        "[database]\n"
        "# about server\n"
        "server=192.0.2.62     \n"
        "file=\"payroll.dat\"\n"
        "multi = \"\"\"a\n"
        "b\"\"\"\n"
        "path = one\\\n"
        "  two\n"
        "tick = `x;y`\n");
    const Node& d = docs[0];
    REQUIRE(d.items.size() == 3);
    CHECK(sv(d.items[0].key.text) == "DEFAULT");
    CHECK(d.items[0].value.items.empty());
    const Node& owner = d.items[1].value;
    CHECK(owner.items[0].key == Node::comment("file comment"));
    CHECK(*owner.find("organization") == Node::string("Acme"));
    CHECK(owner.items[3].key == Node::comment("inline"));
    const Node& db = *d.find("database");
    CHECK(db.items[1].key == Node::comment("about server"));
    CHECK(*db.find("server") == Node::string("192.0.2.62"));
    CHECK(*db.find("file") == Node::string("payroll.dat"));
    CHECK(*db.find("multi") == Node::string("a\nb"));
    CHECK(*db.find("path") == Node::string("onetwo"));
    CHECK(*db.find("tick") == Node::string("x;y"));
}

TEST_CASE("INI writing follows go-ini's layout and quoting") {
    auto store = make_store(Format::ini);
    Node doc = Node::mapping();
    doc.add("DEFAULT", Node::mapping());
    Node s = Node::mapping();
    s.items.push_back(MapItem{Node::comment("section note"), Node::null_value()});
    s.add("k", Node::string("plain"));
    s.items.push_back(MapItem{Node::comment("about k"), Node::null_value()});
    s.add("long_key", Node::string(" spaced "));
    s.add("a=b", Node::string("x#y"));
    s.add("nl", Node::string("1\n2"));
    s.add("empty", Node::string(""));
    doc.add("sec", s);
    doc.add("other", one("x", Node::string("1")));
    CHECK(store->emit_plain({doc}) ==
          "; section note\n"
          "[sec]\n"
          "; about k\n"
          "k        = plain\n"
          "long_key = \" spaced \"\n"
          "`a=b`    = `x#y`\n"
          "nl       = \"\"\"1\n2\"\"\"\n"
          "empty    = \n"
          "\n"
          "[other]\n"
          "x = 1\n");
}

TEST_CASE("INI keys go-ini would write so that they read back otherwise get another quoting") {
    auto store = make_store(Format::ini);
    // Read by go-ini's rules: an auto-numbered key, quoted names and values that go-ini (and sops
    // 3.13) write plain or with a quote they hold, and which would then read back changed.
    const std::string text =
        "\xFE\xFF\xFF\xFE = bom\n"
        "[s]\n"
        "- = one\n"
        "`[x` = 1\n"
        "\"\"\"a\"b`c\"\"\" = 2\n"
        "q = \"\"\"\"a\"\"\"\"\n"
        "b = `x\\`\n"
        "t = `\"\"\"t`\n";
    const Documents docs = store->load_plain(text);
    const Node& d = *docs[0].find("DEFAULT");
    CHECK(*d.find("\xFF\xFE") == Node::string("bom"));  // the BOM itself is dropped, as by go-ini
    const Node& s = *docs[0].find("s");
    CHECK(*s.find("#1") == Node::string("one"));
    CHECK(*s.find("[x") == Node::string("1"));
    CHECK(*s.find("a\"b`c") == Node::string("2"));
    CHECK(*s.find("q") == Node::string("\"a\""));
    CHECK(*s.find("b") == Node::string("x\\"));
    CHECK(*s.find("t") == Node::string("\"\"\"t"));
    const std::string out = store->emit_plain(docs);
    CHECK(out ==
          "`\xFF\xFE` = bom\n"
          "\n"
          "[s]\n"
          "`#1`        = one\n"
          "`[x`        = 1\n"
          "\"\"\"a\"b`c\"\"\" = 2\n"
          "q           = `\"a\"`\n"
          "b           = `x\\`\n"
          "t           = `\"\"\"t`\n");
    CHECK(store->load_plain(out) == docs);
    // A name no quoting carries: "-" always reads back as the next auto-numbered key.
    Node doc = Node::mapping();
    doc.add("s", one("-", Node::string("x")));
    CHECK_THAT(error_of([&] { (void)store->emit_plain({doc}); }), Catch::Contains("INI key name"));
}

TEST_CASE("INI metadata is read from escaped and from triple-quoted forms") {
    auto store = make_store(Format::ini);
    const std::string escaped =
        "[s]\nk = v\n\n[sops]\nage__list_0__map_enc       = A\\nB\\n\nage__list_0__map_recipient = age1x\n"
        "version                    = 3.13.2\n";
    const std::string quoted =
        "[s]\nk = v\n\n[sops]\nage__list_0__map_enc = \"\"\"A\nB\n\"\"\"\nage__list_0__map_recipient = age1x\n"
        "version = 3.13.2\n";
    auto [d1, m1] = store->load_encrypted(escaped);
    auto [d2, m2] = store->load_encrypted(quoted);
    CHECK(m1 == m2);
    CHECK(*m1.find("age")->elements[0].find("enc") == Node::string("A\nB\n"));
    CHECK(store->emit_encrypted(d1, m1) == escaped);
    CHECK(d1[0].find("sops") == nullptr);
}

// ---- binary and the store table -----------------------------------------------------------------

TEST_CASE("binary store and format selection") {
    auto store = make_store(Format::binary);
    const std::string raw("\x00\xff text", 7);
    const Documents docs = store->load_plain(raw);
    CHECK(store->emit_plain(docs) == raw);
    CHECK_THAT(error_of([&] { store->emit_value(Node::integer(1)); }), Catch::Contains("not structured"));
    CHECK(format_for_path("a/secret.enc.yaml") == Format::yaml);
    CHECK(format_for_path("x.yml") == Format::yaml);
    CHECK(format_for_path("x.json") == Format::json);
    CHECK(format_for_path(".env") == Format::dotenv);
    CHECK(format_for_path("x.ini") == Format::ini);
    CHECK(format_for_path("x.yaml.txt") == Format::binary);
    CHECK(format_for_path("Makefile") == Format::binary);
    CHECK(parse_format("dotenv") == Format::dotenv);
    CHECK(std::string(format_name(Format::ini)) == "ini");
    CHECK_THROWS_AS(parse_format("toml"), Error);
}

TEST_CASE("a reserved sops key in the data is refused when writing encrypted files") {
    for (Format f : {Format::yaml, Format::json, Format::ini}) {
        Node doc = one("sops", f == Format::ini ? Node::mapping() : Node::string("x"));
        CHECK_THAT(error_of([&] { make_store(f)->emit_encrypted({doc}, Node::mapping()); }), Catch::Contains("reserved"));
    }
}

TEST_CASE("YAML emit_value writes scalars and lists as yaml.Marshal does") {
    auto store = make_store(Format::yaml);
    Node list = Node::sequence();
    list.elements.push_back(Node::integer(1));
    list.elements.push_back(Node::string("two"));
    CHECK(store->emit_value(list) == "- 1\n- two\n");
    CHECK(store->emit_value(Node::integer(5)) == "5\n");
    CHECK(store->emit_value(Node::string("raw: text")) == "raw: text");
    CHECK(store->emit_value(one("a", Node::integer(1))) == "a: 1\n");
}
