// Byte-level checks: binary detection and private key material. They run before (and without)
// any parse, so they must be cheap and must not be fooled by documentation that merely names a
// key format: a marker only counts when real key body follows it.
#include <algorithm>
#include <cstring>

#include "policy/detail.hpp"

namespace gitsops::policy::detail {

namespace {

constexpr std::size_t kBinaryProbe = 8000;  // what git itself looks at (buffer_is_binary)
// A bech32 age key has 58 data characters after "1"; fewer cannot be a key.
constexpr std::size_t kMinAgeKeyChars = 58;
// The smallest real PEM/OpenSSH private key body (an EC P-256 key) is well above this; a
// placeholder such as "..." or "<your key here>" is far below.
constexpr std::size_t kMinKeyBodyChars = 64;
constexpr std::size_t kMaxKeyBody = 64 * 1024;  // how far to look for the body of one key
constexpr std::string_view kBech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kDashes = "-----";

bool is_word_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// After `at`: blanks, then optionally one quote of either kind.
std::size_t skip_blanks_and_quote(std::string_view text, std::size_t at) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    if (at < text.size() && (text[at] == '"' || text[at] == '\'')) ++at;
    return at;
}

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

// Counts line breaks incrementally, so many hits in one blob stay linear.
class LineCounter {
public:
    explicit LineCounter(std::string_view text) : text_(text) {}
    std::size_t line_at(std::size_t offset) {
        line_ += static_cast<std::size_t>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                                     text_.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
        pos_ = offset;
        return line_;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
};

struct Hit {
    std::size_t offset;
    std::string what;
};

// "AGE-SECRET-KEY-1…" and the post-quantum "AGE-SECRET-KEY-PQ-1…" (plugin identities,
// AGE-PLUGIN-…, only name a key held elsewhere and are not material).
void find_age_keys(std::string_view text, std::vector<Hit>& hits) {
    for (std::size_t at = text.find(kAgeKeyMarker); at != std::string_view::npos;
         at = text.find(kAgeKeyMarker, at + 1)) {
        std::string_view rest = text.substr(at + kAgeKeyMarker.size());
        if (rest.starts_with("PQ-")) rest.remove_prefix(3);
        if (!rest.starts_with('1')) continue;
        rest.remove_prefix(1);
        std::size_t n = 0;
        while (n < rest.size() && kBech32.find(rest[n]) != std::string_view::npos) ++n;
        if (n >= kMinAgeKeyChars) hits.push_back({at, "age secret key"});
    }
}

std::string describe_pem(std::string_view label) {
    if (label == "OPENSSH PRIVATE KEY") return "OpenSSH private key";
    if (label == "PGP PRIVATE KEY BLOCK") return "PGP private key";
    if (label == "PRIVATE KEY") return "PEM private key (PKCS#8)";
    if (label == "ENCRYPTED PRIVATE KEY") return "PEM private key (encrypted PKCS#8)";
    std::string_view type = label.substr(0, label.find(" PRIVATE KEY"));
    return "PEM private key (" + std::string(type) + ")";
}

// "-----BEGIN <label>-----" where the label names a private key, then a body of base64 (with
// line breaks, indentation, JSON "\n" escapes or PEM headers in between) up to "-----END".
void find_pem_keys(std::string_view text, std::vector<Hit>& hits) {
    for (std::size_t at = text.find(kBegin); at != std::string_view::npos; at = text.find(kBegin, at + 1)) {
        std::size_t label_start = at + kBegin.size();
        std::size_t label_end = text.find(kDashes, label_start);
        if (label_end == std::string_view::npos || label_end - label_start > 40) continue;
        std::string_view label = text.substr(label_start, label_end - label_start);
        if (label.find("PRIVATE KEY") == std::string_view::npos) continue;
        std::string_view body = text.substr(label_end + kDashes.size(), kMaxKeyBody);
        body = body.substr(0, body.find("-----END"));
        auto chars = static_cast<std::size_t>(std::count_if(body.begin(), body.end(), is_base64_char));
        if (chars >= kMinKeyBodyChars) hits.push_back({at, describe_pem(label)});
    }
}

}  // namespace

bool contains_word(std::string_view text, std::string_view word) {
    for (std::size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
        const std::size_t end = at + word.size();
        if ((at == 0 || !is_word_char(text[at - 1])) && (end == text.size() || !is_word_char(text[end]))) return true;
    }
    return false;
}

bool may_name_secret(std::string_view text) {
    return contains_word(text, kSecretMarker) || text.find('\\') != std::string_view::npos ||
           contains(text, "secretGenerator");
}

bool declares_secret_kind(std::string_view text) {
    constexpr std::string_view kKind = "kind";
    for (std::size_t at = text.find(kKind); at != std::string_view::npos; at = text.find(kKind, at + 1)) {
        if (at > 0 && is_word_char(text[at - 1])) continue;
        std::size_t p = at + kKind.size();
        if (p < text.size() && (text[p] == '"' || text[p] == '\'')) ++p;
        while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
        if (p >= text.size() || text[p] != ':') continue;
        p = skip_blanks_and_quote(text, p + 1);
        if (text.substr(p, kSecretMarker.size()) != kSecretMarker) continue;
        p += kSecretMarker.size();
        if (p == text.size() || !is_word_char(text[p])) return true;
    }
    return false;
}

bool looks_templated(std::string_view text) { return contains(text, "{{") || contains(text, "{%"); }

bool looks_binary(std::string_view bytes) {
    return std::memchr(bytes.data(), 0, std::min(bytes.size(), kBinaryProbe)) != nullptr;
}

std::vector<KeyHit> find_private_keys(std::string_view text) {
    std::vector<Hit> hits;
    if (contains(text, kAgeKeyMarker)) find_age_keys(text, hits);
    if (contains(text, kPemKeyMarker)) find_pem_keys(text, hits);
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.offset < b.offset; });
    std::vector<KeyHit> out;
    LineCounter lines(text);
    for (auto& h : hits) out.push_back(KeyHit{std::move(h.what), lines.line_at(h.offset)});
    return out;
}

}  // namespace gitsops::policy::detail
