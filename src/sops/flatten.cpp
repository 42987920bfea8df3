#include "sops/flatten.hpp"

#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_set>

#include "base/error.hpp"

namespace gitsops::sops::flat {

namespace {

constexpr std::string_view kMap = "__map_", kList = "__list_";

[[noreturn]] void fail(const std::string& what) { throw Error(what, exit_code::could_not_read_input); }

void descend(const Node& value, std::string key, Node& out, std::unordered_set<std::string>& seen);

void descend_mapping(const Node& m, const std::string& prefix, Node& out, std::unordered_set<std::string>& seen) {
    for (const auto& item : m.items)
        if (!item.is_comment()) descend(item.value, prefix + std::string(sv(item.key.text)), out, seen);
}

void descend(const Node& value, std::string key, Node& out, std::unordered_set<std::string>& seen) {
    if (value.type == Node::Type::mapping) return descend_mapping(value, key + std::string(kMap), out, seen);
    if (value.type == Node::Type::sequence) {
        std::size_t index = 0;
        for (const auto& e : value.elements)
            if (!e.is_comment()) descend(e, key + std::string(kList) + std::to_string(index++), out, seen);
        return;
    }
    if (!seen.insert(key).second)
        throw Error("Found key collision \"" + key + "\" while flattening", exit_code::error_dumping_tree);
    out.add(key, value);
}

// One step of a flattened path: a mapping key or a list index.
struct Token {
    bool list;
    std::string key;
    long index;
};

// sops' tokenizer: the text before the first separator is a key, each "__map_" starts a key,
// each "__list_" an index (text that is not a number counts as 0, as Go's ignored Atoi error).
std::vector<Token> tokenize(std::string_view path) {
    std::vector<Token> tokens;
    enum { normal, map, list } state = normal;
    std::size_t last = 0;
    auto finish = [&](std::size_t i) {
        if (state == list) {
            auto digits = path.substr(last + kList.size(), i - last - kList.size());
            if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
            long v = 0;
            const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
            if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) v = 0;
            tokens.push_back({true, {}, v});
        } else {
            const std::size_t skip = state == map ? kMap.size() : 0;
            tokens.push_back({false, std::string(path.substr(last + skip, i - last - skip)), 0});
        }
        last = i;
    };
    for (std::size_t i = 0; i < path.size();) {
        if (path.substr(i, kMap.size()) == kMap) {
            finish(i);
            state = map;
            i += kMap.size();
        } else if (path.substr(i, kList.size()) == kList) {
            finish(i);
            state = list;
            i += kList.size();
        } else {
            ++i;
        }
    }
    finish(path.size());
    return tokens;
}

struct Trie {
    const Node* value = nullptr;
    std::map<std::string, std::unique_ptr<Trie>> keys;  // std::map: sorted byte-wise like sort.Strings
    std::map<long, std::unique_ptr<Trie>> indices;
};

Node convert(const Trie& t) {
    const int kinds = (t.value != nullptr) + !t.keys.empty() + !t.indices.empty();
    if (kinds > 1) fail("Error while unflattening: Type mismatch");
    if (t.value) return *t.value;
    if (!t.indices.empty()) {
        if (t.indices.begin()->first != 0 || t.indices.rbegin()->first + 1 != static_cast<long>(t.indices.size()))
            fail("Error while unflattening: Incomplete list");
        Node s = Node::sequence();
        for (const auto& [i, child] : t.indices) s.elements.push_back(convert(*child));
        return s;
    }
    Node m = Node::mapping();
    for (const auto& [k, child] : t.keys) m.add(k, convert(*child));
    return m;
}

bool parse_go_bool(std::string_view s, bool& out) {
    if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") out = true;
    else if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False" || s.empty()) out = false;
    else return false;
    return true;
}

}  // namespace

Node flatten(const Node& mapping, std::string_view prefix) {
    Node out = Node::mapping();
    std::unordered_set<std::string> seen;
    descend_mapping(mapping, std::string(prefix), out, seen);
    return out;
}

Node unflatten(const Node& flat_mapping) {
    Trie root;
    for (const auto& item : flat_mapping.items) {
        if (item.is_comment()) continue;
        Trie* at = &root;
        for (const Token& t : tokenize(sv(item.key.text))) {
            auto& slot = t.list ? at->indices[t.index] : at->keys[t.key];
            if (!slot) slot = std::make_unique<Trie>();
            at = slot.get();
        }
        if (at->value) fail("Error while unflattening \"" + std::string(sv(item.key.text)) + "\": Duplicate value");
        at->value = &item.value;
    }
    return convert(root);
}

void restore_metadata_types(Node& metadata) {
    if (Node* n = metadata.find("shamir_threshold"); n && n->type == Node::Type::string) {
        std::string_view s = sv(n->text);
        std::int64_t v = 0;
        const bool negative = !s.empty() && s[0] == '-';
        if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
        const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty()) v = 0;
        else if (res.ec != std::errc() || res.ptr != s.data() + s.size()) fail("sops metadata: shamir_threshold is not an integer");
        *n = Node::integer(negative ? -v : v);
    }
    if (Node* n = metadata.find("mac_only_encrypted"); n && n->type == Node::Type::string) {
        bool b = false;
        if (!parse_go_bool(sv(n->text), b)) fail("sops metadata: mac_only_encrypted is not a boolean");
        *n = Node::boolean(b);
    }
}

}  // namespace gitsops::sops::flat
