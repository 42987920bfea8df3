// BIP-173 Bech32 as age uses it: checksum constant 1 (not Bech32m), no 90-character limit
// (plugin and post-quantum keys are longer), strict zero padding, all-lower or all-upper case.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/secure.hpp"

namespace gitsops::age::bech32 {

// Why a string is not valid Bech32. The message never repeats the input: it may be a secret key.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Encodes `data` under `hrp`; the result has the case of `hrp` (which must not be mixed-case).
// The checksum is always computed over the lowercase HRP, so "AGE-SECRET-KEY-" works directly.
std::string encode(std::string_view hrp, std::span<const std::uint8_t> data);

struct Decoded {
    std::string hrp;   // as written: its case tells age recipients from identities
    SecureBytes data;  // may be a secret key
};

// Strict decode: rejects mixed case, a misplaced separator, characters outside the alphabet,
// a bad checksum and non-zero or overlong padding. Throws bech32::Error.
Decoded decode(std::string_view text);

}  // namespace gitsops::age::bech32
