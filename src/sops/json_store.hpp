// sops' JSON store (stores/json) and the JSON text forms it relies on: a strict parser (objects
// keep their order and duplicate keys) and Go's json.Marshal + json.Indent output.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sops/store.hpp"

namespace gitsops::sops {

namespace json {

// A top-level JSON object as a mapping. Numbers that fit int64 without fraction or exponent are
// integers, other numbers floats. Throws Error("<line>:<col>: ...", could_not_read_input).
Node parse_object(std::string_view text);
// Any JSON value (used for `set` values and tests).
Node parse_value(std::string_view text);

// Go json.Marshal of a string (HTML-safe escaping, invalid UTF-8 as U+FFFD), quotes included.
void append_quoted(std::string& out, std::string_view s);

// The indentation unit for a store indent setting: -1 -> TAB, n >= 0 -> n spaces.
std::string indent_unit(int indent);

// `value` as sops writes it: compact form re-indented by json.Indent, no final newline.
// `metadata`, when given, is appended to a mapping as key "sops".
std::string emit(const Node& value, const std::string& unit, const Node* metadata = nullptr);

// Go's json.Marshal of a tree value as sops holds it (a mapping is a Go slice of {Key, Value}
// items, a comment a {Value, Inline} struct): compact, no spaces.
std::string marshal_go(const Node& value);

}  // namespace json

// `indent` -1 means one TAB per level, n >= 0 that many spaces; below -1 is refused on writing.
std::unique_ptr<Store> make_json_store(int indent);

}  // namespace gitsops::sops
