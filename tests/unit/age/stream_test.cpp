#include "age/stream.hpp"

#include <catch2/catch.hpp>

#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

FileKey test_key() { return FileKey(bytes_of("YELLOW SUBMARINE")); }

agetest::Bytes plaintext_of(std::size_t n) {
    agetest::Bytes p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(i * 131 + (i >> 16));
    return p;
}

agetest::Bytes seal(std::span<const std::uint8_t> plain) {
    const stream::Nonce nonce{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    MemorySource in(plain);
    MemorySink out;
    stream::encrypt(test_key(), nonce, in, out);
    return agetest::Bytes(out.data.begin(), out.data.end());
}

struct Opened {
    std::optional<Failure> failure;
    agetest::Bytes released;
};

Opened open(std::span<const std::uint8_t> payload) {
    MemorySource in(payload);
    MemorySink out;
    Opened o;
    o.failure = agetest::failure_of([&] { stream::decrypt(test_key(), in, out); });
    o.released.assign(out.data.begin(), out.data.end());
    return o;
}

// Payload size for n plaintext bytes: nonce, full chunks, and a final chunk that is empty only
// when the whole plaintext is.
std::size_t sealed_size(std::size_t n) {
    const std::size_t chunks = n == 0 ? 1 : (n + stream::kChunkSize - 1) / stream::kChunkSize;
    return stream::kNonceSize + n + chunks * crypto::kChaChaTag;
}

}  // namespace

TEST_CASE("STREAM: sizes around the chunk boundary round trip; no empty final chunk") {
    for (std::size_t n : {0u, 1u, 65535u, 65536u, 65537u, 131072u, 200000u}) {
        INFO("plaintext size " << n);
        const agetest::Bytes plain = plaintext_of(n);
        const agetest::Bytes sealed = seal(plain);
        CHECK(sealed.size() == sealed_size(n));
        const Opened o = open(sealed);
        CHECK_FALSE(o.failure);
        CHECK(o.released == plain);
    }
}

TEST_CASE("STREAM: failures release exactly the chunks that authenticated") {
    const agetest::Bytes plain = plaintext_of(200000);  // chunks of 65536, 65536, 65536, 3392
    const agetest::Bytes sealed = seal(plain);
    const std::size_t first = stream::kNonceSize;
    const auto prefix = [&](std::size_t chunks) {
        return agetest::first(plain, chunks * stream::kChunkSize);
    };

    SECTION("flipped bit in chunk 2") {
        agetest::Bytes bad = sealed;
        bad[first + 2 * stream::kSealedChunkSize + 100] ^= 1;
        const Opened o = open(bad);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released == prefix(2));
    }
    SECTION("flipped nonce: nothing authenticates") {
        agetest::Bytes bad = sealed;
        bad[3] ^= 0x80;
        const Opened o = open(bad);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released.empty());
    }
    SECTION("truncated after full chunks: no final chunk") {
        const agetest::Bytes cut = agetest::first(sealed, first + 3 * stream::kSealedChunkSize);
        const Opened o = open(cut);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released == prefix(3));
    }
    SECTION("a byte after a short final chunk becomes part of it: that chunk fails") {
        agetest::Bytes extra = sealed;
        extra.push_back(0);
        const Opened o = open(extra);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released == prefix(3));
    }
    SECTION("trailing data after a full final chunk: the final chunk is still released") {
        const agetest::Bytes whole = prefix(3);
        agetest::Bytes extra = seal(whole);
        extra.push_back(0);
        const Opened o = open(extra);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released == whole);
    }
    SECTION("missing or short nonce is a header-class failure") {
        CHECK(open(agetest::Bytes{}).failure == Failure::header);
        CHECK(open(agetest::first(sealed, 15)).failure == Failure::header);
        CHECK(open(agetest::first(sealed, 16)).failure == Failure::payload);
    }
}

TEST_CASE("STREAM: a full final chunk is tried as middle chunk, then as final") {
    const agetest::Bytes plain = plaintext_of(2 * stream::kChunkSize);
    const agetest::Bytes sealed = seal(plain);
    REQUIRE(sealed.size() == stream::kNonceSize + 2 * stream::kSealedChunkSize);
    CHECK(open(sealed).released == plain);
    // An empty final chunk appended after full ones is refused even with a valid tag: build one
    // by sealing it ourselves under the payload key.
    stream::Nonce nonce{};
    std::copy_n(sealed.begin(), nonce.size(), nonce.begin());
    const auto key = stream::payload_key(test_key(), nonce);
    std::array<std::uint8_t, 12> chunk_nonce{};
    chunk_nonce[10] = 2;
    chunk_nonce[11] = 1;
    std::array<std::uint8_t, 16> empty_final{};
    crypto::chacha20poly1305_seal(key.span(), chunk_nonce, {}, empty_final);
    // Re-seal the second chunk as a middle chunk, then append the empty final one.
    agetest::Bytes resealed = agetest::first(sealed, stream::kNonceSize + stream::kSealedChunkSize);
    agetest::Bytes middle(stream::kSealedChunkSize);
    chunk_nonce[10] = 1;
    chunk_nonce[11] = 0;
    crypto::chacha20poly1305_seal(key.span(), chunk_nonce,
                                  std::span<const std::uint8_t>(plain).subspan(stream::kChunkSize), middle);
    resealed.insert(resealed.end(), middle.begin(), middle.end());
    resealed.insert(resealed.end(), empty_final.begin(), empty_final.end());
    const Opened o = open(resealed);
    CHECK(o.failure == Failure::payload);
    CHECK(o.released == plain);  // both full chunks authenticated before the empty final one
}
