#include "sops/go_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

#include "base/error.hpp"

namespace gitsops::sops {

namespace {

// A finite double as Go's decimal digits: value = 0.<digits> * 10^point, digits without
// leading or trailing zeros; zero has no digits and point 0.
struct Decimal {
    bool negative = false;
    std::string digits;
    int point = 0;
};

Decimal shortest_decimal(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view s(buf, static_cast<std::size_t>(res.ptr - buf));
    Decimal d;
    if (!s.empty() && s.front() == '-') {
        d.negative = true;
        s.remove_prefix(1);
    }
    const auto e = s.find('e');
    for (char c : s.substr(0, e))
        if (c != '.') d.digits.push_back(c);
    int exponent = 0;
    auto exp_text = s.substr(e + 1);
    if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
    if (d.digits == "0") {
        d.digits.clear();
        d.point = 0;
    } else {
        d.point = exponent + 1;
    }
    return d;
}

char digit_at(const Decimal& d, int i) {
    return i >= 0 && i < static_cast<int>(d.digits.size()) ? d.digits[static_cast<std::size_t>(i)] : '0';
}

// Go's %f layout of the digits with `decimals` digits after the point.
std::string layout_fixed(const Decimal& d, int decimals) {
    std::string out = d.negative ? "-" : "";
    if (d.point > 0) {
        for (int i = 0; i < d.point; ++i) out.push_back(digit_at(d, i));
    } else {
        out.push_back('0');
    }
    if (decimals > 0) {
        out.push_back('.');
        for (int i = 0; i < decimals; ++i) out.push_back(digit_at(d, d.point + i));
    }
    return out;
}

// Go's %e layout: one digit, `decimals` more after the point, then e±dd.
std::string layout_exponent(const Decimal& d, int decimals, char e) {
    std::string out = d.negative ? "-" : "";
    out.push_back(d.digits.empty() ? '0' : d.digits[0]);
    if (decimals > 0) {
        out.push_back('.');
        for (int i = 1; i <= decimals; ++i) out.push_back(digit_at(d, i));
    }
    int exp = d.digits.empty() ? 0 : d.point - 1;
    out.push_back(e);
    out.push_back(exp < 0 ? '-' : '+');
    if (exp < 0) exp = -exp;
    if (exp < 10) out.push_back('0');
    out += std::to_string(exp);
    return out;
}

int digit_count(const Decimal& d) { return static_cast<int>(d.digits.size()); }

std::string format_f(double v) {
    Decimal d = shortest_decimal(v);
    return layout_fixed(d, std::max(digit_count(d) - d.point, 0));
}

// Go 'g'/'G' with precision -1: exponent form when the exponent is < -4 or >= 6.
std::string format_g(double v, char e) {
    Decimal d = shortest_decimal(v);
    const int exp = d.point - 1;
    if (exp < -4 || exp >= 6) return layout_exponent(d, std::max(digit_count(d) - 1, 0), e);
    return layout_fixed(d, std::max(digit_count(d) - d.point, 0));
}

std::string go_special(double v) {
    if (std::isnan(v)) return "NaN";
    return v > 0 ? "+Inf" : "-Inf";
}

}  // namespace

std::string format_float_f(double v) {
    if (!std::isfinite(v)) return go_special(v);
    return format_f(v);
}

std::string format_float_yaml(double v) {
    if (std::isnan(v)) return ".nan";
    if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
    return format_g(v, 'e');
}

std::string format_float_json(double v) {
    if (!std::isfinite(v)) throw Error("json: unsupported value: " + go_special(v), exit_code::error_dumping_tree);
    const double a = std::fabs(v);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        Decimal d = shortest_decimal(v);
        std::string s = layout_exponent(d, std::max(digit_count(d) - 1, 0), 'e');
        // encoding/json shortens a two-digit negative exponent: e-07 -> e-7.
        const auto n = s.size();
        if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
        return s;
    }
    return format_f(v);
}

std::string format_float_text(double v) {
    if (!std::isfinite(v)) return go_special(v);
    std::string s = format_g(v, 'E');
    if (s.find('.') == std::string::npos && s.find('E') == std::string::npos) s += ".0";
    return s;
}

namespace {

class TimeParser {
public:
    explicit TimeParser(std::string_view s) : s_(s) {}

    std::optional<std::string> parse() {
        if (!number(4, 4, year_) || !literal('-') || !number(1, 2, month_) || !literal('-') || !number(1, 2, day_))
            return std::nullopt;
        if (at_end()) return valid_date() ? std::optional(render()) : std::nullopt;
        const char sep = s_[pos_++];
        if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
        if (!number(1, 2, hour_) || !literal(':') || !number(1, 2, minute_) || !literal(':') || !number(1, 2, second_))
            return std::nullopt;
        fraction();
        if (sep != ' ' && !zone()) return std::nullopt;
        if (!at_end() || !valid_date() || hour_ > 23 || minute_ > 59 || second_ > 59) return std::nullopt;
        return render();
    }

private:
    bool at_end() const { return pos_ == s_.size(); }
    bool is_digit(std::size_t i) const { return i < s_.size() && s_[i] >= '0' && s_[i] <= '9'; }

    bool literal(char c) {
        if (pos_ >= s_.size() || s_[pos_] != c) return false;
        ++pos_;
        return true;
    }

    // Go's getnum: `min` to `max` digits, greedy.
    bool number(int min, int max, int& out) {
        int n = 0, value = 0;
        while (n < max && is_digit(pos_)) {
            value = value * 10 + (s_[pos_++] - '0');
            ++n;
        }
        out = value;
        return n >= min;
    }

    // Optional ".ddd" or ",ddd": any number of digits, nanoseconds from the first nine.
    void fraction() {
        if (pos_ + 1 >= s_.size() || (s_[pos_] != '.' && s_[pos_] != ',') || !is_digit(pos_ + 1)) return;
        ++pos_;
        int n = 0;
        while (is_digit(pos_)) {
            if (n < 9) nanos_ = nanos_ * 10 + (s_[pos_] - '0');
            ++n;
            ++pos_;
        }
        for (; n < 9; ++n) nanos_ *= 10;
    }

    bool zone() {
        if (literal('Z')) return true;
        if (pos_ + 6 > s_.size() || s_[pos_ + 3] != ':') return false;
        const char sign = s_[pos_];
        if (sign != '+' && sign != '-') return false;
        if (!is_digit(pos_ + 1) || !is_digit(pos_ + 2) || !is_digit(pos_ + 4) || !is_digit(pos_ + 5)) return false;
        const int hh = (s_[pos_ + 1] - '0') * 10 + (s_[pos_ + 2] - '0');
        const int mm = (s_[pos_ + 4] - '0') * 10 + (s_[pos_ + 5] - '0');
        if (hh > 24 || mm > 60) return false;
        offset_minutes_ = (hh * 60 + mm) * (sign == '-' ? -1 : 1);
        pos_ += 6;
        return true;
    }

    bool valid_date() const {
        static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (month_ < 1 || month_ > 12 || day_ < 1) return false;
        const bool leap = (year_ % 4 == 0 && year_ % 100 != 0) || year_ % 400 == 0;
        const int limit = days[month_ - 1] + (month_ == 2 && leap ? 1 : 0);
        return day_ <= limit;
    }

    static void two(std::string& out, int v) {
        out.push_back(static_cast<char>('0' + v / 10 % 10));
        out.push_back(static_cast<char>('0' + v % 10));
    }

    std::string render() const {
        std::string out;
        two(out, year_ / 100);
        two(out, year_ % 100);
        out.push_back('-');
        two(out, month_);
        out.push_back('-');
        two(out, day_);
        out.push_back('T');
        two(out, hour_);
        out.push_back(':');
        two(out, minute_);
        out.push_back(':');
        two(out, second_);
        if (nanos_ != 0) {
            std::string frac = std::to_string(nanos_);
            frac.insert(0, 9 - frac.size(), '0');
            while (frac.back() == '0') frac.pop_back();
            out += '.' + frac;
        }
        if (offset_minutes_ == 0) {
            out.push_back('Z');
        } else {
            const int m = offset_minutes_ < 0 ? -offset_minutes_ : offset_minutes_;
            out.push_back(offset_minutes_ < 0 ? '-' : '+');
            two(out, m / 60);
            out.push_back(':');
            two(out, m % 60);
        }
        return out;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    int year_ = 0, month_ = 0, day_ = 0, hour_ = 0, minute_ = 0, second_ = 0;
    int nanos_ = 0;
    int offset_minutes_ = 0;
};

}  // namespace

std::optional<std::string> try_canonical_time(std::string_view yaml_timestamp) {
    return TimeParser(yaml_timestamp).parse();
}

std::string canonical_time(std::string_view yaml_timestamp) {
    auto t = try_canonical_time(yaml_timestamp);
    if (!t) throw Error("not a YAML timestamp (expected YYYY-MM-DD or RFC 3339)", exit_code::could_not_read_input);
    return *t;
}

}  // namespace gitsops::sops
