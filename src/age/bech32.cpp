#include "age/bech32.hpp"

#include <array>
#include <vector>

namespace gitsops::age::bech32 {

namespace {

constexpr std::string_view kAlphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr std::array<std::uint32_t, 5> kGenerator = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
constexpr std::size_t kChecksumLength = 6;

// 5-bit groups of secret data are secret too: keep them in wiping memory.
using Groups = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::uint32_t polymod_step(std::uint32_t chk, std::uint8_t value) {
    const std::uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ value;
    for (std::size_t i = 0; i < kGenerator.size(); ++i)
        if ((top >> i) & 1) chk ^= kGenerator[i];
    return chk;
}

// Polymod over hrp-expand(lowercase hrp) followed by `values`.
std::uint32_t polymod(std::string_view hrp, std::span<const std::uint8_t> values) {
    std::uint32_t chk = 1;
    for (char c : hrp) chk = polymod_step(chk, static_cast<std::uint8_t>(static_cast<unsigned char>(lower(c)) >> 5));
    chk = polymod_step(chk, 0);
    for (char c : hrp) chk = polymod_step(chk, static_cast<std::uint8_t>(static_cast<unsigned char>(lower(c)) & 31));
    for (std::uint8_t v : values) chk = polymod_step(chk, v);
    return chk;
}

Groups to_groups(std::span<const std::uint8_t> data) {
    Groups out;
    out.reserve((data.size() * 8 + 4) / 5 + kChecksumLength);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (std::uint8_t b : data) {
        acc = ((acc << 8) | b) & 0xfff;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 31));
        }
    }
    if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (5 - bits)) & 31));
    return out;
}

SecureBytes from_groups(std::span<const std::uint8_t> groups) {
    SecureBytes out;
    out.reserve(groups.size() * 5 / 8);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (std::uint8_t g : groups) {
        acc = ((acc << 5) | g) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
        }
    }
    // Leftover bits are only padding: fewer than 5 of them, all zero.
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) throw Error("invalid Bech32 padding");
    return out;
}

bool mixed_case(std::string_view s) {
    bool has_lower = false, has_upper = false;
    for (char c : s) {
        has_lower = has_lower || (c >= 'a' && c <= 'z');
        has_upper = has_upper || (c >= 'A' && c <= 'Z');
    }
    return has_lower && has_upper;
}

}  // namespace

std::string encode(std::string_view hrp, std::span<const std::uint8_t> data) {
    if (hrp.empty() || mixed_case(hrp)) throw Error("invalid Bech32 human-readable part");
    for (char c : hrp)
        if (c < 0x21 || c > 0x7e) throw Error("invalid Bech32 human-readable part");
    Groups values = to_groups(data);
    const std::size_t payload = values.size();
    values.resize(payload + kChecksumLength, 0);
    const std::uint32_t chk = polymod(hrp, values) ^ 1;
    for (std::size_t i = 0; i < kChecksumLength; ++i)
        values[payload + i] = static_cast<std::uint8_t>((chk >> (5 * (kChecksumLength - 1 - i))) & 31);

    const bool upper_case = hrp.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
    // Reserved up front so that growth leaves no copy of a secret key behind.
    std::string out;
    out.reserve(hrp.size() + 1 + values.size());
    out.append(hrp).push_back('1');
    for (std::uint8_t v : values) out.push_back(upper_case ? upper(kAlphabet[v]) : kAlphabet[v]);
    return out;
}

Decoded decode(std::string_view text) {
    if (mixed_case(text)) throw Error("Bech32 string mixes upper and lower case");
    const std::size_t sep = text.rfind('1');
    if (sep == std::string_view::npos || sep == 0 || text.size() - sep - 1 < kChecksumLength)
        throw Error("Bech32 separator '1' missing or misplaced");
    const std::string_view hrp = text.substr(0, sep);
    for (char c : hrp)
        if (c < 0x21 || c > 0x7e) throw Error("invalid character in Bech32 human-readable part");

    Groups values;
    values.reserve(text.size() - sep - 1);
    for (char c : text.substr(sep + 1)) {
        const std::size_t v = kAlphabet.find(lower(c));
        if (v == std::string_view::npos) throw Error("invalid character in Bech32 data");
        values.push_back(static_cast<std::uint8_t>(v));
    }
    if (polymod(hrp, values) != 1) throw Error("invalid Bech32 checksum");
    values.resize(values.size() - kChecksumLength);
    return Decoded{std::string(hrp), from_groups(values)};
}

}  // namespace gitsops::age::bech32
