#include "sops/yaml_scalar.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <system_error>

#include "base/error.hpp"
#include "crypto/crypto.hpp"
#include "sops/go_format.hpp"

namespace gitsops::sops::yaml {

namespace {

constexpr std::string_view kStr = "!!str", kInt = "!!int", kFloat = "!!float", kBool = "!!bool", kNull = "!!null",
                           kTimestamp = "!!timestamp", kBinary = "!!binary";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// go-yaml's first-character hint: which resolutions are worth trying at all.
char hint_of(std::string_view s) {
    if (s.empty()) return 'N';
    const char c = s[0];
    if (c == '+' || c == '-') return 'S';
    if (is_digit(c)) return 'D';
    if (c == '.') return '.';
    switch (c) {
        case 'y': case 'Y': case 'n': case 'N': case 't': case 'T':
        case 'f': case 'F': case 'o': case 'O': case '~':
            return 'M';
        default:
            return 0;
    }
}

// The fixed spellings go-yaml looks up before anything else.
std::optional<Resolved> lookup_fixed(std::string_view s) {
    Resolved r;
    if (s == "true" || s == "True" || s == "TRUE") {
        r.kind = ScalarKind::boolean;
        r.b = true;
    } else if (s == "false" || s == "False" || s == "FALSE") {
        r.kind = ScalarKind::boolean;
    } else if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
        r.kind = ScalarKind::null;
    } else if (s == ".nan" || s == ".NaN" || s == ".NAN") {
        r.kind = ScalarKind::floating;
        r.f = std::numeric_limits<double>::quiet_NaN();
    } else if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF") {
        r.kind = ScalarKind::floating;
        r.f = std::numeric_limits<double>::infinity();
    } else if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
        r.kind = ScalarKind::floating;
        r.f = -std::numeric_limits<double>::infinity();
    } else if (s == "<<") {
        r.kind = ScalarKind::merge;
    } else {
        return std::nullopt;
    }
    return r;
}

std::string without_underscores(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (c != '_') out.push_back(c);
    return out;
}

enum class IntStatus { ok, syntax, range };

// Go strconv.ParseUint(s, 0, 64) on text without sign or underscores.
IntStatus parse_uint_base0(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return IntStatus::syntax;
    int base = 10;
    if (s[0] == '0') {
        const char p = s.size() >= 3 ? static_cast<char>(s[1] | 0x20) : '\0';
        if (p == 'x') base = 16;
        else if (p == 'o') base = 8;
        else if (p == 'b') base = 2;
        if (base != 10) {
            s.remove_prefix(2);
        } else {
            base = 8;
            s.remove_prefix(1);
        }
    }
    std::uint64_t v = 0;
    bool range = false;
    for (char c : s) {
        int d;
        if (is_digit(c)) d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (c | 0x20) - 'a' + 10;
        else return IntStatus::syntax;
        if (d >= base) return IntStatus::syntax;
        const auto ubase = static_cast<std::uint64_t>(base);
        if (v > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(d)) / ubase) range = true;
        v = v * ubase + static_cast<std::uint64_t>(d);
    }
    out = v;
    return range ? IntStatus::range : IntStatus::ok;
}

// Go strconv.ParseInt(s, 0, 64).
IntStatus parse_int_base0(std::string_view s, std::int64_t& out) {
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    std::uint64_t u = 0;
    const IntStatus st = parse_uint_base0(s, u);
    if (st != IntStatus::ok) return st;
    constexpr std::uint64_t limit = std::uint64_t{1} << 63;
    if (negative) {
        if (u > limit) return IntStatus::range;
        out = u == limit ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(u);
    } else {
        if (u >= limit) return IntStatus::range;
        out = static_cast<std::int64_t>(u);
    }
    return IntStatus::ok;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool yaml_float_syntax(std::string_view s) {
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        return i - start;
    };
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (digits() == 0) return false;
    } else {
        if (digits() == 0) return false;
        if (i < s.size() && s[i] == '.') {
            ++i;
            digits();
        }
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (digits() == 0) return false;
    }
    return i == s.size();
}

// Go strconv.ParseFloat on text that already has float syntax: overflow is an error, underflow
// gives a signed zero.
std::optional<double> parse_decimal_float(std::string_view s) {
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    double v = 0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (res.ec == std::errc::result_out_of_range) {
        // Decide between overflow and underflow from the decimal magnitude of the text.
        long exponent = 0;
        const auto e = s.find_first_of("eE");
        if (e != std::string_view::npos) {
            auto t = s.substr(e + 1);
            const bool neg_exp = !t.empty() && t[0] == '-';
            if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.remove_prefix(1);
            long parsed = 0;
            if (std::from_chars(t.data(), t.data() + t.size(), parsed).ec == std::errc::result_out_of_range)
                parsed = std::numeric_limits<long>::max() / 2;
            exponent = neg_exp ? -parsed : parsed;
        }
        const auto mantissa = s.substr(0, e);
        const auto first = mantissa.find_first_of("123456789");
        const auto point = mantissa.find('.');
        const long int_digits = static_cast<long>(point == std::string_view::npos ? mantissa.size() : point);
        const long magnitude = exponent + int_digits - static_cast<long>(first == std::string_view::npos ? 0 : first);
        if (magnitude > 0) return std::nullopt;
        return negative ? -0.0 : 0.0;
    }
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
    return negative ? -v : v;
}

// Go ParseFloat for text that starts with '.': ".5", ".5e3", digits may be separated by '_'.
std::optional<double> parse_dot_float(std::string_view s) {
    std::string clean;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            if (i == 0 || i + 1 >= s.size() || !is_digit(s[i - 1]) || !is_digit(s[i + 1])) return std::nullopt;
            continue;
        }
        clean.push_back(s[i]);
    }
    if (!yaml_float_syntax(clean)) return std::nullopt;
    return parse_decimal_float(clean);
}

Resolved make_string() { return Resolved{}; }

// go-yaml resolve(tag, in) for the resolvable tags ("" and the core ones).
Resolved resolve_core(std::string_view tag, std::string_view in) {
    const char hint = hint_of(in);
    if (hint == 0 || tag == kStr || tag == kBinary) return make_string();
    if (auto fixed = lookup_fixed(in)) return *fixed;
    Resolved r;
    if (hint == '.') {
        if (auto f = parse_dot_float(in)) {
            r.kind = ScalarKind::floating;
            r.f = *f;
            return r;
        }
    } else if (hint == 'D' || hint == 'S') {
        if (tag.empty() || tag == kTimestamp) {
            if (auto t = try_canonical_time(in)) {
                r.kind = ScalarKind::timestamp;
                r.time = std::move(*t);
                return r;
            }
        }
        const std::string plain = without_underscores(in);
        std::int64_t i = 0;
        if (parse_int_base0(plain, i) == IntStatus::ok) {
            r.kind = ScalarKind::integer;
            r.i = i;
            return r;
        }
        std::uint64_t u = 0;
        if (plain[0] != '+' && plain[0] != '-' && parse_uint_base0(plain, u) == IntStatus::ok) {
            r.kind = ScalarKind::big_integer;
            return r;
        }
        if (yaml_float_syntax(plain)) {
            if (auto f = parse_decimal_float(plain)) {
                r.kind = ScalarKind::floating;
                r.f = *f;
                return r;
            }
        }
    }
    return make_string();
}

std::string_view tag_of(ScalarKind k) {
    switch (k) {
        case ScalarKind::null: return kNull;
        case ScalarKind::boolean: return kBool;
        case ScalarKind::integer:
        case ScalarKind::big_integer: return kInt;
        case ScalarKind::floating: return kFloat;
        case ScalarKind::timestamp: return kTimestamp;
        case ScalarKind::merge: return "!!merge";
        case ScalarKind::string: break;
    }
    return kStr;
}

bool resolvable(std::string_view tag) {
    return tag.empty() || tag == kStr || tag == kBool || tag == kInt || tag == kFloat || tag == kNull || tag == kTimestamp;
}

Node to_leaf(const Resolved& r, std::string_view text) {
    switch (r.kind) {
        case ScalarKind::null: return Node::null_value();
        case ScalarKind::boolean: return Node::boolean(r.b);
        case ScalarKind::integer: return Node::integer(r.i);
        case ScalarKind::big_integer:
            throw Error("integer value does not fit in 64 bits (sops cannot handle it)", exit_code::could_not_read_input);
        case ScalarKind::floating: return Node::floating(r.f);
        case ScalarKind::timestamp: return Node::time(r.time);
        case ScalarKind::merge:
        case ScalarKind::string: break;
    }
    return Node::string(text);
}

Node decode_binary(std::string_view text) {
    std::string compact;
    for (char c : text)
        if (c != '\r' && c != '\n') compact.push_back(c);
    auto bytes = crypto::base64_decode(compact, true);
    wipe(compact);
    if (!bytes) throw Error("!!binary value contains invalid base64 data", exit_code::could_not_read_input);
    return Node::string(view_of(*bytes));
}

}  // namespace

Resolved resolve_plain(std::string_view text) { return resolve_core("", text); }

Node decode_scalar(std::string_view text, std::string_view tag, bool plain) {
    if (tag == "!") tag = {};  // the non-specific tag changes nothing for go-yaml
    if (tag == kStr || (tag.empty() && !plain)) return Node::string(text);
    if (tag == kBinary) return decode_binary(text);
    if (!resolvable(tag)) return Node::string(text);  // unknown tags keep the text
    Resolved r = resolve_core(tag, text);
    if (!tag.empty() && tag != tag_of(r.kind)) {
        if (tag == kFloat && r.kind == ScalarKind::integer) {
            r.kind = ScalarKind::floating;
            r.f = static_cast<double>(r.i);
        } else {
            throw Error("cannot decode " + std::string(tag_of(r.kind)) + " value as " + std::string(tag),
                        exit_code::could_not_read_input);
        }
    }
    return to_leaf(r, text);
}

bool is_yaml11_bool(std::string_view s) {
    static constexpr std::array<std::string_view, 16> words = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
                                                               "n", "N", "no", "No", "NO", "off", "Off", "OFF"};
    for (auto w : words)
        if (s == w) return true;
    return false;
}

// ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
bool is_base60_float(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && (is_digit(s[i]) || s[i] == '_')) ++i;
    int groups = 0;
    while (i < s.size() && s[i] == ':') {
        ++i;
        // [0-5]?[0-9]: one or two digits, the first of two at most 5.
        if (i + 1 < s.size() && s[i] >= '0' && s[i] <= '5' && is_digit(s[i + 1])) i += 2;
        else if (i < s.size() && is_digit(s[i])) i += 1;
        else return false;
        ++groups;
    }
    if (groups == 0) return false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && (is_digit(s[i]) || s[i] == '_')) ++i;
    }
    return i == s.size();
}

}  // namespace gitsops::sops::yaml
