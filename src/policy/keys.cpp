// Finding kind 4: private key material. The bytes say whether a key is there (markers.cpp); the
// parsed documents, when there are any, say under which key it sits, which is what a user
// looking at a ConfigMap needs.
#include "policy/detail.hpp"

namespace gitsops::policy::detail {

namespace {

constexpr std::string_view kFix =
    "remove it from the file and from history, and replace the key (everyone who can read the "
    "repository has it); keep keys out of git or inside a sops-encrypted file";

struct Place {
    int document;
    std::string key_path;
};

// The key path of every leaf (value or comment) that holds key material, in document order.
std::vector<Place> locate(const ParsedFile& file) {
    std::vector<Place> places;
    for (std::size_t d = 0; d < file.documents.size(); ++d) {
        auto visit = [&](const sops::Node& leaf, const KeyPath& where) {
            if (leaf.type != sops::Node::Type::string && !leaf.is_comment()) return;
            std::size_t n = find_private_keys(sops::sv(leaf.text)).size();
            for (std::size_t i = 0; i < n; ++i)
                places.push_back(Place{static_cast<int>(d), where.str().empty() ? "(comment)" : where.str()});
        };
        KeyPath path;
        for_each_leaf(file.documents[d], path, visit);
    }
    return places;
}

}  // namespace

void report_private_keys(const std::vector<KeyHit>& hits, const ParsedFile* file, Findings& out) {
    if (hits.empty()) return;
    std::vector<Place> places;
    if (file && file->parsed) places = locate(*file);
    // Comments the YAML reader attaches elsewhere, or escapes it resolves, can make the two
    // counts differ; then the line number alone has to do.
    const bool placed = places.size() == hits.size();
    for (std::size_t i = 0; i < hits.size(); ++i) {
        std::string message = hits[i].what + " at line " + std::to_string(hits[i].line);
        if (placed)
            out.add(FindingKind::private_key, Severity::error, places[i].document, places[i].key_path,
                    std::move(message), std::string(kFix), static_cast<int>(hits[i].line));
        else
            out.add(FindingKind::private_key, Severity::error, -1, {}, std::move(message), std::string(kFix),
                    static_cast<int>(hits[i].line));
    }
}

}  // namespace gitsops::policy::detail
