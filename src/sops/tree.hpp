// The SOPS document tree, shared by the stores (which parse and emit it) and the engine (which
// encrypts, decrypts and hashes it). It mirrors sops' own model: ordered mappings whose items may
// be comments, sequences whose elements may be comments, and typed leaves.
//
// Plaintext values live in these nodes, so every string and container uses WipingAllocator:
// buffers (including the small-string storage inside nodes held by containers) are wiped when
// released.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/secure.hpp"

namespace gitsops::sops {

using SString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

inline SString to_sstring(std::string_view s) { return SString(s.data(), s.size()); }
inline std::string_view sv(const SString& s) { return {s.data(), s.size()}; }

struct MapItem;

struct Node {
    enum class Type : std::uint8_t {
        null,
        string,    // text; also every encrypted value "ENC[...]" once encrypted
        integer,   // i (Go int, 64-bit)
        floating,  // f
        boolean,   // b
        time,      // text = canonical RFC 3339 with nanoseconds (Go time.MarshalText form)
        comment,   // text = the comment without its leading '#'; inline_comment as sops 3.13
        mapping,   // items, in file order
        sequence,  // elements, in order
    };

    Type type = Type::null;
    bool inline_comment = false;
    std::int64_t i = 0;
    double f = 0;
    bool b = false;
    SString text;
    std::vector<MapItem, WipingAllocator<MapItem>> items;
    std::vector<Node, WipingAllocator<Node>> elements;

    // Defined after MapItem: building a Node by value needs MapItem complete (clang insists).
    static Node null_value();
    static Node string(std::string_view s);
    static Node integer(std::int64_t v);
    static Node floating(double v);
    static Node boolean(bool v);
    static Node time(std::string_view rfc3339);
    static Node comment(std::string_view s, bool is_inline = false);
    static Node mapping();
    static Node sequence();

    bool is_comment() const { return type == Type::comment; }
    bool is_container() const { return type == Type::mapping || type == Type::sequence; }

    // Mapping helpers (linear: documents are small and order matters).
    const Node* find(std::string_view key) const;
    Node* find(std::string_view key);
    void add(std::string_view key, Node value);

    bool operator==(const Node& o) const;
};

// A mapping item: either key (a string) with a value, or a comment item (key is a comment node
// and value is null), exactly as sops stores comments in branches.
struct MapItem {
    Node key;
    Node value;
    bool is_comment() const { return key.is_comment(); }
    bool operator==(const MapItem& o) const = default;
};

inline Node Node::null_value() { return Node{}; }
inline Node Node::string(std::string_view s) { Node n; n.type = Type::string; n.text = to_sstring(s); return n; }
inline Node Node::integer(std::int64_t v) { Node n; n.type = Type::integer; n.i = v; return n; }
inline Node Node::floating(double v) { Node n; n.type = Type::floating; n.f = v; return n; }
inline Node Node::boolean(bool v) { Node n; n.type = Type::boolean; n.b = v; return n; }
inline Node Node::time(std::string_view rfc3339) { Node n; n.type = Type::time; n.text = to_sstring(rfc3339); return n; }
inline Node Node::comment(std::string_view s, bool is_inline) {
    Node n; n.type = Type::comment; n.text = to_sstring(s); n.inline_comment = is_inline; return n;
}
inline Node Node::mapping() { Node n; n.type = Type::mapping; return n; }
inline Node Node::sequence() { Node n; n.type = Type::sequence; return n; }

// A file is one or more documents (only YAML has several); each document is a mapping.
using Documents = std::vector<Node, WipingAllocator<Node>>;

}  // namespace gitsops::sops
