#include "sops/store_util.hpp"

#include <string>

#include "base/error.hpp"

namespace gitsops::sops::detail {

void metadata_not_found() { throw Error("sops metadata not found", exit_code::could_not_read_input); }

Node extract_metadata(Documents& docs) {
    Node metadata;
    bool found = false;
    for (std::size_t d = 0; d < docs.size(); ++d) {
        auto& items = docs[d].items;
        for (std::size_t i = 0; i < items.size();) {
            if (items[i].is_comment() || sv(items[i].key.text) != kMetadataKey) {
                ++i;
                continue;
            }
            if (d == 0) {
                if (found) throw Error("Found duplicate sops entry", exit_code::could_not_read_input);
                if (items[i].value.type != Node::Type::mapping)
                    throw Error("Found sops entry that is not a mapping", exit_code::could_not_read_input);
                metadata = std::move(items[i].value);
                found = true;
            }
            items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
        }
    }
    if (!found) metadata_not_found();
    return metadata;
}

void check_reserved_key(std::string_view key, bool flat_prefix) {
    if (flat_prefix ? key.substr(0, kMetadataKey.size() + 1) == "sops_" : key == kMetadataKey)
        throw Error("Found key \"" + std::string(key) + "\" in encrypted data, which is reserved for SOPS metadata",
                    exit_code::error_dumping_tree);
}

}  // namespace gitsops::sops::detail
