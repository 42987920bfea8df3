// sops' dotenv store (stores/dotenv): KEY=value lines, '#' comment lines, metadata flattened
// into `sops_`-prefixed keys after the data.
#pragma once

#include <memory>
#include <string>

#include "sops/store.hpp"

namespace gitsops::sops {

std::unique_ptr<Store> make_dotenv_store();

// sops' ValToString: the text form of a non-string leaf in dotenv and INI files.
std::string value_to_text(const Node& leaf);

}  // namespace gitsops::sops
