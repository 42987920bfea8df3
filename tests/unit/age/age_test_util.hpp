// Helpers shared by the age unit tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "age/age.hpp"
#include "crypto/crypto.hpp"

namespace agetest {

using Bytes = std::vector<std::uint8_t>;

inline std::string hex(std::span<const std::uint8_t> b) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string s;
    for (std::uint8_t c : b) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

inline Bytes unhex(std::string_view h) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

inline std::string sha256_hex(std::span<const std::uint8_t> b) { return hex(gitsops::crypto::sha256(b)); }

inline Bytes read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes first(std::span<const std::uint8_t> b, std::size_t n) {
    return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

// The CCTV test identity and its recipient (spec §6.2).
inline constexpr std::string_view kCctvIdentity =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
inline constexpr std::string_view kCctvRecipient = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef";

inline gitsops::age::Identities identities_from(std::string_view identity_file_text) {
    return gitsops::age::parse_identity_file(gitsops::bytes_of(identity_file_text), "test identities");
}

// The class of the AgeError `f` throws, or nullopt when it does not throw.
template <class F>
std::optional<gitsops::age::Failure> failure_of(F&& f) {
    try {
        f();
    } catch (const gitsops::age::AgeError& e) {
        return e.failure();
    }
    return std::nullopt;
}

// What the public streaming decrypt did: its failure (if any) and the plaintext it released.
struct Outcome {
    std::optional<gitsops::age::Failure> failure;
    std::string message;
    Bytes released;
};

inline Outcome try_decrypt(const gitsops::age::Identities& ids, std::span<const std::uint8_t> file) {
    gitsops::age::MemorySource in(file);
    gitsops::age::MemorySink out;
    Outcome o;
    try {
        gitsops::age::decrypt(ids, in, out);
    } catch (const gitsops::age::AgeError& e) {
        o.failure = e.failure();
        o.message = e.what();
    }
    o.released.assign(out.data.begin(), out.data.end());
    return o;
}

}  // namespace agetest
