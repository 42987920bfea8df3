// Shamir secret sharing over GF(2^8) with the AES polynomial (sops shamir/shamir.go format).
// Internal to src/sops/.
//
// Share i (1-based, in key-group order) holds the value of one random polynomial per secret byte
// at x = i, followed by the byte x = i itself.
#pragma once

#include <span>
#include <vector>

#include "base/secure.hpp"

namespace gitsops::sops::shamir {

// `parts` shares, any `threshold` of which recover the secret. 2 <= threshold <= parts <= 255.
std::vector<SecureBytes> split(std::span<const std::uint8_t> secret, int parts, int threshold);
// Lagrange interpolation at 0 over every given share (at least two, equal lengths, distinct x).
SecureBytes combine(std::span<const SecureBytes> shares);

// GF(2^8) arithmetic, exposed for tests.
std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b);
std::uint8_t gf_inv(std::uint8_t a);

}  // namespace gitsops::sops::shamir
