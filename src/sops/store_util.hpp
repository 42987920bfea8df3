// Pieces the stores share: the `sops` metadata key of YAML and JSON documents, and limits.
#pragma once

#include <string_view>

#include "sops/tree.hpp"

namespace gitsops::sops::detail {

// Collections nested deeper than this are refused (the tree is walked recursively).
inline constexpr int kMaxNesting = 1000;

inline constexpr std::string_view kMetadataKey = "sops";

// sops' ExtractMetadata for YAML/JSON: the mapping under `sops` in the first document, removed
// from every document. Throws "sops metadata not found" (could_not_read_input) without one.
Node extract_metadata(Documents& docs);

// sops refuses to write a data key that collides with the metadata (`sops`, or `sops_...`
// for dotenv). Throws Error(error_dumping_tree).
void check_reserved_key(std::string_view key, bool flat_prefix);

[[noreturn]] void metadata_not_found();

}  // namespace gitsops::sops::detail
