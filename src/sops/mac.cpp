#include "sops/mac.hpp"

#include "sops/cipher.hpp"

namespace gitsops::sops {

namespace {
// SHA-256("sops"): makes a mac_only_encrypted MAC differ from a full one over the same values.
constexpr std::uint8_t kMacOnlyEncryptedPrefix[32] = {0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34,
                                                      0xf3, 0xd1, 0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f,
                                                      0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69};
}  // namespace

MacHasher::MacHasher(bool mac_only_encrypted) {
    if (mac_only_encrypted) hash_.update(kMacOnlyEncryptedPrefix);
}

void MacHasher::add(const Node& leaf) {
    SString bytes = leaf_bytes(leaf);
    hash_.update(bytes_of(sv(bytes)));
}

std::string MacHasher::finish() {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    auto digest = hash_.final();
    std::string out;
    out.reserve(digest.size() * 2);
    for (auto b : digest) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

}  // namespace gitsops::sops
