#include "sops/cipher.hpp"

#include <re2/re2.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "crypto/crypto.hpp"
#include "sops/go_format.hpp"

namespace gitsops::sops {

namespace {

constexpr std::size_t kIvSize = 32;  // sops' nonceSize, not GCM's usual 12
constexpr std::size_t kTagSize = 16;
constexpr std::string_view kPrefix = "ENC[AES256_GCM,data:";

bool is_b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

bool all_b64(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_b64_char(c)) return false;
    return true;
}

// What sops always writes: base64 fields, a lowercase type and the closing bracket last. Then
// every delimiter occurs once and the greedy regex can only split there.
std::optional<EncryptedFields> split_canonical(std::string_view s) {
    if (s.size() < kPrefix.size() + 1 || s.back() != ']') return std::nullopt;
    auto iv_at = s.find(",iv:", kPrefix.size());
    if (iv_at == std::string_view::npos) return std::nullopt;
    auto tag_at = s.find(",tag:", iv_at + 4);
    if (tag_at == std::string_view::npos) return std::nullopt;
    auto type_at = s.find(",type:", tag_at + 5);
    if (type_at == std::string_view::npos) return std::nullopt;
    EncryptedFields f{s.substr(kPrefix.size(), iv_at - kPrefix.size()), s.substr(iv_at + 4, tag_at - iv_at - 4),
                      s.substr(tag_at + 5, type_at - tag_at - 5), s.substr(type_at + 6, s.size() - type_at - 7)};
    if (!all_b64(f.data) || !all_b64(f.iv) || !all_b64(f.tag) || f.type.empty()) return std::nullopt;
    for (char c : f.type)
        if (c < 'a' || c > 'z') return std::nullopt;
    return f;
}

// Anything else goes through the same regex sops uses. Latin-1 makes `.` match every byte but
// '\n', as Go's `.` does on arbitrary bytes.
const RE2& value_regex() {
    static const RE2 re = [] {
        RE2::Options o;
        o.set_encoding(RE2::Options::EncodingLatin1);
        o.set_log_errors(false);
        return RE2(R"(^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\])", o);
    }();
    return re;
}

SecureBytes decode_field(std::string_view b64, std::string_view name) {
    auto out = crypto::base64_decode(b64, true);
    if (!out) throw CipherError("error base64-decoding " + std::string(name));
    return std::move(*out);
}

std::string_view text_of(const SecureBytes& b) { return view_of(b); }

// Go strconv.Atoi: optional sign, decimal digits, int64 range.
std::optional<std::int64_t> parse_go_int(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::string_view digits = s;
    bool negative = false;
    if (digits[0] == '+' || digits[0] == '-') {
        negative = digits[0] == '-';
        digits.remove_prefix(1);
    }
    if (digits.empty()) return std::nullopt;
    std::uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, 10);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    constexpr std::uint64_t max_pos = static_cast<std::uint64_t>(INT64_MAX);
    if (!negative && magnitude > max_pos) return std::nullopt;
    if (negative && magnitude > max_pos + 1) return std::nullopt;
    return negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
}

// Go strconv.ParseFloat(s, 64) for the forms sops writes ('f' -1, which is plain decimal) and
// the special values Go prints (+Inf, -Inf, NaN). Overflow is an error, as in Go.
std::optional<double> parse_go_float(std::string_view s) {
    if (s.empty() || s.size() > 4096) return std::nullopt;
    std::string_view body = s;
    bool negative = false;
    if (body[0] == '+' || body[0] == '-') {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    auto lower = [](std::string_view v) {
        std::string o(v);
        for (auto& c : o) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return o;
    };
    std::string l = lower(body);
    if (l == "inf" || l == "infinity") return negative ? -INFINITY : INFINITY;
    if (l == "nan") return (s[0] == '+' || s[0] == '-') ? std::nullopt : std::optional<double>(NAN);
    // Decimal only: digits, one '.', optional exponent. Go also reads hex floats and
    // underscores; sops never writes them.
    bool digit = false, dot = false;
    std::size_t i = 0;
    for (; i < body.size(); ++i) {
        char c = body[i];
        if (c >= '0' && c <= '9')
            digit = true;
        else if (c == '.' && !dot)
            dot = true;
        else
            break;
    }
    if (!digit) return std::nullopt;
    if (i < body.size()) {
        if (body[i] != 'e' && body[i] != 'E') return std::nullopt;
        ++i;
        if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
        if (i == body.size()) return std::nullopt;
        for (; i < body.size(); ++i)
            if (body[i] < '0' || body[i] > '9') return std::nullopt;
    }
    std::string copy(s);
    char* end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size()) return std::nullopt;
    if (std::isinf(v)) return std::nullopt;  // out of range: Go returns ErrRange
    return v;
}

// Go strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
    if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
    if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
    return std::nullopt;
}

Node typed_leaf(std::string_view type, const SecureBytes& plain) {
    std::string_view text = text_of(plain);
    if (type == "str" || type == "bytes") return Node::string(text);
    if (type == "comment") return Node::comment(text, false);
    if (type == "int") {
        if (auto v = parse_go_int(text)) return Node::integer(*v);
        throw CipherError("invalid int plaintext");
    }
    if (type == "float") {
        if (auto v = parse_go_float(text)) return Node::floating(*v);
        throw CipherError("invalid float plaintext");
    }
    if (type == "bool") {
        if (auto v = parse_go_bool(text)) return Node::boolean(*v);
        throw CipherError("invalid bool plaintext");
    }
    if (type == "time") {
        if (auto v = try_canonical_time(text)) return Node::time(*v);
        throw CipherError("invalid time plaintext");
    }
    throw CipherError("unknown datatype " + std::string(type));
}

}  // namespace

std::string_view type_tag(const Node& leaf) {
    switch (leaf.type) {
        case Node::Type::string:
            return "str";
        case Node::Type::integer:
            return "int";
        case Node::Type::floating:
            return "float";
        case Node::Type::boolean:
            return "bool";
        case Node::Type::time:
            return "time";
        case Node::Type::comment:
            return "comment";
        default:
            throw Error("cannot encrypt a value of this type", exit_code::error_encrypting_tree);
    }
}

SString leaf_bytes(const Node& leaf) {
    switch (leaf.type) {
        case Node::Type::string:
        case Node::Type::time:
        case Node::Type::comment:
            return leaf.text;
        case Node::Type::integer:
            return to_sstring(std::to_string(leaf.i));
        case Node::Type::floating: {
            std::string s = format_float_f(leaf.f);
            SString out = to_sstring(s);
            wipe(s);
            return out;
        }
        case Node::Type::boolean:
            return to_sstring(leaf.b ? "True" : "False");
        default:
            throw Error("cannot convert a value of this type to bytes", exit_code::error_encrypting_tree);
    }
}

std::optional<EncryptedFields> split_encrypted(std::string_view text) {
    if (text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
    if (auto f = split_canonical(text)) return f;
    re2::StringPiece data, iv, tag, type;
    if (!RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), value_regex(), &data, &iv, &tag, &type))
        return std::nullopt;
    auto sv = [](re2::StringPiece p) { return std::string_view(p.data(), p.size()); };
    return EncryptedFields{sv(data), sv(iv), sv(tag), sv(type)};
}

std::string ValueCipher::seal(std::string_view type, std::span<const std::uint8_t> plaintext,
                              std::string_view aad) const {
    std::vector<std::uint8_t> iv;
    if (stash_) {
        if (auto reused = stash_->take(type, aad, plaintext); reused && reused->size() == kIvSize)
            iv = std::move(*reused);
    }
    if (iv.empty()) {
        iv.resize(kIvSize);
        crypto::random_bytes(iv);
    }
    std::array<std::uint8_t, kTagSize> tag{};
    std::string data = crypto::aes256gcm_seal(key_.span(), iv, bytes_of(aad), plaintext, tag);
    std::string out;
    out.reserve(kPrefix.size() + data.size() * 4 / 3 + 100);
    out.append(kPrefix)
        .append(crypto::base64_encode(bytes_of(data), true))
        .append(",iv:")
        .append(crypto::base64_encode(iv, true))
        .append(",tag:")
        .append(crypto::base64_encode(tag, true))
        .append(",type:")
        .append(type)
        .append("]");
    return out;
}

std::string ValueCipher::encrypt(const Node& leaf, std::string_view aad) const {
    std::string_view type = type_tag(leaf);
    SString plain = leaf_bytes(leaf);
    if (plain.empty() && (leaf.type == Node::Type::string || leaf.type == Node::Type::comment)) return {};
    return seal(type, bytes_of(sv(plain)), aad);
}

std::string ValueCipher::encrypt_text(std::string_view text, std::string_view aad) const {
    if (text.empty()) return {};
    return seal("str", bytes_of(text), aad);
}

Node ValueCipher::decrypt(std::string_view text, std::string_view aad) const {
    if (text.empty()) return Node::string("");
    auto fields = split_encrypted(text);
    if (!fields) throw CipherError("value does not match sops' data format");
    SecureBytes data = decode_field(fields->data, "data");
    SecureBytes iv = decode_field(fields->iv, "iv");
    SecureBytes tag = decode_field(fields->tag, "tag");
    if (iv.empty()) throw CipherError("empty IV");
    // Go opens data||tag and takes the last 16 bytes as the tag, whatever the split was.
    if (tag.size() != kTagSize) {
        data.insert(data.end(), tag.begin(), tag.end());
        if (data.size() < kTagSize) throw CipherError("ciphertext too short");
        tag.assign(data.end() - kTagSize, data.end());
        data.resize(data.size() - kTagSize);
    }
    auto plain = crypto::aes256gcm_open(key_.span(), iv, bytes_of(aad), data, tag);
    if (!plain)
        throw CipherError("AES-GCM authentication failed (wrong data key, or the ciphertext or its key path changed)");
    Node leaf = typed_leaf(fields->type, *plain);
    if (stash_) {
        SString canonical = leaf_bytes(leaf);
        stash_->remember(type_tag(leaf), aad, bytes_of(sv(canonical)), iv);
    }
    return leaf;
}

}  // namespace gitsops::sops
