// The MAC (sops.go Encrypt/Decrypt, cmd/sops/common EncryptTree/DecryptTree). Internal to src/sops/.
//
// SHA-512 over the plaintext bytes of every non-null, non-comment leaf in document order across
// all documents (only the encrypted ones, after a fixed prefix, with mac_only_encrypted); no
// separators, keys or types. Written as uppercase hex, encrypted as a str value whose AAD is the
// re-formatted `lastmodified`.
#pragma once

#include <string>

#include "crypto/crypto.hpp"
#include "sops/sops.hpp"

namespace gitsops::sops {

class MacHasher {
public:
    explicit MacHasher(bool mac_only_encrypted);
    void add(const Node& leaf);
    // 128 uppercase hex digits.
    std::string finish();

private:
    crypto::Sha512Stream hash_;
};

}  // namespace gitsops::sops
