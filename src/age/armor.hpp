// ASCII armor (spec §9): strict RFC 7468 PEM with the label "AGE ENCRYPTED FILE", padded base64
// in 64-column lines. The writer streams; the reader decodes a whole armored file at once, so
// that every armor problem is reported as Failure::armor however late it sits in the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "age/age.hpp"

namespace gitsops::age::armor {

inline constexpr std::string_view kBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kEnd = "-----END AGE ENCRYPTED FILE-----";
// How far a reader looks for BEGIN past leading whitespace, and how much whitespace may follow END.
inline constexpr std::size_t kMaxWhitespace = 1024;

// A Sink that armors what it is given into `out`; finish() writes the last line and END.
class Writer : public Sink {
public:
    explicit Writer(Sink& out);
    void write(std::span<const std::uint8_t> bytes) override;
    void finish();

private:
    void emit_line(std::span<const std::uint8_t> bytes);

    Sink& out_;
    std::vector<std::uint8_t> pending_;  // fewer than 48 bytes (ciphertext: not secret)
};

std::string encode(std::span<const std::uint8_t> binary);

// Throws AgeError(Failure::armor) naming the line and what was wrong with it.
std::vector<std::uint8_t> decode(std::span<const std::uint8_t> armored);

// Whether a file starting with `prefix` (its first kMaxWhitespace + kBegin.size() bytes, as the
// Go CLI looks at) is meant to be armored: not the binary "age-encryption.org/" start, and either
// a "-----" marker after optional whitespace or the BEGIN line somewhere in the prefix.
bool looks_armored(std::span<const std::uint8_t> prefix);

}  // namespace gitsops::age::armor
