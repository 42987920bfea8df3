// The age v1 header (spec §3): version line, recipient stanzas, MAC line. The parser accepts only
// the canonical encoding, so the bytes it read are exactly what a re-serialisation would give
// and can be MAC'd as they are.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "age/age.hpp"

namespace gitsops::age::format {

inline constexpr std::string_view kVersionLine = "age-encryption.org/v1";
inline constexpr std::size_t kMacSize = 32;
inline constexpr std::size_t kBodyColumns = 64;    // base64 characters per full body line
inline constexpr std::size_t kBodyLineBytes = 48;  // bytes per full body line
// Go sets no limit; one keeps a hostile stream from filling memory before the MAC line.
inline constexpr std::size_t kMaxHeaderSize = 16 << 20;

using Mac = std::array<std::uint8_t, kMacSize>;

// A Source with look-ahead: the header is read line by line, then the payload continues from
// the same buffered bytes.
class LineReader : public Source {
public:
    explicit LineReader(Source& in) : in_(in) {}
    // The next line including its LF; without LF only at end of input (empty at EOF).
    // At most `max` bytes are consumed; a longer line comes back cut, without LF.
    std::string read_line(std::size_t max);
    std::size_t read(std::span<std::uint8_t> out) override;

private:
    bool fill();  // false at end of input

    Source& in_;
    std::vector<std::uint8_t> buf_;
    std::size_t pos_ = 0;
    bool eof_ = false;
};

struct Header {
    std::vector<Stanza> stanzas;
    std::string mac_input;  // the header's bytes up to and including the MAC line's "---"
    Mac mac{};
    std::size_t size = 0;   // bytes through the MAC line's LF: where the payload starts
};

// Throws AgeError(Failure::header) naming the line and what was wrong with it.
Header parse_header(LineReader& in);
Header parse_header(std::span<const std::uint8_t> file);

// Canonical text of one stanza (argument line and body lines, each ending in LF).
std::string encode_stanza(const Stanza& stanza);
// The version line and stanzas followed by "---": what the MAC covers.
std::string mac_input(std::span<const Stanza> stanzas);
// mac_input + " " + base64(mac) + LF.
std::string serialise_header(std::span<const Stanza> stanzas, const Mac& mac);

// Walks the stanzas in header order: the first one `unwrap_one(stanza, index)` opens gives the
// file key (an identity's walk; fatal stanza errors are thrown by `unwrap_one`).
template <class UnwrapOne>
std::optional<FileKey> first_unwrapped(std::span<const Stanza> stanzas, UnwrapOne&& unwrap_one) {
    for (std::size_t i = 0; i < stanzas.size(); ++i)
        if (auto key = unwrap_one(stanzas[i], i)) return key;
    return std::nullopt;
}

// A fatal error in stanza `index` (0-based) of a type an identity owns: AgeError(header).
[[noreturn]] void stanza_error(std::size_t index, std::string_view type, std::string_view what);

// X25519 and scrypt stanza bodies: the file key sealed with ChaCha20-Poly1305 under a derived
// key and the all-zero nonce (each key wraps exactly one file key).
inline constexpr std::size_t kWrappedKeySize = kFileKeySize + 16;
std::string seal_file_key(std::span<const std::uint8_t> wrap_key, const FileKey& file_key);
// Empty when the tag does not verify; `body` must be kWrappedKeySize bytes (callers check it
// first, as a fatal stanza error).
std::optional<FileKey> open_file_key(std::span<const std::uint8_t> wrap_key, std::string_view body);

// HMAC-SHA-256 under HKDF(file key, salt empty, "header").
Mac header_mac(const FileKey& file_key, std::string_view mac_input);
bool verify_mac(const FileKey& file_key, const Header& header);

}  // namespace gitsops::age::format
