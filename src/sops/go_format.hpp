// Go's number and time text forms, as sops (a Go program) writes and reads them.
//
// Floats: every form starts from the shortest round-trip digits (std::to_chars), which is what
// Go's strconv.FormatFloat(v, fmt, -1, 64) produces; only the layout differs:
//   format_float_f     'f' -1: plain decimal, never an exponent (sops' value serialisation, MAC)
//   format_float_yaml  'g' -1 with go-yaml's .inf/-.inf/.nan spellings
//   format_float_json  encoding/json: 'f' unless |v| < 1e-6 or >= 1e21, then 'e' with "e-7"
//   format_float_text  sops' ValToString for dotenv/INI ('G' -1, at least one decimal)
//
// Time: go-yaml accepts four timestamp layouts for plain scalars; sops stores the value as Go's
// time.MarshalText (RFC 3339 with nanoseconds, trailing zeros dropped, "Z" for UTC).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gitsops::sops {

std::string format_float_f(double v);
std::string format_float_yaml(double v);
// Throws Error for NaN and infinities (json.Marshal refuses them).
std::string format_float_json(double v);
std::string format_float_text(double v);

// go-yaml timestamp (YYYY-M-D, YYYY-M-DTh:m:s[.frac](Z|±hh:mm), 't' variant, or
// "YYYY-M-D h:m:s[.frac]" in UTC) -> Go MarshalText form. Throws Error if it is none of those.
std::string canonical_time(std::string_view yaml_timestamp);
// Same, but reports failure as an empty optional (used by the YAML typer).
std::optional<std::string> try_canonical_time(std::string_view yaml_timestamp);

}  // namespace gitsops::sops
