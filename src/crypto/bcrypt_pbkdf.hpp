// Internal pieces of bcrypt_pbkdf (crypto.hpp declares the function itself), exposed only so
// that tests can check the Blowfish initial state and the inner bcrypt_hash against known values.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace gitsops::crypto::bcrypt_detail {

inline constexpr std::size_t kPWords = 18;        // Blowfish P-array
inline constexpr std::size_t kSWords = 4 * 256;   // four S-boxes, back to back

// Blowfish's initial state: the first 8336 hexadecimal digits of pi's fractional part, read as
// big-endian 32-bit words (P-array first, then S-boxes 0..3). Computed once per process.
struct BlowfishInit {
    std::array<std::uint32_t, kPWords> p;
    std::array<std::uint32_t, kSWords> s;
};
const BlowfishInit& blowfish_initial_state();

// OpenBSD's bcrypt_hash: the eksblowfish core on two 64-byte SHA-512 digests, 32 bytes out.
std::array<std::uint8_t, 32> bcrypt_hash(std::span<const std::uint8_t, 64> sha_pass,
                                         std::span<const std::uint8_t, 64> sha_salt);

}  // namespace gitsops::crypto::bcrypt_detail
