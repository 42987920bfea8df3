// Parsing a blob in its path's format, once, keeping the documents even when the sops metadata
// is broken (so the other checks still see them) and the reason when nothing parses.
#include "policy/detail.hpp"

namespace gitsops::policy::detail {

namespace {

using sops::is_metadata_not_found;

// A sops entry the store refused (not a mapping, duplicated): take it out of the documents
// raw, so the metadata check reports it as invalid instead of the file passing as plaintext.
std::optional<sops::Node> take_sops_entries(sops::Documents& documents) {
    std::optional<sops::Node> first;
    for (auto& document : documents) {
        auto& items = document.items;
        for (auto it = items.begin(); it != items.end();) {
            if (it->is_comment() || sops::sv(it->key.text) != kSopsMarker) {
                ++it;
                continue;
            }
            if (!first) first = std::move(it->value);
            it = items.erase(it);
        }
    }
    return first;
}

}  // namespace

ParsedFile parse_file(std::string_view text, sops::Format format, const sops::StoreConfig& stores) {
    ParsedFile out;
    auto store = sops::make_store(format, stores);
    bool broken_metadata = false;
    // Without the word there can be no metadata (YAML/JSON `sops`, dotenv `sops_`, INI [sops]):
    // one parse instead of two for every plain manifest.
    if (contains(text, kSopsMarker)) {
        try {
            auto [documents, metadata] = store->load_encrypted(text);
            out.documents = std::move(documents);
            out.metadata = std::move(metadata);
            out.parsed = true;
            return out;
        } catch (const Error& e) {
            broken_metadata = !is_metadata_not_found(e);
        }
    }
    try {
        out.documents = store->load_plain(text);
        out.parsed = true;
    } catch (const Error& e) {
        out.parse_error = e.what();  // the stores name line and column, never the content
        return out;
    }
    if (broken_metadata) out.metadata = take_sops_entries(out.documents);
    return out;
}

}  // namespace gitsops::policy::detail
