// UTF-8 with Go's rules lives in base/ (the policy reports need it too); the stores name it
// sops::utf8.
#pragma once

#include "base/utf8.hpp"

namespace gitsops::sops {
namespace utf8 = gitsops::utf8;
}  // namespace gitsops::sops
