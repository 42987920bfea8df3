// go-yaml v3's scalar resolution, as sops sees it (each scalar decoded into a Go interface{}).
//
// Only plain (unquoted) scalars are typed: true/false (three spellings each), null/~/empty,
// ints (Go ParseInt base 0 after removing '_': 0x1F, 0o17, 0b101, 0777 octal), floats (YAML
// 1.2 syntax and .inf/.nan), and timestamps (four layouts, see go_format.hpp). yes/no/on/off
// and friends stay strings. Explicit tags (!!str, !!int, !!float, !!bool, !!null,
// !!timestamp, !!binary) are honoured; unknown tags leave the text as a string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sops/tree.hpp"

namespace gitsops::sops::yaml {

enum class ScalarKind : std::uint8_t { null, boolean, integer, big_integer, floating, timestamp, string, merge };

// What go-yaml's resolver makes of a scalar's text under a tag ("" = none).
struct Resolved {
    ScalarKind kind = ScalarKind::string;
    std::int64_t i = 0;
    double f = 0;
    bool b = false;
    std::string time;  // canonical RFC 3339 for timestamps
};

// Resolves an untagged plain scalar (the emitter asks this to decide about quoting).
Resolved resolve_plain(std::string_view text);

// Decodes a scalar into a tree leaf as sops does. `tag` is the short form ("!!int", "!foo") or
// empty; `plain` tells an unquoted, non-block scalar. Throws Error (no position, no value) when
// the tag does not fit the text, for integers above int64 and for bad !!binary data.
Node decode_scalar(std::string_view text, std::string_view tag, bool plain);

// YAML 1.1 booleans that go-yaml v3 still quotes on output (y, yes, on, off, ...).
bool is_yaml11_bool(std::string_view s);
// Sexagesimal floats (1:20, 190:20:30.15) that go-yaml quotes on output.
bool is_base60_float(std::string_view s);

}  // namespace gitsops::sops::yaml
