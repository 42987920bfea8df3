#include "sops/yaml_load.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <streambuf>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "sops/utf8.hpp"
#include "sops/yaml_scalar.hpp"

namespace gitsops::sops::yaml {

namespace {

// Aliases are expanded into copies; this caps the copies a document may cause (billion laughs).
constexpr std::size_t kMinAliasBudget = 2'000'000;

[[noreturn]] void fail_at(int line, int column, std::string_view what) {
    throw Error(std::to_string(line + 1) + ":" + std::to_string(column + 1), what, exit_code::could_not_read_input);
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_space_or_break(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// ---------------------------------------------------------------------------------------------
// The source text: positions, lines, and the lexical shapes the comment scanner must skip.

class Source {
public:
    explicit Source(std::string_view text) : text_(text) {
        line_starts_.push_back(0);
        for (std::size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\n') line_starts_.push_back(static_cast<std::uint32_t>(i + 1));
    }

    std::string_view text() const { return text_; }
    std::size_t size() const { return text_.size(); }
    char at(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }

    int line_of(std::size_t pos) const {
        const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), static_cast<std::uint32_t>(pos));
        return static_cast<int>(it - line_starts_.begin()) - 1;
    }
    int column_of(std::size_t pos) const {
        return static_cast<int>(pos - line_starts_[static_cast<std::size_t>(line_of(pos))]);
    }
    bool only_blanks_before(std::size_t pos) const {
        for (std::size_t i = line_starts_[static_cast<std::size_t>(line_of(pos))]; i < pos; ++i)
            if (!is_blank(text_[i])) return false;
        return true;
    }
    std::size_t end_of_line(std::size_t pos) const {
        while (pos < text_.size() && text_[pos] != '\n' && text_[pos] != '\r') ++pos;
        return pos;
    }

    // Past the node properties (&anchor, !tag) that yaml-cpp's marks point at.
    std::size_t skip_properties(std::size_t pos) const {
        while (pos < text_.size() && (text_[pos] == '&' || text_[pos] == '!')) {
            if (text_[pos] == '!' && at(pos + 1) == '<') {
                while (pos < text_.size() && text_[pos] != '>') ++pos;
                ++pos;
            } else {
                while (pos < text_.size() && !is_space_or_break(text_[pos]) && text_[pos] != ',' &&
                       text_[pos] != ']' && text_[pos] != '}')
                    ++pos;
            }
            while (pos < text_.size() && is_blank(text_[pos])) ++pos;
        }
        return pos;
    }

    // Past properties, white space, line breaks and comments: where the node's content starts.
    std::size_t content_start(std::size_t pos) const {
        pos = skip_properties(pos);
        while (pos < text_.size()) {
            const char c = text_[pos];
            if (is_space_or_break(c)) {
                ++pos;
            } else if (c == '#') {
                pos = end_of_line(pos);
            } else {
                break;
            }
        }
        return pos;
    }

    std::size_t quoted_end(std::size_t open) const {
        const std::size_t close = closing_quote(open);
        return close == std::string_view::npos ? text_.size() : close + 1;
    }

    // The quote that closes the quoted scalar opened at `open`, npos when the text ends first.
    std::size_t closing_quote(std::size_t open) const {
        const char q = text_[open];
        std::size_t i = open + 1;
        while (i < text_.size()) {
            if (q == '"' && text_[i] == '\\') {
                i += 2;
            } else if (text_[i] == q) {
                if (q == '\'' && at(i + 1) == '\'') {
                    i += 2;
                } else {
                    return i;
                }
            } else {
                ++i;
            }
        }
        return std::string_view::npos;
    }

private:
    std::string_view text_;
    std::vector<std::uint32_t> line_starts_;
};

struct RawComment {
    std::size_t pos;
    int line;
    int column;
    std::string_view text;  // after the '#'
    bool own_line;          // nothing but blanks before it on its line
    bool blank_before;      // a blank line separates it from the previous content
};

// Collects the comments in a stretch of text that holds no quoted or block scalar (those are
// skipped by the caller). A '#' starts a comment at the start of a line or after white space;
// plain scalars never contain such a '#'.
void scan_comments(const Source& src, std::size_t from, std::size_t to, std::vector<RawComment>& out) {
    const std::string_view t = src.text();
    bool line_has_content = !src.only_blanks_before(from);
    bool line_started_here = !line_has_content && src.column_of(from) == 0;
    bool blank = false;
    for (std::size_t i = from; i < to && i < t.size();) {
        const char c = t[i];
        if (c == '\n') {
            if (line_started_here && !line_has_content) blank = true;
            line_has_content = false;
            line_started_here = true;
            ++i;
            continue;
        }
        if (c == '#' && (i == 0 || is_space_or_break(t[i - 1]))) {
            const std::size_t eol = src.end_of_line(i);
            out.push_back({i, src.line_of(i), src.column_of(i), t.substr(i + 1, eol - i - 1), !line_has_content, blank});
            line_started_here = false;  // a comment line is not a blank line
            i = eol;
            continue;
        }
        if (!is_blank(c) && c != '\r') {
            line_has_content = true;
            blank = false;
        }
        ++i;
    }
}

// ---------------------------------------------------------------------------------------------
// Building the tree from yaml-cpp's events.

class Builder final : public YAML::EventHandler {
public:
    Builder(const Source& src, Documents& docs) : src_(src), docs_(docs) {
        alias_budget_ = std::max(kMinAliasBudget, src.size());
    }

    // Called once the parser is done: the last document takes the comments up to the end.
    void finish() {
        if (in_document_) finish_document(src_.size());
    }

    void OnDocumentStart(const YAML::Mark& mark) override {
        // yaml-cpp 0.7 can loop on stray text after a document, starting empty documents at the
        // same place forever; a second start at one position is that text.
        if (last_document_start_ && *last_document_start_ == mark.pos)
            fail_at(mark.line, mark.column, "unexpected content after the end of a document");
        // Only the first document may start without "---" (go-yaml); yaml-cpp also starts a new
        // one at content after a document ended by a dedent ("  a: 1\nb: 2") or by "...".
        if (last_document_start_ && !document_marker_at(static_cast<std::size_t>(mark.pos)))
            fail_at(mark.line, mark.column, "did not find expected <document start>");
        last_document_start_ = mark.pos;
        if (in_document_) finish_document(static_cast<std::size_t>(mark.pos));
        in_document_ = true;
        root_ = Node::mapping();
        frames_.clear();
        closed_.clear();
        anchors_.clear();
        owner_ = {};
        check_duplicates_ = docs_.empty();
    }

    // Errors about the meaning of a document wait for its end, so that a syntax error further on,
    // which yaml-cpp reports only when it gets there, is the one the user sees.
    void OnDocumentEnd() override {
        if (deferred_) throw *deferred_;
    }

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto pos = static_cast<std::size_t>(mark.pos);
        if (explicit_null(pos)) {
            before_leaf(pos);
            add_leaf(Node::null_value(), mark, anchor, src_.line_of(pos));
            return;
        }
        if (!frames_.empty()) {
            const Frame& top = frames_.back();
            if (top.mapping && !top.flow && !top.want_key && !top.key_colon)
                fail_at(top.key_line, top.key_column, "could not find expected ':'");
        }
        // An empty value has no token of its own: the comments after the previous node have not
        // been read yet and keep their owner and closed collections. Adding the item may move
        // every child of the container (several empty items in a row: not only the last one);
        // closed children and the owner, when it is one of them, follow by index.
        const Owner kept = owner_;
        Node* parent = frames_.empty() ? nullptr : frames_.back().node;
        std::optional<std::size_t> owner_closed;
        for (std::size_t k = 0; k < closed_.size(); ++k)
            if (parent && closed_[k].parent == parent && closed_[k].node == kept.container) owner_closed = k;
        add_leaf(Node::null_value(), mark, anchor, -1);
        owner_ = kept;
        for (auto& c : closed_)
            if (parent && c.parent == parent) c.node = &child_at(*parent, c.index);
        if (owner_closed) owner_.container = closed_[*owner_closed].node;
    }

    bool document_marker_at(std::size_t pos) const {
        return src_.text().substr(std::min(pos, src_.size()), 3) == "---" && (pos + 3 >= src_.size() || is_space_or_break(src_.at(pos + 3)));
    }

    static Node& child_at(Node& n, std::size_t index) {
        return n.type == Node::Type::mapping ? n.items[index].value : n.elements[index];
    }

    static std::size_t last_index(const Node& n) {
        return (n.type == Node::Type::mapping ? n.items.size() : n.elements.size()) - 1;
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, const std::string& value) override {
        const auto pos = static_cast<std::size_t>(mark.pos);
        const std::size_t start = src_.content_start(pos);
        const char style = src_.at(start);
        const bool plain = style != '"' && style != '\'' && style != '|' && style != '>';
        before_leaf(pos);
        int end_line = mark.line;
        std::optional<RawComment> header;
        if (style == '"' || style == '\'') {
            // yaml-cpp takes a double-quoted scalar that runs to the end of the input as closed
            // there ('a: "x' + newline + 'b: 1' loaded as a = "x b: 1 "); go-yaml refuses it.
            if (src_.closing_quote(start) == std::string_view::npos)
                fail_at(src_.line_of(start), src_.column_of(start),
                        "found unexpected end of stream while scanning a quoted scalar");
            const std::size_t end = src_.quoted_end(start);
            end_line = src_.line_of(end - 1);
            scan_pos_ = end;
        } else if (style == '|' || style == '>') {
            scan_pos_ = block_scalar_end(start, header);
            end_line = -1;  // nothing can follow a block scalar on its last line
        } else {
            scan_pos_ = std::max(scan_pos_, pos);
        }
        note_block_key(pos, start, style, mark);
        Node leaf;
        try {
            leaf = decode_scalar(value, short_tag(tag), plain);
        } catch (const Error& e) {
            defer(mark, e.what());
        }
        if (header) place_header_comment(*header);
        add_leaf(std::move(leaf), mark, anchor, end_line);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto pos = static_cast<std::size_t>(mark.pos);
        before_leaf(pos);
        scan_pos_ = std::max(scan_pos_, pos);
        const auto it = anchors_.find(anchor);
        if (it == anchors_.end()) fail_at(mark.line, mark.column, "alias refers to an anchor whose value is not complete");
        if (it->second.size > alias_budget_) fail_at(mark.line, mark.column, "document contains excessive aliasing");
        alias_budget_ -= it->second.size;
        Node copy = it->second.node;
        if (copy.is_container()) {
            add_container_copy(std::move(copy), mark);
        } else {
            add_leaf(std::move(copy), mark, 0, mark.line);
        }
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value style) override {
        start_container(mark, anchor, style == YAML::EmitterStyle::Flow, false);
    }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value style) override {
        start_container(mark, anchor, style == YAML::EmitterStyle::Flow, true);
    }

    void OnSequenceEnd() override { end_container(); }
    void OnMapEnd() override { end_container(); }

private:
    struct Frame {
        Node* node = nullptr;
        bool mapping = false;
        bool flow = false;
        bool indentless = false;
        int indent = 0;
        YAML::anchor_t anchor = 0;
        bool want_key = true;
        Node pending_key;
        bool key_colon = true;       // the pending block key is followed by its ':'
        int key_line = 0, key_column = 0;
        std::unique_ptr<std::unordered_map<std::string, int>> keys;  // duplicate check, first document
    };

    struct Closed {
        Node* node;
        int indent;
        bool candidate;  // block, not an indentless sequence: go-yaml ends it with a token
        bool flow;
        Node* parent;       // the collection it is a child of (null for the root)
        std::size_t index;  // its position among the parent's children
    };

    // The last node before the scan position, which a comment on its line belongs to.
    struct Owner {
        enum class Kind : std::uint8_t { none, key, value, element, flow } kind = Kind::none;
        Node* container = nullptr;
        std::size_t index = 0;
        int line = -1;
    };

    struct Anchored {
        Node node;
        std::size_t size;
    };

    static std::string short_tag(const std::string& tag) {
        static constexpr std::string_view core = "tag:yaml.org,2002:";
        if (tag == "?") return {};
        if (tag.compare(0, core.size(), core) == 0) return "!!" + tag.substr(core.size());
        return tag;
    }

    static std::size_t count_nodes(const Node& n) {
        std::size_t c = 1;
        for (const auto& it : n.items) c += count_nodes(it.value) + 1;
        for (const auto& e : n.elements) c += count_nodes(e);
        return c;
    }

    // yaml-cpp takes a lone scalar that ends a block mapping ("a: 1" newline "b") as a key with
    // an empty value; go-yaml refuses it ("could not find expected ':'"). So each scalar key of a
    // block mapping notes whether its ':' follows it (on its line, as implicit keys must be).
    void note_block_key(std::size_t pos, std::size_t start, char style, const YAML::Mark& mark) {
        if (frames_.empty()) return;
        Frame& top = frames_.back();
        if (!top.mapping || top.flow || !top.want_key) return;
        top.key_colon = explicit_key(pos) || colon_after_key(start, style);
        top.key_line = mark.line;
        top.key_column = mark.column;
    }

    // Whether a '?' indicator (only white space between) introduces the key at `pos`.
    bool explicit_key(std::size_t pos) const {
        while (pos > 0 && is_space_or_break(src_.at(pos - 1))) --pos;
        return pos > 0 && src_.at(pos - 1) == '?' && (pos == 1 || is_space_or_break(src_.at(pos - 2)));
    }

    bool colon_after_key(std::size_t start, char style) const {
        if (style == '"' || style == '\'') {
            std::size_t i = src_.quoted_end(start);
            while (is_blank(src_.at(i))) ++i;
            return src_.at(i) == ':';
        }
        for (std::size_t i = start; i < src_.size() && src_.at(i) != '\n' && src_.at(i) != '\r'; ++i) {
            if (src_.at(i) == '#' && i > start && is_blank(src_.at(i - 1))) return false;
            if (src_.at(i) == ':' && (i + 1 == src_.size() || is_space_or_break(src_.at(i + 1)))) return true;
        }
        return false;
    }

    // yaml-cpp reports empty values as nulls positioned at the next token; only a spelled-out
    // null (or one with properties) is a token of its own.
    bool explicit_null(std::size_t pos) const {
        if (src_.at(pos) == '&' || src_.at(pos) == '!') return true;
        const std::string_view t = src_.text().substr(std::min(pos, src_.size()));
        std::size_t n = 0;
        if (t.substr(0, 1) == "~") n = 1;
        else if (t.substr(0, 4) == "null" || t.substr(0, 4) == "Null" || t.substr(0, 4) == "NULL") n = 4;
        if (n == 0) return false;
        const char next = n < t.size() ? t[n] : '\0';
        return next == '\0' || is_space_or_break(next) || next == ',' || next == ']' || next == '}' || next == ':';
    }

    int parent_block_indent() const {
        for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
            if (!it->flow) return it->indent;
        return -1;
    }

    // A literal or folded scalar: the header line (which may end in a comment) and every line
    // indented at least as far as its content.
    std::size_t block_scalar_end(std::size_t indicator, std::optional<RawComment>& header) {
        std::size_t i = indicator + 1;
        int explicit_indent = 0;
        while (i < src_.size() && (src_.at(i) == '+' || src_.at(i) == '-' || (src_.at(i) >= '0' && src_.at(i) <= '9'))) {
            if (src_.at(i) >= '1' && src_.at(i) <= '9') explicit_indent = src_.at(i) - '0';
            ++i;
        }
        while (is_blank(src_.at(i))) ++i;
        if (src_.at(i) == '#') {
            const std::size_t eol = src_.end_of_line(i);
            header = RawComment{i, src_.line_of(i), src_.column_of(i), src_.text().substr(i + 1, eol - i - 1), false, false};
        }
        i = src_.end_of_line(i);
        if (src_.at(i) == '\r') ++i;
        if (src_.at(i) == '\n') ++i;
        const int parent = parent_block_indent();
        int indent;
        if (explicit_indent > 0) {
            indent = parent >= 0 ? parent + explicit_indent : explicit_indent;
        } else {
            int widest = 0;
            for (std::size_t l = i; l < src_.size();) {
                std::size_t k = l;
                while (src_.at(k) == ' ') ++k;
                widest = std::max(widest, static_cast<int>(k - l));
                const char c = src_.at(k);
                if (c != '\n' && c != '\r') break;
                l = src_.end_of_line(k);
                if (src_.at(l) == '\r') ++l;
                if (src_.at(l) == '\n') ++l;
            }
            indent = std::max({widest, parent + 1, 1});
        }
        while (i < src_.size()) {
            std::size_t k = i;
            while (src_.at(k) == ' ') ++k;
            const bool empty_line = k >= src_.size() || src_.at(k) == '\n' || src_.at(k) == '\r';
            if (!empty_line && static_cast<int>(k - i) < indent) break;
            i = src_.end_of_line(k);
            if (src_.at(i) == '\r') ++i;
            if (src_.at(i) == '\n') ++i;
        }
        return i;
    }

    // ---- comment placement ---------------------------------------------------------------------

    static void push_comment(Node& container, const RawComment& c, bool is_inline) {
        Node comment = Node::comment(c.text, is_inline);
        if (container.type == Node::Type::mapping) container.items.push_back(MapItem{std::move(comment), Node::null_value()});
        else container.elements.push_back(std::move(comment));
    }

    static void insert_comment(Node& container, std::size_t index, const RawComment& c, bool is_inline) {
        Node comment = Node::comment(c.text, is_inline);
        if (container.type == Node::Type::mapping) {
            index = std::min(index, container.items.size());
            container.items.insert(container.items.begin() + static_cast<std::ptrdiff_t>(index),
                                   MapItem{std::move(comment), Node::null_value()});
        } else {
            index = std::min(index, container.elements.size());
            container.elements.insert(container.elements.begin() + static_cast<std::ptrdiff_t>(index), std::move(comment));
        }
    }

    // Scans the comments between the previous node and `to` and places all of them except the
    // ones that belong to the next item, which are returned in `next_`.
    void collect_comments(std::size_t to, bool document_end) {
        comments_.clear();
        next_.clear();
        if (to > scan_pos_) scan_comments(src_, scan_pos_, to, comments_);
        scan_pos_ = std::max(scan_pos_, to);
        std::size_t first = 0;
        if (!comments_.empty() && !comments_[0].own_line && owner_.kind != Owner::Kind::none &&
            comments_[0].line == owner_.line) {
            place_trailing(comments_[0]);
            first = 1;
        }
        owner_ = {};
        const std::vector<std::size_t> targets = comment_targets(first, document_end);
        // Comments joining closed collections go in first, innermost collection first: appending
        // to a collection must not move the ones nested in it while they are still referenced.
        std::vector<std::vector<const RawComment*>> per_closed(closed_.size());
        for (std::size_t i = first; i < comments_.size(); ++i) {
            if (targets[i - first] < closed_.size()) per_closed[targets[i - first]].push_back(&comments_[i]);
            else next_.push_back(comments_[i]);
        }
        for (std::size_t k = 0; k < closed_.size(); ++k)
            for (const RawComment* c : per_closed[k]) push_comment(*closed_[k].node, *c, false);
        closed_.clear();
    }

    // ---- where own-line comments go, as go-yaml v3 decides (scannerc.go, parserc.go) -----------
    //
    // go-yaml splits the own-line comments between two tokens into runs: a run ends before a
    // comment (or the next token) that is less indented than the innermost block collection and
    // not at the run's column, or at the first blank line (the end of the document counts) when
    // no blank line came before the first comment and the run is the first one or dedented. A
    // run ended so is a "foot"; the first one, unless it is dedented at a blank line, is the
    // foot of the node before the comments (sops: right after it, in its collection, however
    // far the comment is dedented). The other runs follow the ends of the collections that
    // close there: a block collection ends at the first run at its indentation (or where the
    // collection inside it ended); a foot run joins the first end at or after it, a mapping's
    // end keeps it (sops: last in that mapping), a block sequence's end passes it on to the
    // next end or token. The last run, if not a foot, waits for the next token (or the end of
    // the document) and so do all runs after a run that waits.

    struct Run {
        std::size_t begin, end;  // indexes into comments_
        bool foot;
        bool after_prior;  // the foot of the node before the comments
    };

    int innermost_block_indent() const {
        for (const auto& c : closed_)
            if (c.candidate) return c.indent;
        for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
            if (!it->flow && !it->indentless) return it->indent;
        return 0;
    }

    // The position of the first token after the comments (npos: none before the end of the text).
    std::size_t token_after(const RawComment& last) const {
        std::size_t i = src_.end_of_line(last.pos);
        while (i < src_.size() && (is_blank(src_.at(i)) || src_.at(i) == '\r' || src_.at(i) == '\n')) ++i;
        return i < src_.size() ? i : std::string_view::npos;
    }

    std::vector<Run> comment_runs(std::size_t first, bool document_end) const {
        std::vector<Run> runs;
        if (first >= comments_.size()) return runs;
        const int indent = std::max(0, innermost_block_indent());
        bool first_empty = !comments_[first].blank_before;
        std::size_t begin = first;
        // Ends the current run at `end` when go-yaml would; `blank`: a blank line (or the end of
        // the document) comes first, `column`: the column of the next comment or token.
        auto split = [&](std::size_t end, bool blank, std::optional<int> column) {
            const int run_column = comments_[begin].column;
            const bool first_run = begin == first;
            if (blank && first_empty) {
                first_empty = false;
                if (first_run || run_column < indent) {
                    runs.push_back({begin, end, true, first_run && run_column >= indent});
                    begin = end;
                    return;
                }
            }
            if (column && *column < indent && *column != run_column) {
                runs.push_back({begin, end, true, first_run});
                begin = end;
            }
        };
        for (std::size_t i = first + 1; i < comments_.size(); ++i)
            split(i, comments_[i].line - comments_[i - 1].line > 1, comments_[i].column);
        const RawComment& last = comments_.back();
        const std::size_t next = token_after(last);
        if (next == std::string_view::npos) split(comments_.size(), document_end, std::nullopt);
        else split(comments_.size(), src_.line_of(next) - last.line > 1, src_.column_of(next));
        if (begin < comments_.size()) runs.push_back({begin, comments_.size(), false, false});
        return runs;
    }

    // For each comment from `first` on: the index in closed_ of the collection it joins, or
    // closed_.size() when it goes before the next item (or last in the document).
    std::vector<std::size_t> comment_targets(std::size_t first, bool document_end) const {
        const std::size_t none = closed_.size();
        if (first >= comments_.size()) return {};
        std::vector<std::size_t> targets(comments_.size() - first, none);
        const std::vector<Run> runs = comment_runs(first, document_end);
        // Where each block collection's end token stands: the first run at its indentation, else
        // where the one inside it ended (-1: before every comment).
        std::vector<std::ptrdiff_t> end_at(closed_.size(), -1);
        std::ptrdiff_t at = -1;
        for (std::size_t k = 0; k < closed_.size(); ++k) {
            if (!closed_[k].candidate) continue;
            for (std::size_t r = 0; r < runs.size(); ++r) {
                if (comments_[runs[r].begin].column == closed_[k].indent) {
                    at = static_cast<std::ptrdiff_t>(r);
                    break;
                }
            }
            end_at[k] = at;
        }
        std::size_t token = 0;  // the next end token a run can join
        for (std::size_t r = 0; r < runs.size(); ++r) {
            std::size_t target = none;
            if (runs[r].after_prior) {
                for (std::size_t k = 0; k < closed_.size() && target == none; ++k)
                    if (!closed_[k].flow) target = k;
            } else if (runs[r].foot) {
                while (token < closed_.size() && (!closed_[token].candidate || end_at[token] < static_cast<std::ptrdiff_t>(r)))
                    ++token;
                for (std::size_t k = token; k < closed_.size() && target == none; ++k)
                    if (closed_[k].candidate && closed_[k].node->type == Node::Type::mapping) target = k;
            } else {
                token = closed_.size();  // waits for the next token, and so do the runs after it
            }
            for (std::size_t i = runs[r].begin; i < runs[r].end; ++i) targets[i - first] = target;
        }
        return targets;
    }

    void place_trailing(const RawComment& c) {
        switch (owner_.kind) {
            case Owner::Kind::key: insert_comment(*owner_.container, owner_.index, c, false); break;
            case Owner::Kind::value:
            case Owner::Kind::element: insert_comment(*owner_.container, owner_.index, c, true); break;
            case Owner::Kind::flow: insert_comment(*owner_.container, 0, c, false); break;
            case Owner::Kind::none: break;
        }
    }

    void place_header_comment(const RawComment& c) {
        if (frames_.empty()) return;
        Frame& top = frames_.back();
        // `key: | # c` and `- | # c`: go-yaml gives the scalar a line comment, an inline item.
        push_comment(*top.node, c, true);
    }

    void flush_next_into(Node& container) {
        for (const auto& c : next_) push_comment(container, c, false);
        next_.clear();
    }

    // Before a scalar, alias or spelled null: pending comments go before the coming item.
    void before_leaf(std::size_t pos) {
        collect_comments(pos, false);
        if (!frames_.empty()) flush_next_into(*frames_.back().node);
    }

    // ---- structure -----------------------------------------------------------------------------

    void defer(const YAML::Mark& mark, const std::string& what) {
        if (!deferred_)
            deferred_.emplace(std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1), what,
                              exit_code::could_not_read_input);
    }

    void defer_non_string_key(const YAML::Mark& mark) {
        defer(mark, "Tree contains a non-string key; only string keys are supported");
    }

    void check_key(Node& key, const YAML::Mark& mark, Frame& frame) {
        if (key.type != Node::Type::string) {
            defer_non_string_key(mark);
            key = Node::string({});
            return;
        }
        if (!frame.keys) return;
        std::string name(sv(key.text));
        const auto [it, inserted] = frame.keys->emplace(std::move(name), mark.line + 1);
        if (!inserted)
            defer(mark, "mapping key \"" + it->first + "\" already defined at line " + std::to_string(it->second));
    }

    void add_leaf(Node leaf, const YAML::Mark& mark, YAML::anchor_t anchor, int end_line) {
        if (anchor != 0) anchors_[anchor] = Anchored{leaf, 1};
        if (frames_.empty()) {
            if (leaf.type != Node::Type::null) defer(mark, "YAML documents that are values are not supported");
            return;
        }
        Frame& top = frames_.back();
        Node& container = *top.node;
        if (top.mapping && top.want_key) {
            check_key(leaf, mark, top);
            top.pending_key = std::move(leaf);
            top.want_key = false;
            owner_ = {Owner::Kind::key, &container, container.items.size(), end_line};
        } else if (top.mapping) {
            container.items.push_back(MapItem{std::move(top.pending_key), std::move(leaf)});
            top.want_key = true;
            owner_ = {Owner::Kind::value, &container, container.items.size() - 1, end_line};
        } else {
            container.elements.push_back(std::move(leaf));
            owner_ = {Owner::Kind::element, &container, container.elements.size() - 1, end_line};
        }
    }

    // Attaches a new collection to its parent (or as the document root) and returns it.
    Node* attach(Node value, const YAML::Mark& mark) {
        if (frames_.empty()) {
            if (value.type != Node::Type::mapping) defer(mark, "YAML documents that are sequences are not supported");
            root_ = std::move(value);
            return &root_;
        }
        Frame& top = frames_.back();
        Node& container = *top.node;
        if (top.mapping && top.want_key) {
            defer_non_string_key(mark);  // a collection as a key; build on as if it were a value
            top.pending_key = Node::string({});
        }
        if (top.mapping) {
            container.items.push_back(MapItem{std::move(top.pending_key), std::move(value)});
            top.want_key = true;
            return &container.items.back().value;
        }
        container.elements.push_back(std::move(value));
        return &container.elements.back();
    }

    // An alias of a collection: a comment after it is the alias node's line comment, which
    // sops turns into an inline item before the item.
    void add_container_copy(Node copy, const YAML::Mark& mark) {
        attach(std::move(copy), mark);
        owner_ = item_owner(mark.line);
    }

    Owner item_owner(int line) {
        Node& container = *frames_.back().node;
        if (container.type == Node::Type::mapping)
            return {Owner::Kind::value, &container, container.items.size() - 1, line};
        return {Owner::Kind::element, &container, container.elements.size() - 1, line};
    }

    void start_container(const YAML::Mark& mark, YAML::anchor_t anchor, bool flow, bool mapping) {
        const auto pos = static_cast<std::size_t>(mark.pos);
        collect_comments(pos, false);
        scan_pos_ = std::max(scan_pos_, src_.skip_properties(pos));
        // Comments above a collection that is a sequence element stay in the sequence (go-yaml
        // makes them the element's head comment); above a mapping value they open the value.
        const bool into_parent = !frames_.empty() && !frames_.back().mapping;
        if (into_parent) flush_next_into(*frames_.back().node);
        const std::size_t content = src_.content_start(pos);
        const int indent = src_.column_of(std::min(content, src_.size() ? src_.size() - 1 : 0));
        const bool indentless = !mapping && !flow && !frames_.empty() && frames_.back().mapping &&
                                !frames_.back().flow && indent == frames_.back().indent;
        Node* node = attach(mapping ? Node::mapping() : Node::sequence(), mark);
        flush_next_into(*node);
        Frame f;
        f.node = node;
        f.mapping = mapping;
        f.flow = flow;
        f.indentless = indentless;
        f.indent = indent;
        f.anchor = anchor;
        if (mapping && check_duplicates_) f.keys = std::make_unique<std::unordered_map<std::string, int>>();
        frames_.push_back(std::move(f));
    }

    void end_container() {
        Frame f = std::move(frames_.back());
        frames_.pop_back();
        if (f.anchor != 0) anchors_[f.anchor] = Anchored{*f.node, count_nodes(*f.node)};
        // A collection is its parent's last child when it ends (attach() appended it).
        Node* parent = frames_.empty() ? nullptr : frames_.back().node;
        closed_.push_back(Closed{f.node, f.indent, !f.flow && !f.indentless, f.flow, parent, parent ? last_index(*parent) : 0});
        if (!f.flow) return;
        // `key: [a, b] # c` gives the collection a line comment, which sops puts first inside
        // it; `- [a, b] # c` makes it the element's line comment, an inline item before it.
        const int line = src_.line_of(flow_close(f.mapping ? '}' : ']'));
        if (!frames_.empty() && !frames_.back().mapping) owner_ = item_owner(line);
        else owner_ = {Owner::Kind::flow, f.node, 0, line};
    }

    // Where a flow collection closes: the next unmatched bracket after the scan position.
    std::size_t flow_close(char bracket) {
        std::size_t i = std::max(scan_pos_, flow_close_pos_);
        while (i < src_.size() && src_.at(i) != bracket) {
            if (src_.at(i) == '#' && (i == 0 || is_space_or_break(src_.at(i - 1)))) i = src_.end_of_line(i);
            else ++i;
        }
        flow_close_pos_ = i + 1;
        return std::min(i, src_.size() ? src_.size() - 1 : 0);
    }

    void finish_document(std::size_t end) {
        // Every collection has ended: comments go to the deepest fitting one, or to the end.
        collect_comments(end, true);
        if (!next_.empty()) flush_next_into(root_);
        docs_.push_back(std::move(root_));
        in_document_ = false;
        closed_.clear();
        frames_.clear();
    }

    const Source& src_;
    Documents& docs_;
    bool in_document_ = false;
    std::optional<int> last_document_start_;
    bool check_duplicates_ = false;
    Node root_;
    std::vector<Frame> frames_;
    std::vector<Closed> closed_;
    std::unordered_map<YAML::anchor_t, Anchored> anchors_;
    std::size_t alias_budget_ = 0;
    std::size_t scan_pos_ = 0;
    std::size_t flow_close_pos_ = 0;
    Owner owner_;
    std::vector<RawComment> comments_;
    std::vector<RawComment> next_;
    std::optional<Error> deferred_;
};

// Lets yaml-cpp read the caller's buffer without a second copy of the plaintext.
class ViewBuffer : public std::streambuf {
public:
    explicit ViewBuffer(std::string_view text) {
        char* p = const_cast<char*>(text.data());
        setg(p, p, p + text.size());
    }
};

std::string_view strip_bom(std::string_view text) {
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    return text;
}

// go-yaml's reader accepts only well-formed UTF-8 and the printable characters of YAML 1.1
// (tab, line breaks, NEL and the printable ranges); yaml-cpp is laxer, so check first. Raw line
// separators are refused too (below).
void check_characters(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b >= 0x20 && b <= 0x7E) {
            ++i;
            continue;
        }
        const utf8::Rune r = utf8::decode(text, i);
        const char32_t c = r.value;
        const bool allowed = r.valid && (c == 0x09 || c == 0x0A || c == 0x0D || c == 0x85 || (c >= 0xA0 && c <= 0xD7FF) ||
                                         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF));
        // go-yaml reads NEL, LS and PS as line breaks (folding the indentation after them in
        // quoted text, ending comments and plain scalars), yaml-cpp as ordinary characters: the
        // same file would mean two things. The writer puts them in double quotes as \N, \L, \P.
        const bool separator = c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!allowed || separator) {
            int line = 0;
            std::size_t line_start = 0;
            for (std::size_t k = 0; k < i; ++k)
                if (text[k] == '\n') {
                    ++line;
                    line_start = k + 1;
                }
            fail_at(line, static_cast<int>(i - line_start),
                    !r.valid   ? "invalid UTF-8 in YAML input"
                    : separator ? "line separators (U+0085, U+2028, U+2029) are not supported in YAML input; write them as \\N, \\L, \\P in a double-quoted string"
                                : "control characters are not allowed");
        }
        i += r.width;
    }
}

void reject_other_encodings(std::string_view text) {
    if (text.size() >= 2 && ((text[0] == '\xFE' && text[1] == '\xFF') || (text[0] == '\xFF' && text[1] == '\xFE')))
        throw Error("1:1: UTF-16 YAML is not supported; convert the file to UTF-8", exit_code::could_not_read_input);
}

}  // namespace

Documents load_documents(std::string_view text) {
    reject_other_encodings(text);
    text = strip_bom(text);
    check_characters(text);
    Documents docs;
    const Source src(text);
    ViewBuffer buffer(text);
    std::istream in(&buffer);
    Builder builder(src, docs);
    try {
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(builder)) {
        }
        builder.finish();
    } catch (const YAML::DeepRecursion& e) {
        fail_at(e.mark.line, e.mark.column, "document nested too deeply");
    } catch (const YAML::ParserException& e) {
        fail_at(e.mark.line, e.mark.column, e.msg);
    }
    return docs;
}

}  // namespace gitsops::sops::yaml
