// sops' flattening of nested metadata into single-level keys (stores/flatten.go), used by the
// dotenv and INI stores: a mapping key continues with "__map_<key>", a list item with
// "__list_<index>". Unflattening sorts mapping keys byte-wise, as sops does.
#pragma once

#include <string_view>

#include "sops/tree.hpp"

namespace gitsops::sops::flat {

// Leaves of `mapping` as a flat mapping whose keys start with `prefix`; comments are dropped,
// empty collections vanish. Throws Error on a key collision.
Node flatten(const Node& mapping, std::string_view prefix);

// The inverse. Throws Error (could_not_read_input) on type mismatches, duplicate paths and
// lists with gaps.
Node unflatten(const Node& flat_mapping);

// The metadata read back from text-only stores: sops decodes `shamir_threshold` as an int and
// `mac_only_encrypted` as a bool (mapstructure's weak typing); everything else stays text.
void restore_metadata_types(Node& metadata);

}  // namespace gitsops::sops::flat
