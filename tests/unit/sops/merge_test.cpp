// Three-way merge of decrypted documents: one row per rule of sops::merge_documents, with the
// result compared as emitted YAML (order and comments included) and every conflict's kind/path.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

Documents yaml(const std::string& text) {
    if (text.empty()) return {};
    return make_store(Format::yaml, StoreConfig{2, -1, -1})->load_plain(text);
}
std::string emit(const Documents& docs) { return make_store(Format::yaml, StoreConfig{2, -1, -1})->emit_plain(docs); }

struct Row {
    const char* name;
    const char* base;
    const char* ours;
    const char* theirs;
    const char* merged;                 // conflicts keep ours' values
    std::vector<std::string> conflicts;  // "kind path" (document index when > 0)
};

std::string describe(const MergeConflict& c) {
    std::string out(conflict_kind_text(c.kind));
    out += " " + tree_path_text(c.path);
    if (c.document > 0) out += " doc" + std::to_string(c.document + 1);
    return out;
}

const std::vector<Row> kRows = {
    {"nothing changed", "a: 1\nb: 2\n", "a: 1\nb: 2\n", "a: 1\nb: 2\n", "a: 1\nb: 2\n", {}},
    {"different keys changed", "a: 1\nb: 2\n", "a: 10\nb: 2\n", "a: 1\nb: 20\n", "a: 10\nb: 20\n", {}},
    {"same change on both sides", "a: 1\n", "a: 5\n", "a: 5\n", "a: 5\n", {}},
    {"same key changed differently", "a: 1\nb: 2\n", "a: 10\nb: 2\n", "a: 11\nb: 2\n", "a: 10\nb: 2\n",
     {"changed on both sides [\"a\"]"}},
    {"type change counts as a change", "a: 1\n", "a: \"1\"\n", "a: 1\n", "a: \"1\"\n", {}},
    {"nested keys merge", "s:\n  x: 1\n  z: 2\n", "s:\n  x: 10\n  z: 2\n", "s:\n  x: 1\n  z: 20\n",
     "s:\n  x: 10\n  z: 20\n", {}},
    {"nested conflict path", "s:\n  t:\n    x: 1\n", "s:\n  t:\n    x: 2\n", "s:\n  t:\n    x: 3\n",
     "s:\n  t:\n    x: 2\n", {"changed on both sides [\"s\"][\"t\"][\"x\"]"}},
    {"key added on one side, another deleted on the other", "a: 1\nb: 2\n", "a: 1\nb: 2\nc: 3\n", "a: 1\n",
     "a: 1\nc: 3\n", {}},
    {"key added by theirs goes after its predecessor", "a: 1\nc: 3\n", "a: 1\nc: 30\n", "a: 1\nb: 2\nc: 3\n",
     "a: 1\nb: 2\nc: 30\n", {}},
    {"key added by theirs first", "b: 1\n", "b: 2\n", "a: 0\nb: 1\n", "a: 0\nb: 2\n", {}},
    {"same key added with the same value", "a: 1\n", "a: 1\nk: x\n", "a: 1\nk: x\n", "a: 1\nk: x\n", {}},
    {"same key added with different values", "a: 1\n", "a: 1\nk: x\n", "a: 1\nk: y\n", "a: 1\nk: x\n",
     {"added on both sides with different values [\"k\"]"}},
    {"changed in ours, deleted in theirs", "a: 1\nb: 2\n", "a: 1\nb: 3\n", "a: 1\n", "a: 1\nb: 3\n",
     {"changed in ours, deleted in theirs [\"b\"]"}},
    {"deleted in ours, changed in theirs", "a: 1\nb: 2\n", "a: 1\n", "a: 1\nb: 3\n", "a: 1\n",
     {"deleted in ours, changed in theirs [\"b\"]"}},
    {"deleted on both sides", "a: 1\nb: 2\n", "a: 1\n", "a: 1\n", "a: 1\n", {}},
    {"deleted in ours, unchanged in theirs", "a: 1\nb: 2\n", "a: 1\n", "a: 1\nb: 2\n", "a: 1\n", {}},
    {"sequence changed on one side", "l:\n- 1\n- 2\n", "l:\n- 1\n- 2\n", "l:\n- 1\n- 3\n", "l:\n  - 1\n  - 3\n", {}},
    {"sequence appended on both sides", "l:\n- 1\n", "l:\n- 1\n- 2\n", "l:\n- 1\n- 3\n", "l:\n  - 1\n  - 2\n  - 3\n", {}},
    {"sequence edited on both sides is one value", "l:\n- 1\n- 2\n", "l:\n- 0\n- 2\n", "l:\n- 1\n- 2\n- 3\n",
     "l:\n  - 0\n  - 2\n", {"changed on both sides [\"l\"]"}},
    {"mapping replaced by a scalar on one side, changed on the other", "m:\n  x: 1\n", "m: 5\n", "m:\n  x: 2\n",
     "m: 5\n", {"changed on both sides [\"m\"]"}},
    {"no common ancestor: different keys", "", "a: 1\n", "b: 2\n", "a: 1\nb: 2\n", {}},
    {"no common ancestor: same key", "", "a: 1\n", "a: 2\n", "a: 1\n", {"added on both sides with different values [\"a\"]"}},
    {"comment changed by theirs keeps their layout", "# c\na: 1\nb: 2\n", "# c\na: 1\nb: 3\n", "# new\na: 1\nb: 2\n",
     "# new\na: 1\nb: 3\n", {}},
    {"comments changed on both sides", "# c\na: 1\n", "# ours\na: 1\n", "# theirs\na: 1\n", "# ours\na: 1\n",
     {"comments changed on both sides []"}},
    {"documents merged by position", "a: 1\n---\nb: 1\n", "a: 2\n---\nb: 1\n", "a: 1\n---\nb: 2\n",
     "a: 2\n---\nb: 2\n", {}},
    {"conflict in the second document", "a: 1\n---\nb: 1\n", "a: 1\n---\nb: 2\n", "a: 1\n---\nb: 3\n",
     "a: 1\n---\nb: 2\n", {"changed on both sides [\"b\"] doc2"}},
    {"document added by one side", "a: 1\n", "a: 1\n", "a: 1\n---\nb: 1\n", "a: 1\n---\nb: 1\n", {}},
    {"documents added on both sides", "a: 1\n", "a: 1\n---\nb: 1\n", "a: 1\n---\nc: 1\n", "a: 1\n---\nb: 1\n",
     {"documents added or removed on both sides []"}},
};

}  // namespace

TEST_CASE("merge_documents: one row per rule") {
    for (const auto& row : kRows) {
        INFO(row.name);
        const MergeResult r = merge_documents(yaml(row.base), yaml(row.ours), yaml(row.theirs));
        CHECK(emit(r.merged) == row.merged);
        std::vector<std::string> got;
        for (const auto& c : r.conflicts) got.push_back(describe(c));
        CHECK(got == row.conflicts);
    }
}

TEST_CASE("merge_documents: conflicts carry both values, nullopt for a deletion") {
    const MergeResult r = merge_documents(yaml("a: 1\nb: 2\n"), yaml("a: 10\nb: 3\n"), yaml("a: 11\n"));
    REQUIRE(r.conflicts.size() == 2);
    CHECK(r.conflicts[0].ours->i == 10);
    CHECK(r.conflicts[0].theirs->i == 11);
    CHECK(r.conflicts[1].ours->i == 3);
    CHECK_FALSE(r.conflicts[1].theirs.has_value());
}

TEST_CASE("merge_documents: resolutions settle conflicts in order") {
    const Documents base = yaml("a: 1\nb: 2\nc: 3\n"), ours = yaml("a: 10\nb: 20\nc: 3\n"),
                    theirs = yaml("a: 11\nb: 21\n");
    const std::vector<MergeResolution> pick = {Node::integer(11), std::nullopt};
    const MergeResult r = merge_documents(base, ours, theirs, &pick);
    CHECK(emit(r.merged) == "a: 11\n");  // b deleted by the resolution, c deleted by theirs
    CHECK(r.conflicts.size() == 2);

    const std::vector<MergeResolution> too_few = {Node::integer(1)};
    CHECK_THROWS_AS(merge_documents(base, ours, theirs, &too_few), Error);
    const std::vector<MergeResolution> too_many = {Node::integer(1), Node::integer(2), Node::integer(3)};
    CHECK_THROWS_AS(merge_documents(base, ours, theirs, &too_many), Error);
}

TEST_CASE("merge_documents: comments and documents take a whole side") {
    const Documents base = yaml("# c\na: 1\n"), ours = yaml("# ours\na: 1\n"), theirs = yaml("# theirs\na: 1\n");
    const MergeResult first = merge_documents(base, ours, theirs);
    REQUIRE(first.conflicts.size() == 1);
    const std::vector<MergeResolution> take_theirs = {first.conflicts[0].theirs};
    CHECK(emit(merge_documents(base, ours, theirs, &take_theirs).merged) == "# theirs\na: 1\n");
    const std::vector<MergeResolution> invented = {Node::string("x")};
    CHECK_THROWS_AS(merge_documents(base, ours, theirs, &invented), Error);
}

TEST_CASE("tree_path_text is what decrypt --extract reads") {
    const std::vector<PathStep> path = {{false, "data", 0}, {true, "", 2}, {false, "x.y", 0}};
    CHECK(tree_path_text(path) == "[\"data\"][2][\"x.y\"]");
    const auto parsed = parse_tree_path(tree_path_text(path));
    REQUIRE(parsed.size() == 3);
    CHECK(parsed[1].is_index);
    CHECK(parsed[2].key == "x.y");
    CHECK(tree_path_text({}) == "[]");
}

TEST_CASE("IvStash::absorb adds the other side's IVs after its own, once") {
    IvStash a, b;
    const std::vector<std::uint8_t> v = {'v'}, iv1(32, 1), iv2(32, 2), iv3(32, 3);
    a.remember("str", "k:", v, iv1);
    b.remember("str", "k:", v, iv1);
    b.remember("str", "k:", v, iv2);
    b.remember("str", "other:", v, iv3);
    a.absorb(b);
    CHECK(a.take("str", "k:", v) == iv1);
    CHECK(a.take("str", "k:", v) == iv2);
    CHECK_FALSE(a.take("str", "k:", v).has_value());
    CHECK(a.take("str", "other:", v) == iv3);
}
