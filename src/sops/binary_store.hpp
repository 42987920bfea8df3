// sops' binary store (stores/json BinaryStore): the whole file is one string under `data`; the
// encrypted file is JSON with its own indentation setting (stores.json_binary.indent).
#pragma once

#include <memory>

#include "sops/store.hpp"

namespace gitsops::sops {

std::unique_ptr<Store> make_binary_store(int json_indent);

}  // namespace gitsops::sops
