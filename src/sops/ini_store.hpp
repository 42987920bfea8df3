// sops' INI store (stores/ini, gopkg.in/ini.v1): sections become top-level mappings (the
// implicit DEFAULT section first), keys their string values; a section's comment is its first
// item, a key's comment follows the key. Output uses go-ini's layout: '=' aligned per section,
// a blank line between sections, comments as "; text". The metadata is a [sops] section with
// flattened keys and newlines escaped as "\n".
#pragma once

#include <memory>

#include "sops/store.hpp"

namespace gitsops::sops {

std::unique_ptr<Store> make_ini_store();

}  // namespace gitsops::sops
