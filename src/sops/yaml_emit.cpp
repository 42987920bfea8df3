#include "sops/yaml_emit.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "crypto/crypto.hpp"
#include "sops/go_format.hpp"
#include "sops/utf8.hpp"
#include "sops/yaml_scalar.hpp"

namespace gitsops::sops::yaml {

namespace {

// ---------------------------------------------------------------------------------------------
// Byte classes, as go-yaml's emitter defines them (YAML 1.1 line breaks included).

std::uint8_t at(std::string_view s, std::size_t i) { return i < s.size() ? static_cast<std::uint8_t>(s[i]) : 0; }

std::size_t char_width(std::uint8_t b) {
    if ((b & 0x80) == 0x00) return 1;
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 3;
    if ((b & 0xF8) == 0xF0) return 4;
    return 1;  // stray byte: step over it (go-yaml never sees one; the encoder sends !!binary)
}

bool is_space(std::string_view s, std::size_t i) { return at(s, i) == ' '; }
bool is_blank(std::string_view s, std::size_t i) { return at(s, i) == ' ' || at(s, i) == '\t'; }

bool is_break(std::string_view s, std::size_t i) {
    const auto c = at(s, i);
    return c == '\r' || c == '\n' || (c == 0xC2 && at(s, i + 1) == 0x85) ||
           (c == 0xE2 && at(s, i + 1) == 0x80 && (at(s, i + 2) == 0xA8 || at(s, i + 2) == 0xA9));
}

// LS and PS: go-yaml writes them raw in single-quoted and literal text, as line breaks followed
// by indentation, and reads them back so; yaml-cpp (the reader here) takes them as ordinary
// characters and keeps the indentation, and the YAML reader refuses them raw. Written in double
// quotes as \L and \P (go-yaml writes NEL so already: not printable), both read them alike.
bool is_line_separator(std::string_view s, std::size_t i) {
    return at(s, i) == 0xE2 && at(s, i + 1) == 0x80 && (at(s, i + 2) == 0xA8 || at(s, i + 2) == 0xA9);
}

bool is_blank_or_end(std::string_view s, std::size_t i) { return i >= s.size() || is_blank(s, i) || is_break(s, i); }

bool is_printable(std::string_view s, std::size_t i) {
    const auto c = at(s, i), c1 = at(s, i + 1), c2 = at(s, i + 2);
    return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c == 0xC2 && c1 >= 0xA0) || (c > 0xC2 && c < 0xED) ||
           (c == 0xED && c1 < 0xA0) || c == 0xEE ||
           (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)));
}

bool starts_with_bom(std::string_view s) { return at(s, 0) == 0xEF && at(s, 1) == 0xBB && at(s, 2) == 0xBF; }

// ---------------------------------------------------------------------------------------------
// Scalar analysis: which presentation styles can carry a value unchanged.

struct Analysis {
    bool multiline = false;
    bool flow_plain = true;
    bool block_plain = true;
    bool single_quoted = true;
    bool block = true;
};

// What go-yaml's analysis notes while it walks a value, and the styles that follow from it.
struct Scan {
    bool block_ind = false, flow_ind = false, breaks = false, special = false, tabs = false;
    bool lead_space = false, lead_break = false, trail_space = false, trail_break = false;
    bool break_space = false, space_break = false, prev_space = false, prev_break = false;

    explicit Scan(std::string_view v) {
        if (v.size() >= 3 && (v.substr(0, 3) == "---" || v.substr(0, 3) == "...")) block_ind = flow_ind = true;
    }

    void indicator(char c, bool first, bool followed_by_ws, bool preceded_by_ws) {
        if (first) {
            switch (c) {
                case '#': case ',': case '[': case ']': case '{': case '}': case '&': case '*':
                case '!': case '|': case '>': case '\'': case '"': case '%': case '@': case '`':
                    flow_ind = block_ind = true;
                    break;
                case '?': case ':':
                    flow_ind = true;
                    if (followed_by_ws) block_ind = true;
                    break;
                case '-':
                    if (followed_by_ws) flow_ind = block_ind = true;
                    break;
                default: break;
            }
        } else {
            switch (c) {
                case ',': case '?': case '[': case ']': case '{': case '}':
                    flow_ind = true;
                    break;
                case ':':
                    flow_ind = true;
                    if (followed_by_ws) block_ind = true;
                    break;
                case '#':
                    if (preceded_by_ws) flow_ind = block_ind = true;
                    break;
                default: break;
            }
        }
    }

    void space(bool first, bool last) {
        if (first) lead_space = true;
        if (last) trail_space = true;
        if (prev_break) break_space = true;
        prev_space = true;
        prev_break = false;
    }
    void line_break(bool first, bool last) {
        breaks = true;
        if (first) lead_break = true;
        if (last) trail_break = true;
        if (prev_space) space_break = true;
        prev_space = false;
        prev_break = true;
    }
    void other() { prev_space = prev_break = false; }

    Analysis result() const {
        Analysis a;
        a.multiline = breaks;
        if (lead_space || lead_break || trail_space || trail_break) a.flow_plain = a.block_plain = false;
        if (trail_space) a.block = false;
        if (break_space) a.flow_plain = a.block_plain = a.single_quoted = false;
        if (space_break || tabs || special) a.flow_plain = a.block_plain = a.single_quoted = false;
        if (space_break || special) a.block = false;
        if (breaks) a.flow_plain = a.block_plain = false;
        if (flow_ind) a.flow_plain = false;
        if (block_ind) a.block_plain = false;
        return a;
    }
};

// Printable ASCII and '\n' (encrypted values, base64, armored age keys, most plaintext): every
// character is one byte, ' ' the only blank and '\n' the only break, so the byte classes need
// no look-ahead.
bool is_ascii_text(std::string_view v) {
    for (char c : v)
        if ((c < ' ' && c != '\n') || c > '~') return false;
    return true;
}

Analysis analyze_ascii(std::string_view v) {
    Scan s(v);
    const std::size_t n = v.size();
    auto ws_at = [&](std::size_t i) { return i >= n || v[i] == ' ' || v[i] == '\n'; };
    s.indicator(v[0], true, ws_at(1), true);
    for (std::size_t i = 0; i < n; ++i) {
        // The indicators after the first character, as Scan::indicator has them, inline: most
        // characters are letters, digits and base64 and take the default branch.
        switch (v[i]) {
            case ' ': s.space(i == 0, i + 1 == n); continue;
            case '\n': s.line_break(i == 0, i + 1 == n); continue;
            case ',': case '?': case '[': case ']': case '{': case '}':
                if (i > 0) s.flow_ind = true;
                break;
            case ':':
                if (i > 0) {
                    s.flow_ind = true;
                    if (ws_at(i + 1)) s.block_ind = true;
                }
                break;
            case '#':
                if (i > 0 && ws_at(i - 1)) s.flow_ind = s.block_ind = true;
                break;
            default: break;
        }
        s.other();
    }
    return s.result();
}

Analysis analyze(std::string_view v) {
    if (v.empty()) {
        Analysis a;
        a.flow_plain = false;
        a.block = false;
        return a;
    }
    if (is_ascii_text(v)) return analyze_ascii(v);
    Scan s(v);
    bool preceded_by_ws = true;
    for (std::size_t i = 0; i < v.size();) {
        const std::size_t w = char_width(at(v, i));
        const bool followed_by_ws = i + w >= v.size() || is_blank(v, i + w) || is_break(v, i + w);
        s.indicator(v[i], i == 0, followed_by_ws, preceded_by_ws);
        if (v[i] == '\t') s.tabs = true;
        else if (!is_printable(v, i) || is_line_separator(v, i)) s.special = true;
        if (is_space(v, i)) s.space(i == 0, i + w == v.size());
        else if (is_break(v, i)) s.line_break(i == 0, i + w == v.size());
        else s.other();
        preceded_by_ws = is_blank_or_end(v, i);
        i += w;
    }
    return s.result();
}

enum class Style : std::uint8_t { plain, single_quoted, double_quoted, literal };

// go-yaml's choice of style for a requested one, in block context.
Style choose_style(Style wanted, const Analysis& a, bool empty, bool simple_key) {
    Style s = wanted;
    if (simple_key && a.multiline) s = Style::double_quoted;
    if (s == Style::plain && (!a.block_plain || (empty && simple_key))) s = Style::single_quoted;
    if (s == Style::single_quoted && !a.single_quoted) s = Style::double_quoted;
    if (s == Style::literal && (!a.block || simple_key)) s = Style::double_quoted;
    return s;
}

// ---------------------------------------------------------------------------------------------
// go-yaml nodes as sops builds them from the tree.

struct YNode {
    enum class Kind : std::uint8_t { mapping, sequence, scalar } kind = Kind::scalar;
    Style style = Style::plain;
    std::string_view tag;  // suffix of an explicit "!!" tag ("binary", "merge"), usually none
    const SString* borrowed = nullptr;  // a string leaf of the tree, or null
    SString owned;                      // generated text (numbers, base64, ...)
    SString head, line, foot;           // comments, "#text" lines joined by '\n'
    std::vector<YNode> content;
    std::optional<Analysis> analysis;   // of value(), when the style was chosen from it

    std::string_view value() const { return borrowed ? sv(*borrowed) : sv(owned); }
};

using CommentList = std::vector<std::string_view>;

SString join_comments(const CommentList& lines) {
    SString out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i) out.push_back('\n');
        out.push_back('#');
        out.append(lines[i].data(), lines[i].size());
    }
    return out;
}

void add_head(YNode& n, CommentList& lines) {
    if (lines.empty()) return;
    SString c = join_comments(lines);
    if (!n.head.empty()) {
        c.push_back('\n');
        c += n.head;
    }
    n.head = std::move(c);
    lines.clear();
}

void add_after(SString& slot, CommentList& lines) {
    if (lines.empty()) return;
    if (!slot.empty()) slot.push_back('\n');
    slot += join_comments(lines);
    lines.clear();
}

SString base64_lines(std::string_view raw) {
    const std::string b64 = crypto::base64_encode(bytes_of(raw), true);
    constexpr std::size_t kLine = 70;
    SString out;
    const bool several = b64.size() >= kLine;
    for (std::size_t i = 0; i < b64.size(); i += kLine) {
        out.append(b64, i, kLine);
        if (several) out.push_back('\n');
    }
    return out;
}

// The style go-yaml's encoder gives a string (requested, then settled by a round trip through
// the emitter in document-root context, exactly as sops' Node.Encode does).
YNode string_node(const SString& text) {
    YNode n;
    std::string_view s = sv(text);
    Style wanted;
    if (!utf8::valid(s)) {
        n.tag = "binary";
        n.owned = base64_lines(s);
        wanted = n.owned.find('\n') != SString::npos ? Style::literal : Style::plain;
    } else {
        n.borrowed = &text;
        // go-yaml's parser tags a plain "<<" !!merge, and its encoder keeps a tag that the plain
        // text would not resolve to: sops writes the string "<<" as `!!merge <<`.
        if (s == "<<") n.tag = "merge";
        if (s.find('\n') != std::string_view::npos) {
            wanted = Style::literal;
        } else {
            const auto r = resolve_plain(s);
            const bool plain_ok = r.kind == ScalarKind::string && !is_base60_float(s) && !is_yaml11_bool(s);
            wanted = plain_ok ? Style::plain : Style::double_quoted;
        }
    }
    const std::string_view v = n.value();
    n.analysis = analyze(v);
    n.style = choose_style(wanted, *n.analysis, v.empty(), false);
    return n;
}

YNode plain_node(std::string text) {
    YNode n;
    n.owned = to_sstring(text);
    return n;
}

YNode scalar_node(const Node& v) {
    switch (v.type) {
        case Node::Type::null: return plain_node("null");
        case Node::Type::boolean: return plain_node(v.b ? "true" : "false");
        case Node::Type::integer: return plain_node(std::to_string(v.i));
        case Node::Type::floating: return plain_node(format_float_yaml(v.f));
        case Node::Type::time: {
            YNode n;
            n.borrowed = &v.text;
            return n;
        }
        case Node::Type::string:
        case Node::Type::comment: return string_node(v.text);
        case Node::Type::mapping:
        case Node::Type::sequence: break;
    }
    throw std::logic_error("scalar_node: container");
}

YNode value_node(const Node& v);

const SString& sops_key() {
    static const SString key = to_sstring("sops");
    return key;
}

// `extra` is the metadata mapping appended as key "sops" after every item (and so after any
// trailing comments, which become its head comment, as in sops).
YNode mapping_node(const Node& m, const Node* extra = nullptr) {
    YNode out;
    out.kind = YNode::Kind::mapping;
    CommentList head, inline_lines;
    bool beginning = true;
    auto add_pair = [&](const SString& key_text, const Node& value_tree) {
        if (beginning) {
            add_head(out, head);
            beginning = false;
        }
        YNode key = string_node(key_text);
        add_head(key, head);
        YNode value = value_node(value_tree);
        add_after(value.line, inline_lines);
        out.content.push_back(std::move(key));
        out.content.push_back(std::move(value));
    };
    for (const auto& item : m.items) {
        if (item.is_comment()) {
            (item.key.inline_comment ? inline_lines : head).push_back(sv(item.key.text));
            continue;
        }
        add_pair(item.key.text, item.value);
    }
    if (extra) add_pair(sops_key(), *extra);
    head.insert(head.end(), inline_lines.begin(), inline_lines.end());
    if (beginning) add_head(out, head);
    else add_after(out.content[out.content.size() - 2].foot, head);
    return out;
}

YNode sequence_node(const Node& s) {
    YNode out;
    out.kind = YNode::Kind::sequence;
    CommentList head, inline_lines;
    bool beginning = true;
    for (const auto& element : s.elements) {
        if (element.is_comment()) {
            (element.inline_comment ? inline_lines : head).push_back(sv(element.text));
            continue;
        }
        if (beginning) {
            add_head(out, head);
            beginning = false;
        }
        YNode item = value_node(element);
        add_head(item, head);
        add_after(item.line, inline_lines);
        out.content.push_back(std::move(item));
    }
    head.insert(head.end(), inline_lines.begin(), inline_lines.end());
    if (beginning) add_head(out, head);
    else add_after(out.content.back().foot, head);
    return out;
}

YNode value_node(const Node& v) {
    if (v.type == Node::Type::mapping) return mapping_node(v);
    if (v.type == Node::Type::sequence) return sequence_node(v);
    return scalar_node(v);
}

// ---------------------------------------------------------------------------------------------
// Events and the emitter.

enum class EventType : std::uint8_t { document_start, document_end, mapping_start, mapping_end, sequence_start, sequence_end, scalar, stream_end };

struct Event {
    EventType type;
    const YNode* node = nullptr;  // scalars and collection starts
    std::string_view head, line, foot, tail;
};

enum class State : std::uint8_t {
    first_document_start, document_start, document_content, document_end,
    flow_sequence_first_item, flow_mapping_first_key,
    block_sequence_first_item, block_sequence_item,
    block_mapping_first_key, block_mapping_key, block_mapping_simple_value, block_mapping_value,
    end,
};

class Emitter {
public:
    explicit Emitter(int indent) : best_indent_(indent < 2 || indent > 9 ? 2 : indent) {}

    void emit(const Event& e) {
        take_comments(e);
        if (e.type == EventType::scalar) prepare_scalar(*e.node);
        dispatch(e);
    }

    std::string take_output() { return std::move(out_); }

private:
    // ---- output primitives -----------------------------------------------------------------
    void put(char c) {
        out_.push_back(c);
        ++column_;
    }
    void put_break() {
        out_.push_back('\n');
        column_ = 0;
        indention_ = true;
    }
    void write_char(std::string_view s, std::size_t& i) {
        const std::size_t w = std::min(char_width(at(s, i)), s.size() - i);
        out_.append(s.data() + i, w);
        ++column_;
        i += w;
    }
    void write_all(std::string_view s) {
        for (std::size_t i = 0; i < s.size();) write_char(s, i);
    }
    void write_break(std::string_view s, std::size_t& i) {
        if (s[i] == '\n') {
            put_break();
            ++i;
            return;
        }
        write_char(s, i);
        column_ = 0;
        indention_ = true;
    }
    void write_indent() {
        const int indent = indent_ < 0 ? 0 : indent_;
        if (!indention_ || column_ > indent || (column_ == indent && !whitespace_)) put_break();
        if (foot_indent_ == indent) put_break();
        while (column_ < indent) put(' ');
        whitespace_ = true;
        foot_indent_ = -1;
    }
    void write_indicator(std::string_view text, bool need_whitespace, bool is_whitespace, bool is_indention) {
        if (need_whitespace && !whitespace_) put(' ');
        write_all(text);
        whitespace_ = is_whitespace;
        indention_ = indention_ && is_indention;
    }
    void write_comment(std::string_view c) {
        bool breaks = false, pound = false;
        for (std::size_t i = 0; i < c.size();) {
            if (is_break(c, i)) {
                write_break(c, i);
                breaks = true;
                pound = false;
                continue;
            }
            if (breaks) write_indent();
            if (!pound) {
                if (c[i] != '#') {
                    put('#');
                    put(' ');
                }
                pound = true;
            }
            write_char(c, i);
            indention_ = false;
            breaks = false;
        }
        if (!breaks) put_break();
        whitespace_ = true;
    }

    // ---- indentation and states --------------------------------------------------------------
    void increase_indent(bool flow) {
        indents_.push_back(indent_);
        if (indent_ < 0) {
            indent_ = flow ? best_indent_ : 0;
        } else if (!states_.empty() && states_.back() == State::block_sequence_item) {
            indent_ += 2;  // the first level inside a sequence item only skips "- "
        } else {
            indent_ = best_indent_ * ((indent_ + best_indent_) / best_indent_);
        }
    }
    void pop_indent() {
        indent_ = indents_.back();
        indents_.pop_back();
    }
    void pop_state() {
        state_ = states_.back();
        states_.pop_back();
    }

    // ---- comments ----------------------------------------------------------------------------
    // Like go-yaml, a comment slot is only overwritten by a non-empty comment, so a comment that
    // was not written yet waits for the next place that writes that kind of comment.
    void take_comments(const Event& e) {
        if (!e.head.empty()) head_ = e.head;
        if (!e.line.empty()) line_ = e.line;
        if (!e.foot.empty()) foot_ = e.foot;
        if (!e.tail.empty()) tail_ = e.tail;
    }
    void process_head_comment() {
        if (!tail_.empty()) {
            write_indent();
            write_comment(tail_);
            tail_ = {};
            foot_indent_ = indent_ < 0 ? 0 : indent_;
        }
        if (head_.empty()) return;
        write_indent();
        write_comment(head_);
        head_ = {};
    }
    void process_line_comment() {
        if (line_.empty()) return;
        if (!whitespace_) put(' ');
        write_comment(line_);
        line_ = {};
    }
    void process_foot_comment() {
        if (foot_.empty()) return;
        write_indent();
        write_comment(foot_);
        foot_ = {};
        foot_indent_ = indent_ < 0 ? 0 : indent_;
    }

    // ---- dispatch ----------------------------------------------------------------------------
    void dispatch(const Event& e) {
        switch (state_) {
            case State::first_document_start: return document_start(e, true);
            case State::document_start: return document_start(e, false);
            case State::document_content: return document_content(e);
            case State::document_end: return document_end(e);
            case State::flow_sequence_first_item: return flow_sequence_end(e);
            case State::flow_mapping_first_key: return flow_mapping_end(e);
            case State::block_sequence_first_item: return block_sequence_item(e, true);
            case State::block_sequence_item: return block_sequence_item(e, false);
            case State::block_mapping_first_key: return block_mapping_key(e, true);
            case State::block_mapping_key: return block_mapping_key(e, false);
            case State::block_mapping_simple_value: return block_mapping_value(e, true);
            case State::block_mapping_value: return block_mapping_value(e, false);
            case State::end: break;
        }
        throw std::logic_error("yaml emitter: event after stream end");
    }

    void document_start(const Event& e, bool first) {
        if (e.type == EventType::stream_end) {
            state_ = State::end;
            return;
        }
        if (!first) {  // every document after the first starts with a "---" line
            write_indent();
            write_indicator("---", true, false, false);
            write_indent();
        }
        if (!head_.empty()) {
            process_head_comment();
            put_break();
        }
        state_ = State::document_content;
    }

    void document_content(const Event& e) {
        states_.push_back(State::document_end);
        process_head_comment();
        node(e, true, false, false);
        process_line_comment();
        process_foot_comment();
    }

    void document_end(const Event&) {
        foot_indent_ = 0;  // go-yaml separates a document's foot comment by a blank line
        process_foot_comment();
        foot_indent_ = -1;
        write_indent();
        state_ = State::document_start;
    }

    // Flow collections only appear empty here ({} and []), so the next event ends them.
    void flow_sequence_end(const Event& e) {
        write_indicator("[", true, true, false);
        increase_indent(true);
        if (e.type != EventType::sequence_end) throw std::logic_error("yaml emitter: non-empty flow sequence");
        pop_indent();
        if (column_ == 0) write_indent();
        write_indicator("]", false, false, false);
        process_line_comment();
        process_foot_comment();
        pop_state();
    }

    void flow_mapping_end(const Event& e) {
        write_indicator("{", true, true, false);
        increase_indent(true);
        if (e.type != EventType::mapping_end) throw std::logic_error("yaml emitter: non-empty flow mapping");
        process_head_comment();
        pop_indent();
        write_indicator("}", false, false, false);
        process_line_comment();
        process_foot_comment();
        pop_state();
    }

    void block_sequence_item(const Event& e, bool first) {
        if (first) increase_indent(false);
        if (e.type == EventType::sequence_end) {
            pop_indent();
            pop_state();
            return;
        }
        process_head_comment();
        write_indent();
        write_indicator("-", true, false, true);
        states_.push_back(State::block_sequence_item);
        node(e, false, false, false);
        process_line_comment();
        process_foot_comment();
    }

    void block_mapping_key(const Event& e, bool first) {
        if (first) increase_indent(false);
        process_head_comment();
        if (e.type == EventType::mapping_end) {
            pop_indent();
            pop_state();
            return;
        }
        write_indent();
        if (!line_.empty()) {  // a line comment on a key is written after its value
            key_line_ = line_;
            line_ = {};
        }
        if (simple_key(e)) {
            states_.push_back(State::block_mapping_simple_value);
            node(e, false, true, true);
        } else {
            write_indicator("?", true, false, true);
            states_.push_back(State::block_mapping_value);
            node(e, false, true, false);
        }
    }

    void block_mapping_value(const Event& e, bool simple) {
        if (simple) {
            write_indicator(":", false, false, false);
        } else {
            write_indent();
            write_indicator(":", true, false, true);
        }
        if (!key_line_.empty()) {
            if (e.type == EventType::scalar) {
                if (line_.empty()) {
                    line_ = key_line_;
                    key_line_ = {};
                }
            } else if (e.type == EventType::mapping_start || e.type == EventType::sequence_start) {
                // A block follows on the next lines: the key's comment goes on this line now.
                std::swap(line_, key_line_);
                process_line_comment();
                std::swap(line_, key_line_);
            }
        }
        states_.push_back(State::block_mapping_key);
        node(e, false, true, false);
        process_line_comment();
        process_foot_comment();
    }

    bool simple_key(const Event& e) const {
        if (e.type != EventType::scalar) return false;  // sops keys are always scalars
        if (scalar_.analysis.multiline) return false;
        const std::size_t tag_len = e.node->tag.empty() ? 0 : 2 + e.node->tag.size();
        return scalar_.value.size() + tag_len <= 128;
    }

    void node(const Event& e, bool root, bool mapping, bool key) {
        (void)root;
        (void)mapping;
        simple_key_context_ = key;
        switch (e.type) {
            case EventType::scalar: return scalar(e);
            case EventType::sequence_start:
                state_ = e.node->content.empty() ? State::flow_sequence_first_item : State::block_sequence_first_item;
                return;
            case EventType::mapping_start:
                state_ = e.node->content.empty() ? State::flow_mapping_first_key : State::block_mapping_first_key;
                return;
            default: break;
        }
        throw std::logic_error("yaml emitter: expected a node");
    }

    // ---- scalars -----------------------------------------------------------------------------
    struct ScalarData {
        std::string_view value;
        Analysis analysis;
        Style style = Style::plain;
    };

    void prepare_scalar(const YNode& n) {
        scalar_.value = n.value();
        scalar_.analysis = n.analysis ? *n.analysis : analyze(scalar_.value);
    }

    void scalar(const Event& e) {
        scalar_.style = choose_style(e.node->style, scalar_.analysis, scalar_.value.empty(), simple_key_context_);
        if (!e.node->tag.empty()) {
            if (!whitespace_) put(' ');
            write_all("!!");
            write_all(e.node->tag);
            whitespace_ = false;
            indention_ = false;
        }
        increase_indent(true);
        if (scalar_.style == Style::literal && needs_indent_hint(scalar_.value)) {
            indent_hint_ = indent_ - block_parent_column();
            if (indent_hint_ < 1 || indent_hint_ > 9) scalar_.style = Style::double_quoted;
        }
        switch (scalar_.style) {
            case Style::plain: write_plain(scalar_.value); break;
            case Style::single_quoted: write_single_quoted(scalar_.value); break;
            case Style::double_quoted: write_double_quoted(scalar_.value); break;
            case Style::literal: write_literal(scalar_.value); break;
        }
        pop_indent();
        pop_state();
    }

    // Text whose line breaks are kept: each line after a break starts at the indentation. In
    // plain and single-quoted text a '\n' is written twice, since a single one would fold.
    template <class BeforeChar>
    void write_lines(std::string_view v, bool breaks, bool double_newlines, BeforeChar&& before_char) {
        for (std::size_t i = 0; i < v.size();) {
            if (is_break(v, i)) {
                if (double_newlines && !breaks && v[i] == '\n') put_break();
                write_break(v, i);
                breaks = true;
            } else {
                if (breaks) write_indent();
                before_char(v[i]);
                write_char(v, i);
                indention_ = false;
                breaks = false;
            }
        }
    }

    // write_lines for text with nothing to add before a character, a line at a time when every
    // character is one ASCII byte and '\n' is the only break.
    void write_text_lines(std::string_view v, bool breaks, bool double_newlines) {
        if (!is_ascii_text(v)) return write_lines(v, breaks, double_newlines, [](char) {});
        for (std::size_t i = 0; i < v.size();) {
            if (v[i] == '\n') {
                if (double_newlines && !breaks) put_break();
                put_break();
                breaks = true;
                ++i;
                continue;
            }
            const std::size_t end = std::min(v.find('\n', i), v.size());
            if (breaks) write_indent();
            out_.append(v.substr(i, end - i));
            column_ += static_cast<int>(end - i);
            indention_ = false;
            breaks = false;
            i = end;
        }
    }

    void write_plain(std::string_view v) {
        if (!v.empty() && !whitespace_) put(' ');
        write_text_lines(v, false, true);
        if (!v.empty()) whitespace_ = false;
        indention_ = false;
    }

    void write_single_quoted(std::string_view v) {
        write_indicator("'", true, false, false);
        write_lines(v, false, true, [this](char c) {
            if (c == '\'') put('\'');
        });
        write_indicator("'", false, false, false);
        whitespace_ = false;
        indention_ = false;
    }

    void put_hex(char32_t v, int digits) {
        static constexpr char hex[] = "0123456789ABCDEF";
        for (int k = (digits - 1) * 4; k >= 0; k -= 4) put(hex[(v >> k) & 0xF]);
    }

    void write_escape(char32_t v) {
        put('\\');
        switch (v) {
            case 0x00: put('0'); return;
            case 0x07: put('a'); return;
            case 0x08: put('b'); return;
            case 0x09: put('t'); return;
            case 0x0A: put('n'); return;
            case 0x0B: put('v'); return;
            case 0x0C: put('f'); return;
            case 0x0D: put('r'); return;
            case 0x1B: put('e'); return;
            case 0x22: put('"'); return;
            case 0x5C: put('\\'); return;
            case 0x85: put('N'); return;
            case 0xA0: put('_'); return;
            case 0x2028: put('L'); return;
            case 0x2029: put('P'); return;
            default: break;
        }
        if (v <= 0xFF) {
            put('x');
            put_hex(v, 2);
        } else if (v <= 0xFFFF) {
            put('u');
            put_hex(v, 4);
        } else {
            put('U');
            put_hex(v, 8);
        }
    }

    void write_double_quoted(std::string_view v) {
        write_indicator("\"", true, false, false);
        // go-yaml tests for a byte order mark at the start of the value at every position, so
        // a value starting with one is escaped throughout.
        const bool bom = starts_with_bom(v);
        for (std::size_t i = 0; i < v.size();) {
            if (!is_printable(v, i) || bom || is_break(v, i) || v[i] == '"' || v[i] == '\\') {
                const std::size_t w = std::min(char_width(at(v, i)), v.size() - i);
                char32_t r = w == 1 ? at(v, i) : at(v, i) & (0xFFu >> (w + 1));
                for (std::size_t k = 1; k < w; ++k) r = (r << 6) | (at(v, i + k) & 0x3Fu);
                i += w;
                write_escape(r);
            } else {
                write_char(v, i);
            }
        }
        write_indicator("\"", false, false, false);
        whitespace_ = false;
        indention_ = false;
    }

    std::size_t previous_char(std::string_view v, std::size_t i) const {
        while (i > 0 && (at(v, i) & 0xC0) == 0x80) --i;
        return i;
    }

    static bool needs_indent_hint(std::string_view v) { return is_space(v, 0) || is_break(v, 0); }

    // A literal starting with a space or a line break needs an indentation indicator, which
    // readers take relative to the key's column (a mapping value) or the '-' (a sequence item).
    // go-yaml writes its indentation step there, which is right for a key at the start of a line
    // but not for the items of a sequence or a mapping inside one ("- k: |4" with the text 2 to
    // the right of "k"): neither go-yaml nor yaml-cpp can read that back (sops 3.13 writes it so).
    // The indicator is the real distance instead; double quotes when no digit fits.
    int block_parent_column() const {
        const std::size_t last_break = out_.rfind('\n');
        const std::string_view line =
            std::string_view(out_).substr(last_break == std::string::npos ? 0 : last_break + 1);
        std::size_t i = line.find_first_not_of(' ');
        std::size_t dash = std::string_view::npos;
        while (i != std::string_view::npos && i + 1 < line.size() && line[i] == '-' && line[i + 1] == ' ') {
            dash = i;
            i = line.find_first_not_of(' ', i + 2);
        }
        const bool item = i == std::string_view::npos || line[i] == '!';  // "- " or "- !!tag "
        return static_cast<int>(item && dash != std::string_view::npos ? dash : std::min(i, line.size()));
    }

    void write_block_hints(std::string_view v) {
        if (needs_indent_hint(v)) {
            const char digit = static_cast<char>('0' + indent_hint_);
            write_indicator(std::string_view(&digit, 1), false, false, false);
        }
        char chomp = 0;
        if (v.empty()) {
            chomp = '-';
        } else {
            std::size_t i = previous_char(v, v.size() - 1);
            if (!is_break(v, i)) chomp = '-';
            else if (i == 0) chomp = '+';
            else if (is_break(v, previous_char(v, i - 1))) chomp = '+';
        }
        if (chomp) write_indicator(std::string_view(&chomp, 1), false, false, false);
    }

    void write_literal(std::string_view v) {
        write_indicator("|", true, false, false);
        write_block_hints(v);
        // go.yaml.in/yaml/v3 3.0.4 (sops >= 3.11) ends the header line itself, so a value that
        // starts with a line break keeps it (gopkg.in/yaml.v3 3.0.1 lost it).
        if (line_.empty()) put_break();
        else process_line_comment();
        whitespace_ = true;
        write_text_lines(v, true, false);
    }

    std::string out_;
    int best_indent_;
    int indent_hint_ = 0;
    int indent_ = -1;
    std::vector<int> indents_;
    State state_ = State::first_document_start;
    std::vector<State> states_;
    int column_ = 0;
    bool whitespace_ = true;
    bool indention_ = true;
    int foot_indent_ = -1;
    bool simple_key_context_ = false;
    std::string_view head_, line_, foot_, tail_, key_line_;
    ScalarData scalar_;
};

// go-yaml's encoder walk: a key's foot comment is handed on as the "tail" of the next key (or
// of the mapping end), so it is written after the whole value.
class Encoder {
public:
    explicit Encoder(Emitter& emitter) : emitter_(emitter) {}

    void document(const YNode& root) {
        emitter_.emit({EventType::document_start, nullptr, {}, {}, {}, {}});
        node(root, {});
        emitter_.emit({EventType::document_end, nullptr, {}, {}, {}, {}});
    }

private:
    void node(const YNode& n, std::string_view tail) {
        switch (n.kind) {
            case YNode::Kind::scalar:
                emitter_.emit({EventType::scalar, &n, sv(n.head), sv(n.line), sv(n.foot), tail});
                return;
            case YNode::Kind::sequence:
                emitter_.emit({EventType::sequence_start, &n, sv(n.head), {}, {}, {}});
                for (const auto& c : n.content) node(c, {});
                emitter_.emit({EventType::sequence_end, nullptr, {}, sv(n.line), sv(n.foot), {}});
                return;
            case YNode::Kind::mapping: {
                emitter_.emit({EventType::mapping_start, &n, sv(n.head), {}, {}, tail});
                std::string_view pending;
                for (std::size_t i = 0; i + 1 < n.content.size(); i += 2) {
                    const YNode& key = n.content[i];
                    emitter_.emit({EventType::scalar, &key, sv(key.head), sv(key.line), {}, pending});
                    pending = sv(key.foot);
                    node(n.content[i + 1], {});
                }
                emitter_.emit({EventType::mapping_end, nullptr, {}, sv(n.line), sv(n.foot), pending});
                return;
            }
        }
    }

    Emitter& emitter_;
};

}  // namespace

std::string emit_documents(const Documents& docs, int indent, const Node* metadata) {
    Emitter emitter(indent);
    Encoder encoder(emitter);
    for (const auto& doc : docs) {
        const YNode root = mapping_node(doc, metadata);
        encoder.document(root);
    }
    emitter.emit({EventType::stream_end, nullptr, {}, {}, {}, {}});
    return emitter.take_output();
}

std::string emit_single_value(const Node& value) {
    Emitter emitter(4);
    Encoder encoder(emitter);
    const YNode root = value_node(value);
    encoder.document(root);
    emitter.emit({EventType::stream_end, nullptr, {}, {}, {}, {}});
    return emitter.take_output();
}

}  // namespace gitsops::sops::yaml
