// YAML output byte-identical to sops 3.13: the document tree is turned into go-yaml nodes the
// way sops' YAML store does it (comment items become head/line/foot comments, values get the
// style go-yaml's encoder picks for them) and written by an emitter that follows go-yaml v3's
// emitter rules (indentation, scalar styles, comment placement, empty {} and []).
#pragma once

#include <string>

#include "sops/tree.hpp"

namespace gitsops::sops::yaml {

// sops' EmitPlainFile: one document per mapping, "---" between them. `indent` is the store's
// indentation (go-yaml uses 2 for values outside 2..9). With `metadata`, every document gets it
// as a last key `sops` (EmitEncryptedFile).
std::string emit_documents(const Documents& docs, int indent, const Node* metadata = nullptr);

// sops' EmitValue (yaml.Marshal, indent 4) for a single value of any kind.
std::string emit_single_value(const Node& value);

}  // namespace gitsops::sops::yaml
