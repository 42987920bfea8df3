// sops' YAML store (stores/yaml): go-yaml v3 typing and comments on the way in, go-yaml v3
// layout on the way out, the metadata as key `sops` of every document.
#pragma once

#include <memory>

#include "sops/store.hpp"

namespace gitsops::sops {

// `indent` 0 means sops' default of 4; a negative one is refused when writing.
std::unique_ptr<Store> make_yaml_store(int indent);

}  // namespace gitsops::sops
