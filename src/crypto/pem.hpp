// Internal: OpenSSL-backed helpers for SSH private keys that arrive as PEM (PKCS#1 `RSA PRIVATE
// KEY`, PKCS#8 `PRIVATE KEY`, legacy encrypted PEM) and for Ed25519 public-key derivation.
// Keys come out as raw components so that the age module builds its own identities from them.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "base/secure.hpp"

namespace gitsops::crypto {

struct PemPrivateKey {
    enum class Type { ed25519, rsa };
    Type type = Type::rsa;
    // ed25519
    SecureBytes ed25519_seed;                  // 32 bytes
    std::array<std::uint8_t, 32> ed25519_public{};
    // rsa: big-endian magnitudes without leading zeros
    std::vector<std::uint8_t> rsa_n, rsa_e;
    SecureBytes rsa_d, rsa_p, rsa_q, rsa_iqmp;  // iqmp = q^-1 mod p
};

// Thrown for keys OpenSSL cannot read: the message says why (wrong passphrase, unsupported
// algorithm, malformed DER). Never contains key bytes.
class PemError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Loads one PEM block (the text from `-----BEGIN` to the end of its `-----END` line). An
// encrypted block is decrypted with `passphrase`; an unencrypted one never looks at it.
// Only RSA (two primes) and Ed25519 keys are returned; anything else throws PemError.
PemPrivateKey load_pem_private_key(std::string_view pem_block, std::span<const std::uint8_t> passphrase);

// The Ed25519 public key of a 32-byte seed (RFC 8032 key generation).
std::array<std::uint8_t, 32> ed25519_public_from_seed(std::span<const std::uint8_t> seed);

}  // namespace gitsops::crypto
