// The IV stash (sops aes/cipher.go stash), with per-occurrence IVs.
#include "sops/sops.hpp"

namespace gitsops::sops {

std::size_t IvStash::Hash::operator()(const SString& s) const noexcept { return std::hash<std::string_view>{}(sv(s)); }

// type, then the AAD with its length (AADs may contain any byte), then the plaintext.
SString IvStash::make_key(std::string_view type, std::string_view aad, std::span<const std::uint8_t> plaintext) {
    SString key;
    key.reserve(type.size() + aad.size() + plaintext.size() + 24);
    key.append(type.data(), type.size());
    key.push_back('\0');
    std::string len = std::to_string(aad.size());
    key.append(len.data(), len.size());
    key.push_back(':');
    key.append(aad.data(), aad.size());
    key.append(reinterpret_cast<const char*>(plaintext.data()), plaintext.size());
    return key;
}

void IvStash::remember(std::string_view type, std::string_view aad, std::span<const std::uint8_t> plaintext,
                       std::span<const std::uint8_t> iv) {
    entries_[make_key(type, aad, plaintext)].ivs.emplace_back(iv.begin(), iv.end());
}

std::optional<std::vector<std::uint8_t>> IvStash::take(std::string_view type, std::string_view aad,
                                                       std::span<const std::uint8_t> plaintext) {
    auto it = entries_.find(make_key(type, aad, plaintext));
    if (it == entries_.end() || it->second.next >= it->second.ivs.size()) return std::nullopt;
    return it->second.ivs[it->second.next++];
}

void IvStash::rewind() {
    for (auto& [key, entry] : entries_) entry.next = 0;
}

}  // namespace gitsops::sops
