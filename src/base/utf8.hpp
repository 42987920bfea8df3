// UTF-8 decoding with Go's rules (unicode/utf8): a bad byte decodes as U+FFFD of width 1;
// surrogates, overlong forms and code points above U+10FFFF are bad.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gitsops::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

struct Rune {
    char32_t value;
    std::size_t width;
    bool valid;
};

inline Rune decode(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
    const std::size_t left = s.size() - i;
    const std::uint8_t c = b(0);
    if (c < 0x80) return {c, 1, true};
    const Rune bad{kReplacement, 1, false};
    std::size_t n;
    char32_t v;
    std::uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0Fu;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07u;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return bad;
    }
    if (left < n) return bad;
    if (b(1) < lo || b(1) > hi) return bad;
    v = (v << 6) | (b(1) & 0x3Fu);
    for (std::size_t k = 2; k < n; ++k) {
        if (b(k) < 0x80 || b(k) > 0xBF) return bad;
        v = (v << 6) | (b(k) & 0x3Fu);
    }
    return {v, n, true};
}

inline bool valid(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<std::uint8_t>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const Rune r = decode(s, i);
        if (!r.valid) return false;
        i += r.width;
    }
    return true;
}

}  // namespace gitsops::utf8
