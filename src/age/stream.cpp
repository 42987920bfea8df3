#include "age/stream.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace gitsops::age::stream {

namespace {

using ChunkNonce = std::array<std::uint8_t, 12>;

// 11-byte big-endian counter, then the flag byte (1 on the final chunk only).
ChunkNonce chunk_nonce(std::uint64_t counter, bool final_chunk) {
    ChunkNonce n{};
    for (std::size_t i = 0; i < 8; ++i) n[10 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    n[11] = final_chunk ? 1 : 0;
    return n;
}

[[noreturn]] void fail(std::uint64_t chunk, std::string_view what) {
    throw AgeError(Failure::payload, "age payload, chunk " + std::to_string(chunk) + ": " + std::string(what));
}

// Most payloads are tiny (a sops data key is 32 bytes). Reading this much first spares them the
// 64 KiB buffers of a full chunk (guarded, locked pages for SecureBytes); larger input grows
// into them. A git filter wraps or unwraps one data key per file, thousands per command.
constexpr std::size_t kFirstRead = 1024;

// Reads up to `full` bytes into `buffer`, sized to what it holds: kFirstRead first, all of
// `full` only when that fills.
template <class Buffer>
std::size_t read_growing(Source& in, Buffer& buffer, std::size_t full) {
    buffer.resize(std::min(full, kFirstRead));
    std::size_t n = in.read(buffer);
    if (n == buffer.size() && n < full) {
        buffer.resize(full);
        n += in.read(std::span<std::uint8_t>(buffer).subspan(n));
    }
    return n;
}

class Opener {
public:
    Opener(const PayloadKey& key, Sink& out) : key_(key), out_(out) {}

    // Opens and releases one sealed chunk; false when its tag does not verify with this flag.
    bool open(std::span<const std::uint8_t> sealed, std::uint64_t counter, bool final_chunk) {
        if (plain_.size() < sealed.size() - crypto::kChaChaTag) plain_.resize(sealed.size() - crypto::kChaChaTag);
        const auto plain = std::span<std::uint8_t>(plain_).first(sealed.size() - crypto::kChaChaTag);
        if (!crypto::chacha20poly1305_open(key_.span(), chunk_nonce(counter, final_chunk), sealed, plain)) return false;
        out_.write(plain);
        crypto::wipe(plain);
        return true;
    }

private:
    const PayloadKey& key_;
    Sink& out_;
    SecureBytes plain_;
};

void expect_end(Source& in, std::uint64_t counter) {
    std::uint8_t extra = 0;
    if (in.read(std::span<std::uint8_t>(&extra, 1)) != 0) fail(counter, "trailing data after the final chunk");
}

}  // namespace

PayloadKey payload_key(const FileKey& file_key, const Nonce& nonce) {
    PayloadKey key;
    crypto::hkdf_sha256(file_key.span(), nonce, "payload", key.span());
    return key;
}

void encrypt(const FileKey& file_key, const Nonce& nonce, Source& in, Sink& out) {
    const PayloadKey key = payload_key(file_key, nonce);
    out.write(nonce);
    SecureBytes current, next;
    std::size_t n = read_growing(in, current, kChunkSize);
    std::vector<std::uint8_t> sealed(n + crypto::kChaChaTag);
    auto seal = [&](std::size_t size, std::uint64_t counter, bool final_chunk) {
        const auto plain = std::span<const std::uint8_t>(current).first(size);
        const auto box = std::span<std::uint8_t>(sealed).first(size + crypto::kChaChaTag);
        crypto::chacha20poly1305_seal(key.span(), chunk_nonce(counter, final_chunk), plain, box);
        out.write(box);
    };
    for (std::uint64_t counter = 0;; ++counter) {
        // A full chunk is final unless at least one more byte follows it.
        if (n == kChunkSize) next.resize(kChunkSize);
        const std::size_t more = n == kChunkSize ? in.read(next) : 0;
        seal(n, counter, more == 0);
        if (more == 0) return;
        std::swap(current, next);
        n = more;
    }
}

void decrypt(const FileKey& file_key, Source& in, Sink& out) {
    Nonce nonce{};
    if (in.read(nonce) != nonce.size())
        throw AgeError(Failure::header, "age file is truncated: the payload nonce after the header is missing");
    const PayloadKey key = payload_key(file_key, nonce);
    Opener opener(key, out);
    std::vector<std::uint8_t> sealed;  // a later chunk follows only a full first one
    for (std::uint64_t counter = 0;; ++counter) {
        const std::size_t n = counter == 0 ? read_growing(in, sealed, kSealedChunkSize) : in.read(sealed);
        const auto chunk = std::span<const std::uint8_t>(sealed).first(n);
        if (n == 0) fail(counter, counter == 0 ? "payload has no chunks" : "truncated: no final chunk");
        if (n < kSealedChunkSize) {
            // A short read is the end of input, so this must be the final chunk.
            if (n < crypto::kChaChaTag) fail(counter, "chunk is shorter than its authentication tag");
            if (counter > 0 && n == crypto::kChaChaTag) fail(counter, "final chunk is empty");
            if (!opener.open(chunk, counter, true)) fail(counter, "chunk failed to authenticate");
            expect_end(in, counter);
            return;
        }
        // A full chunk is tried as a middle chunk first, then as a full final one, without
        // peeking for end of input: a full final chunk is released before trailing data is seen.
        if (opener.open(chunk, counter, false)) continue;
        if (!opener.open(chunk, counter, true)) fail(counter, "chunk failed to authenticate");
        expect_end(in, counter);
        return;
    }
}

}  // namespace gitsops::age::stream
