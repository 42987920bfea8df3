// The age payload (spec §4): a 16-byte nonce, then STREAM: ChaCha20-Poly1305 chunks of 64 KiB
// under HKDF(file key, nonce, "payload"), with an 11-byte counter and a last-chunk flag in
// each chunk nonce.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "age/age.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::age::stream {

inline constexpr std::size_t kNonceSize = 16;
inline constexpr std::size_t kChunkSize = 64 * 1024;
inline constexpr std::size_t kSealedChunkSize = kChunkSize + crypto::kChaChaTag;

using Nonce = std::array<std::uint8_t, kNonceSize>;
using PayloadKey = FixedSecret<32>;

PayloadKey payload_key(const FileKey& file_key, const Nonce& nonce);

// Writes `nonce` and the sealed chunks of everything `in` holds. One chunk is held back until
// the next byte is seen, so that a plaintext of whole chunks ends with a full final chunk and
// never with an empty one.
void encrypt(const FileKey& file_key, const Nonce& nonce, Source& in, Sink& out);

// Reads the nonce (missing or short: Failure::header, as CCTV classes it) and the chunks,
// writing each chunk's plaintext to `out` as soon as its tag verifies; any other problem is
// Failure::payload, after the chunks before it were released.
void decrypt(const FileKey& file_key, Source& in, Sink& out);

}  // namespace gitsops::age::stream
