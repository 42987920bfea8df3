#include <catch2/catch.hpp>

#include <string>

#include "crypto/crypto.hpp"

using namespace gitsops;

namespace {
std::vector<std::uint8_t> unhex(std::string_view h) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}
std::string hex(std::span<const std::uint8_t> b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto c : b) {
        s.push_back(d[c >> 4]);
        s.push_back(d[c & 15]);
    }
    return s;
}
}  // namespace

TEST_CASE("HKDF-SHA-256 matches RFC 5869 test case 1 and 3") {
    auto ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    auto salt = unhex("000102030405060708090a0b0c");
    auto info = unhex("f0f1f2f3f4f5f6f7f8f9");
    std::vector<std::uint8_t> okm(42);
    crypto::hkdf_sha256(ikm, salt, view_of(info), okm);
    CHECK(hex(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    // Test case 3: empty salt and info.
    crypto::hkdf_sha256(ikm, {}, "", okm);
    CHECK(hex(okm) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST_CASE("AES-256-GCM with a 32-byte IV round-trips and rejects a bad tag") {
    std::vector<std::uint8_t> key(32, 7), iv(32, 9);
    std::string aad = "data:secret:";
    std::array<std::uint8_t, 16> tag{};
    std::string ct = crypto::aes256gcm_seal(key, iv, bytes_of(aad), bytes_of("hunter2"), tag);
    REQUIRE(ct.size() == 7);
    auto pt = crypto::aes256gcm_open(key, iv, bytes_of(aad), bytes_of(ct), tag);
    REQUIRE(pt);
    CHECK(view_of(*pt) == "hunter2");
    tag[0] ^= 1;
    CHECK_FALSE(crypto::aes256gcm_open(key, iv, bytes_of(aad), bytes_of(ct), tag));
    tag[0] ^= 1;
    CHECK_FALSE(crypto::aes256gcm_open(key, iv, bytes_of("data:other:"), bytes_of(ct), tag));
}

TEST_CASE("strict base64 rejects non-canonical input") {
    CHECK(crypto::base64_encode(bytes_of("age"), false) == "YWdl");
    CHECK(crypto::base64_encode(bytes_of("ag"), true) == "YWc=");
    CHECK(crypto::base64_decode("YWc", false));
    CHECK_FALSE(crypto::base64_decode("YWd", false));   // non-zero leftover bits
    CHECK_FALSE(crypto::base64_decode("YWc=", false));  // padding where none is allowed
    CHECK_FALSE(crypto::base64_decode("YW c", false));  // whitespace
    CHECK_FALSE(crypto::base64_decode("YWc", true));    // missing padding
}
