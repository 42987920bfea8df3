#include "sops/json_store.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <system_error>

#include "base/error.hpp"
#include "sops/go_format.hpp"
#include "sops/store_util.hpp"
#include "sops/utf8.hpp"

namespace gitsops::sops {

namespace json {

namespace {

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    Node document(bool object_only) {
        skip_ws();
        if (pos_ >= s_.size()) fail("unexpected end of JSON input");
        if (object_only && s_[pos_] != '{')
            fail("SOPS only supports JSON files with a top-level object (starting with '{'); "
                 "wrap other values in an object, e.g. {\"data\": [...]}");
        Node v = value(0);
        skip_ws();
        if (pos_ < s_.size()) fail(describe(s_[pos_]) + " after top-level value");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        int line = 1, col = 1;
        for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
            if (s_[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        throw Error(std::to_string(line) + ":" + std::to_string(col), what, exit_code::could_not_read_input);
    }

    static std::string describe(char c) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
            static constexpr char hex[] = "0123456789abcdef";
            const auto u = static_cast<unsigned char>(c);
            return std::string("invalid character 0x") + hex[u >> 4] + hex[u & 15];
        }
        return std::string("invalid character '") + c + "'";
    }

    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }

    void expect(char c, const char* context) {
        skip_ws();
        if (pos_ >= s_.size()) fail("unexpected end of JSON input");
        if (s_[pos_] != c) fail(describe(s_[pos_]) + " " + context);
        ++pos_;
    }

    Node value(int depth) {
        skip_ws();
        if (pos_ >= s_.size()) fail("unexpected end of JSON input");
        const char c = s_[pos_];
        if (c == '{' || c == '[') {
            if (depth >= detail::kMaxNesting)
                fail("JSON nested deeper than " + std::to_string(detail::kMaxNesting) + " levels");
            return c == '{' ? object(depth + 1) : array(depth + 1);
        }
        if (c == '"') return Node::string(sv(string()));
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        if (literal("true")) return Node::boolean(true);
        if (literal("false")) return Node::boolean(false);
        if (literal("null")) return Node::null_value();
        fail(describe(c) + " looking for beginning of value");
    }

    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    // An empty object or array: its closing bracket follows at once.
    bool closes_at_once(char close) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == close) {
            ++pos_;
            return true;
        }
        return false;
    }

    // After a member or element: true when a comma announces another, false at the bracket.
    bool another(char close, const char* context) {
        skip_ws();
        if (pos_ >= s_.size()) fail("unexpected end of JSON input");
        if (s_[pos_] == ',') {
            ++pos_;
            return true;
        }
        if (s_[pos_] != close) fail(describe(s_[pos_]) + " " + context);
        ++pos_;
        return false;
    }

    Node object(int depth) {
        ++pos_;  // '{'
        Node m = Node::mapping();
        if (closes_at_once('}')) return m;
        do {
            skip_ws();
            if (pos_ >= s_.size()) fail("unexpected end of JSON input");
            if (s_[pos_] != '"') fail(describe(s_[pos_]) + " looking for beginning of object key string");
            SString key = string();
            expect(':', "after object key");
            m.items.push_back(MapItem{Node{}, value(depth)});
            m.items.back().key.type = Node::Type::string;
            m.items.back().key.text = std::move(key);
        } while (another('}', "after object key:value pair"));
        return m;
    }

    Node array(int depth) {
        ++pos_;  // '['
        Node a = Node::sequence();
        if (closes_at_once(']')) return a;
        do {
            a.elements.push_back(value(depth));
        } while (another(']', "after array element"));
        return a;
    }

    static void append_utf8(SString& out, char32_t r) {
        if (r < 0x80) {
            out.push_back(static_cast<char>(r));
        } else if (r < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (r >> 6)));
            out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
        } else if (r < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (r >> 12)));
            out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (r >> 18)));
            out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
        }
    }

    std::optional<char32_t> hex4(std::size_t at) const {
        if (at + 4 > s_.size()) return std::nullopt;
        char32_t v = 0;
        for (std::size_t i = at; i < at + 4; ++i) {
            const char c = s_[i];
            int d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
            else return std::nullopt;
            v = (v << 4) | static_cast<char32_t>(d);
        }
        return v;
    }

    // A string literal; Go decodes bad UTF-8 and lone surrogates as U+FFFD.
    SString string() {
        ++pos_;  // opening quote
        SString out;
        for (;;) {
            if (pos_ >= s_.size()) fail("unexpected end of JSON input");
            const char c = s_[pos_];
            const auto u = static_cast<unsigned char>(c);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (u < 0x20) fail(describe(c) + " in string literal");
            if (c == '\\') {
                escape(out);
                continue;
            }
            if (u < 0x80) {
                out.push_back(c);
                ++pos_;
                continue;
            }
            const utf8::Rune r = utf8::decode(s_, pos_);
            if (r.valid) out.append(s_.data() + pos_, r.width);
            else append_utf8(out, utf8::kReplacement);
            pos_ += r.width;
        }
    }

    void escape(SString& out) {
        const char e = pos_ + 1 < s_.size() ? s_[pos_ + 1] : '\0';
        pos_ += 2;
        switch (e) {
            case '"': out.push_back('"'); return;
            case '\\': out.push_back('\\'); return;
            case '/': out.push_back('/'); return;
            case 'b': out.push_back('\b'); return;
            case 'f': out.push_back('\f'); return;
            case 'n': out.push_back('\n'); return;
            case 'r': out.push_back('\r'); return;
            case 't': out.push_back('\t'); return;
            case 'u': break;
            default:
                pos_ -= 1;
                fail(describe(e) + " in string escape code");
        }
        auto r = hex4(pos_);
        if (!r) fail("invalid \\u escape in string literal");
        pos_ += 4;
        char32_t rune = *r;
        if (rune >= 0xD800 && rune < 0xE000) {
            // A surrogate: valid only as a high one followed by an escaped low one.
            std::optional<char32_t> low;
            if (rune < 0xDC00 && s_.substr(pos_, 2) == "\\u") low = hex4(pos_ + 2);
            if (low && *low >= 0xDC00 && *low < 0xE000) {
                rune = 0x10000 + ((rune - 0xD800) << 10) + (*low - 0xDC00);
                pos_ += 6;
            } else {
                rune = utf8::kReplacement;
            }
        }
        append_utf8(out, rune);
    }

    Node number() {
        const std::size_t start = pos_;
        if (s_[pos_] == '-') ++pos_;
        auto digits = [&] {
            const std::size_t from = pos_;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
            return pos_ - from;
        };
        if (pos_ >= s_.size()) fail("unexpected end of JSON input");
        if (s_[pos_] == '0') {
            ++pos_;
        } else if (digits() == 0) {
            fail(describe(s_[pos_]) + " in numeric literal");
        }
        bool integral = true;
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            integral = false;
            if (digits() == 0) fail(pos_ < s_.size() ? describe(s_[pos_]) + " after decimal point in numeric literal"
                                                     : "unexpected end of JSON input");
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            integral = false;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (digits() == 0) fail(pos_ < s_.size() ? describe(s_[pos_]) + " in exponent of numeric literal"
                                                     : "unexpected end of JSON input");
        }
        const std::string_view text = s_.substr(start, pos_ - start);
        if (integral) {
            std::int64_t i = 0;
            const auto res = std::from_chars(text.data(), text.data() + text.size(), i);
            if (res.ec == std::errc() && res.ptr == text.data() + text.size()) return Node::integer(i);
        }
        double f = 0;
        const auto res = std::from_chars(text.data(), text.data() + text.size(), f);
        if (res.ec == std::errc::result_out_of_range) {
            // Go: overflow is an error, underflow gives zero.
            const auto e = text.find_first_of("eE");
            const bool tiny = e != std::string_view::npos && text.size() > e + 1 && text[e + 1] == '-';
            if (!tiny) {
                pos_ = start;
                fail("number out of range for a 64-bit float");
            }
            f = text[0] == '-' ? -0.0 : 0.0;
        }
        return Node::floating(f);
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

void append_indent(std::string& out, const std::string& unit, int depth) {
    out.push_back('\n');
    for (int i = 0; i < depth; ++i) out += unit;
}

void append_scalar(std::string& out, const Node& v) {
    switch (v.type) {
        case Node::Type::null: out += "null"; return;
        case Node::Type::boolean: out += v.b ? "true" : "false"; return;
        case Node::Type::integer: out += std::to_string(v.i); return;
        case Node::Type::floating: out += format_float_json(v.f); return;
        case Node::Type::string:
        case Node::Type::time:
        case Node::Type::comment: append_quoted(out, sv(v.text)); return;
        case Node::Type::mapping:
        case Node::Type::sequence: break;
    }
}

void append_value(std::string& out, const Node& v, const std::string& unit, int depth, const Node* metadata);

void append_mapping(std::string& out, const Node& m, const std::string& unit, int depth, const Node* metadata) {
    bool empty = true;
    auto member = [&](std::string_view key, const Node& value) {
        out.push_back(empty ? '{' : ',');
        empty = false;
        append_indent(out, unit, depth + 1);
        append_quoted(out, key);
        out += ": ";
        append_value(out, value, unit, depth + 1, nullptr);
    };
    for (const auto& item : m.items)
        if (!item.is_comment()) member(sv(item.key.text), item.value);
    if (metadata) member(detail::kMetadataKey, *metadata);
    if (empty) {
        out += "{}";
        return;
    }
    append_indent(out, unit, depth);
    out.push_back('}');
}

void append_sequence(std::string& out, const Node& s, const std::string& unit, int depth) {
    bool empty = true;
    for (const auto& e : s.elements) {
        if (e.is_comment()) continue;
        out.push_back(empty ? '[' : ',');
        empty = false;
        append_indent(out, unit, depth + 1);
        append_value(out, e, unit, depth + 1, nullptr);
    }
    if (empty) {
        out += "[]";
        return;
    }
    append_indent(out, unit, depth);
    out.push_back(']');
}

void append_value(std::string& out, const Node& v, const std::string& unit, int depth, const Node* metadata) {
    if (v.type == Node::Type::mapping) append_mapping(out, v, unit, depth, metadata);
    else if (v.type == Node::Type::sequence) append_sequence(out, v, unit, depth);
    else append_scalar(out, v);
}

void append_comment_struct(std::string& out, const Node& c) {
    out += "{\"Value\":";
    append_quoted(out, sv(c.text));
    out += c.inline_comment ? ",\"Inline\":true}" : ",\"Inline\":false}";
}

void append_go(std::string& out, const Node& v) {
    if (v.type == Node::Type::comment) return append_comment_struct(out, v);
    if (v.type == Node::Type::sequence) {
        out.push_back('[');
        for (std::size_t i = 0; i < v.elements.size(); ++i) {
            if (i) out.push_back(',');
            append_go(out, v.elements[i]);
        }
        out.push_back(']');
        return;
    }
    if (v.type == Node::Type::mapping) {
        out.push_back('[');
        for (std::size_t i = 0; i < v.items.size(); ++i) {
            if (i) out.push_back(',');
            out += "{\"Key\":";
            append_go(out, v.items[i].key);
            out += ",\"Value\":";
            append_go(out, v.items[i].value);
            out.push_back('}');
        }
        out.push_back(']');
        return;
    }
    append_scalar(out, v);
}

}  // namespace

std::string marshal_go(const Node& value) {
    std::string out;
    append_go(out, value);
    return out;
}

Node parse_object(std::string_view text) { return Parser(text).document(true); }
Node parse_value(std::string_view text) { return Parser(text).document(false); }

void append_quoted(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            switch (b) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '<':
                case '>':
                case '&':
                    out += "\\u00";
                    out.push_back(hex[b >> 4]);
                    out.push_back(hex[b & 15]);
                    break;
                default:
                    if (b < 0x20) {
                        out += "\\u00";
                        out.push_back(hex[b >> 4]);
                        out.push_back(hex[b & 15]);
                    } else {
                        out.push_back(static_cast<char>(b));
                    }
            }
            ++i;
            continue;
        }
        const utf8::Rune r = utf8::decode(s, i);
        if (!r.valid) out += "\\ufffd";
        else if (r.value == 0x2028) out += "\\u2028";
        else if (r.value == 0x2029) out += "\\u2029";
        else out.append(s.data() + i, r.width);
        i += r.width;
    }
    out.push_back('"');
}

std::string indent_unit(int indent) {
    if (indent < -1) throw Error("JSON Indentation parameter smaller than -1 is not accepted", exit_code::error_dumping_tree);
    return indent == -1 ? std::string("\t") : std::string(static_cast<std::size_t>(indent), ' ');
}

std::string emit(const Node& value, const std::string& unit, const Node* metadata) {
    std::string out;
    append_value(out, value, unit, 0, metadata);
    return out;
}

}  // namespace json

namespace {

class JsonStore final : public Store {
public:
    explicit JsonStore(int indent) : indent_(indent) {}

    Documents load_plain(std::string_view text) const override {
        Documents docs;
        docs.push_back(json::parse_object(text));
        return docs;
    }

    std::pair<Documents, Node> load_encrypted(std::string_view text) const override {
        Documents docs = load_plain(text);
        Node metadata = detail::extract_metadata(docs);
        return {std::move(docs), std::move(metadata)};
    }

    std::string emit_plain(const Documents& docs) const override {
        return json::emit(first(docs), json::indent_unit(indent_)) + "\n";
    }

    std::string emit_encrypted(const Documents& docs, const Node& metadata) const override {
        for (const auto& item : first(docs).items)
            if (!item.is_comment()) detail::check_reserved_key(sv(item.key.text), false);
        return json::emit(docs[0], json::indent_unit(indent_), &metadata) + "\n";
    }

    // A string raw, a mapping as a file, anything else re-indented without a final newline.
    std::string emit_value(const Node& value) const override {
        if (value.type == Node::Type::string) return std::string(sv(value.text));
        if (value.type == Node::Type::mapping) return emit_plain(Documents{value});
        return json::emit(value, json::indent_unit(indent_));
    }

private:
    static const Node& first(const Documents& docs) {
        if (docs.empty()) throw Error("no document to write", exit_code::error_dumping_tree);
        return docs[0];
    }

    int indent_;
};

}  // namespace

std::unique_ptr<Store> make_json_store(int indent) { return std::make_unique<JsonStore>(indent); }

}  // namespace gitsops::sops
