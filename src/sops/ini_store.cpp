#include "sops/ini_store.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "sops/dotenv_store.hpp"
#include "sops/flatten.hpp"
#include "sops/json_store.hpp"
#include "sops/store_util.hpp"
#include "sops/utf8.hpp"

namespace gitsops::sops {

namespace {

constexpr std::string_view kDefaultSection = "DEFAULT";

// Go's unicode.IsSpace.
bool is_go_space(char32_t r) {
    switch (r) {
        case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
        case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
            return true;
        default:
            return r >= 0x2000 && r <= 0x200A;
    }
}

std::size_t space_width_at(std::string_view s, std::size_t i) {
    const auto r = utf8::decode(s, i);
    return r.valid && is_go_space(r.value) ? r.width : 0;
}

std::string_view trim_left(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t w = space_width_at(s, i);
        if (w == 0) break;
        i += w;
    }
    return s.substr(i);
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty()) {
        std::size_t start = s.size() - 1;
        while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        if (space_width_at(s, start) != s.size() - start) break;
        s = s.substr(0, start);
    }
    return s;
}

std::string_view trim(std::string_view s) { return trim_right(trim_left(s)); }

// ---------------------------------------------------------------------------------------------
// Reading, with go-ini's rules (LoadOptions{AllowNonUniqueSections: true}).

struct Key {
    std::string name;
    SString value;
    SString comment;
};

struct Section {
    std::string name;
    SString comment;
    std::vector<Key> keys;
    std::unordered_map<std::string, std::size_t> index;
};

class IniReader {
public:
    explicit IniReader(std::string_view text) : text_(text) {
        if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);
        else if (text_.substr(0, 2) == "\xFE\xFF" || text_.substr(0, 2) == "\xFF\xFE") text_.remove_prefix(2);
    }

    std::vector<Section> read() {
        sections_.push_back(Section{std::string(kDefaultSection), {}, {}, {}});
        while (!eof()) {
            const std::string_view raw = next_line();
            const std::string_view line = trim_left(raw);
            if (line.empty()) continue;
            if (line[0] == '#' || line[0] == ';') {
                comment_.append(line.data(), line.size());
                continue;
            }
            if (line[0] == '[') {
                section(line);
                continue;
            }
            key(line);
        }
        return std::move(sections_);
    }

private:
    bool eof() const { return pos_ >= text_.size(); }

    // The next line including its '\n' (go-ini reads with ReadBytes('\n')).
    std::string_view next_line() {
        const std::size_t start = pos_;
        const std::size_t nl = text_.find('\n', pos_);
        pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
        ++line_no_;
        return text_.substr(start, pos_ - start);
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(std::to_string(line_no_) + ":1", what, exit_code::could_not_read_input);
    }

    SString take_comment() {
        SString c = to_sstring(trim(sv(comment_)));
        comment_.clear();
        return c;
    }

    static std::string_view after_comment_char(std::string_view s) {
        const auto i = s.find_first_of("#;");
        return i == std::string_view::npos ? std::string_view{} : s.substr(i);
    }

    void section(std::string_view line) {
        const auto close = line.rfind(']');
        if (close == std::string_view::npos) fail("unclosed section");
        const std::string_view name = line.substr(1, close - 1);
        if (name.empty()) fail("empty section name");
        const std::string_view trailing = after_comment_char(line.substr(close + 1));
        comment_.append(trailing.data(), trailing.size());
        sections_.push_back(Section{std::string(name), take_comment(), {}, {}});
        auto_count_ = 1;
    }

    void key(std::string_view line) {
        std::string name;
        std::size_t offset = 0;
        read_key_name(line, name, offset);
        if (name == "-") name = "#" + std::to_string(auto_count_++);
        SString value = read_value(line.substr(offset));
        if (name.empty()) fail("error creating new key: empty key name");
        Section& s = sections_.back();
        const auto [it, inserted] = s.index.emplace(name, s.keys.size());
        if (inserted) s.keys.push_back(Key{name, {}, {}});
        Key& k = s.keys[it->second];  // a repeated key keeps its place and takes the new value
        k.value = std::move(value);
        k.comment = take_comment();
    }

    void read_key_name(std::string_view line, std::string& name, std::size_t& offset) {
        std::string_view quote;
        if (line[0] == '"') quote = line.size() > 6 && line.substr(0, 3) == "\"\"\"" ? "\"\"\"" : "\"";
        else if (line[0] == '`') quote = "`";
        if (!quote.empty()) {
            const std::size_t start = quote.size();
            auto close = line.substr(start).find(quote);
            if (close == std::string_view::npos) fail("missing closing key quote");
            close += start;
            const auto delim = line.substr(close + start).find_first_of("=:");
            if (delim == std::string_view::npos) fail("key-value delimiter not found");
            name = std::string(trim(line.substr(start, close - start)));
            offset = close + delim + start + 1;
            return;
        }
        const auto delim = line.find_first_of("=:");
        if (delim == std::string_view::npos) fail("key-value delimiter not found");
        if (delim == 0) fail("empty key name");
        name = std::string(trim(line.substr(0, delim)));
        offset = delim + 1;
    }

    static bool surrounded_by(std::string_view s, char q) {
        return s.size() >= 2 && s.front() == q && s.back() == q && s.substr(1).find(q) == s.size() - 2;
    }

    SString read_value(std::string_view in) {
        std::string_view line = trim_left(in);
        if (line.empty()) return {};
        std::string_view quote;
        if (line.size() > 3 && line.substr(0, 3) == "\"\"\"") quote = "\"\"\"";
        else if (line[0] == '`') quote = "`";
        if (!quote.empty()) {
            const auto rest = line.substr(quote.size());
            const auto close = rest.rfind(quote);
            if (close != std::string_view::npos) return to_sstring(rest.substr(0, close));
            return read_multiline(rest, quote);
        }
        line = trim(line);
        if (line.back() == '\\') return read_continuation(line.substr(0, line.size() - 1));
        const auto c = line.find_first_of("#;");
        if (c != std::string_view::npos) {
            comment_.append(line.data() + c, line.size() - c);
            line = trim(line.substr(0, c));
        }
        if (surrounded_by(line, '\'') || surrounded_by(line, '"')) line = line.substr(1, line.size() - 2);
        return to_sstring(line);
    }

    SString read_multiline(std::string_view first, std::string_view quote) {
        SString value = to_sstring(first);
        for (;;) {
            if (eof()) fail("missing closing key quote");
            const std::string_view next = next_line();
            const auto close = next.rfind(quote);
            if (close != std::string_view::npos) {
                value.append(next.data(), close);
                const std::string_view trailing = after_comment_char(next.substr(close));
                const std::string_view c = trim(trailing);
                comment_.append(c.data(), c.size());
                return value;
            }
            value.append(next.data(), next.size());
        }
    }

    SString read_continuation(std::string_view first) {
        SString value = to_sstring(first);
        while (!eof()) {
            const std::string_view next = trim(next_line());
            if (next.empty()) break;
            value.append(next.data(), next.size());
            if (value.back() != '\\') break;
            value.pop_back();
        }
        return value;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    int line_no_ = 0;
    int auto_count_ = 1;
    SString comment_;
    std::vector<Section> sections_;
};

// sops' stripCommentChar: drop the leading run of comment characters and spaces.
std::string_view strip_comment_char(std::string_view c) {
    if (!c.empty() && (c[0] == ';' || c[0] == '#')) {
        const std::string_view set = c[0] == ';' ? "; " : "# ";
        const auto first = c.find_first_not_of(set);
        return first == std::string_view::npos ? std::string_view{} : c.substr(first);
    }
    return c;
}

Node to_tree(std::vector<Section> sections) {
    Node doc = Node::mapping();
    for (auto& s : sections) {
        Node items = Node::mapping();
        if (!s.comment.empty()) items.items.push_back(MapItem{Node::comment(strip_comment_char(sv(s.comment))), Node::null_value()});
        for (auto& k : s.keys) {
            items.add(k.name, Node{});
            items.items.back().value.type = Node::Type::string;
            items.items.back().value.text = std::move(k.value);
            if (!k.comment.empty())
                items.items.push_back(MapItem{Node::comment(strip_comment_char(sv(k.comment))), Node::null_value()});
        }
        doc.add(s.name, std::move(items));
    }
    return doc;
}

// ---------------------------------------------------------------------------------------------
// Writing, with go-ini's layout.

void write_comment_lines(std::string& out, std::string_view comment, bool trim_plain_lines) {
    std::size_t start = 0;
    for (;;) {
        const auto nl = comment.find('\n', start);
        const std::string_view line = comment.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        if (!line.empty() && (line[0] == '#' || line[0] == ';')) {
            out += line[0];
            out += ' ';
            out += trim(line.substr(1));
        } else {
            out += "; ";
            out += trim_plain_lines ? trim(line) : line;
        }
        out += '\n';
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
}

// go-ini's quoting of a key name (a name with '"', '=' or ':' in backticks, one with a backtick
// in triple quotes) and of a value.
std::string go_ini_key_name(std::string_view name) {
    if (name.find('"') != std::string_view::npos || name.find_first_of("=:") != std::string_view::npos)
        return "`" + std::string(name) + "`";
    if (name.find('`') != std::string_view::npos) return "\"\"\"" + std::string(name) + "\"\"\"";
    return std::string(name);
}

// The quote go-ini puts around a value (none, '"', '`' or '"""').
std::string_view go_ini_value_quote(std::string_view v) {
    if (v.find_first_of("\n`") != std::string_view::npos) return "\"\"\"";
    if (v.find_first_of("#;") != std::string_view::npos) return "`";
    if (trim(v).size() != v.size()) return "\"";
    return {};
}

// Whether one written key line reads back as exactly this key and value.
bool reads_back(std::string_view line, std::string_view name, std::string_view value) {
    try {
        const std::vector<Section> sections = IniReader(line).read();
        return sections.size() == 1 && sections[0].keys.size() == 1 && sections[0].keys[0].name == name &&
               sv(sections[0].keys[0].value) == value;
    } catch (const Error&) {
        return false;
    }
}

// go-ini writes some names and values so that they read back as something else: a name "#1"
// (from an auto-numbered "-" key) or "[x" as a comment or a section, a first name starting with
// the bytes of a BOM without them, a name holding both a backtick and a '"' with another name,
// a value "'a'" without its quotes, a value ending in '\' with the next line appended. sops
// 3.13 writes them so too and loses them. Each key line is therefore read back as written; when
// it differs, go-ini's other quotings are tried (the reader takes each), and a key none of them
// carries is refused. Names are checked as the first line of a file, so the choice does not
// depend on the place.
std::string written_key_name(std::string_view name) {
    const std::string forms[] = {go_ini_key_name(name), "`" + std::string(name) + "`",
                                 "\"\"\"" + std::string(name) + "\"\"\""};
    for (const std::string& form : forms)
        if (reads_back(form + " = \n", name, {})) return form;
    throw Error("INI key name that no quoting reads back as written (go-ini and sops would change it)",
                exit_code::error_dumping_tree);
}

SString written_value(std::string_view name, std::string_view value) {
    const std::string_view quotes[] = {go_ini_value_quote(value), "`", "\"\"\""};
    constexpr std::string_view prefix = "k = ";
    SString line;
    for (const std::string_view quote : quotes) {
        line.assign(prefix.data(), prefix.size());
        line.append(quote).append(value).append(quote) += '\n';
        if (reads_back(sv(line), "k", value)) return SString(sv(line).substr(prefix.size(), line.size() - prefix.size() - 1));
    }
    throw Error("INI value of key " + std::string(name) +
                    " that no quoting reads back as written (go-ini and sops would change it)",
                exit_code::error_dumping_tree);
}

struct OutKey {
    std::string name;  // as written, quoted
    SString value;     // as written, quoted
    std::string_view comment;
};

// sops' encodeTree: a leading comment item is the section's comment; any later comment item
// becomes the comment of the key before it (the last one wins), written above that key.
std::vector<OutKey> section_keys(const Node& section, std::string_view& section_comment) {
    std::vector<OutKey> keys;
    std::unordered_map<std::string_view, std::size_t> index;
    std::size_t first = 0;
    if (!section.items.empty() && section.items[0].is_comment()) {
        section_comment = sv(section.items[0].key.text);
        first = 1;
    }
    OutKey* last = nullptr;
    for (std::size_t i = first; i < section.items.size(); ++i) {
        const MapItem& item = section.items[i];
        if (item.is_comment()) {
            if (last) last->comment = sv(item.key.text);
            continue;
        }
        if (item.value.is_container()) throw Error("INI values must be scalars", exit_code::error_dumping_tree);
        const std::string_view name = sv(item.key.text);
        if (name.empty()) throw Error("error creating new key: empty key name", exit_code::error_dumping_tree);
        const auto [it, inserted] = index.emplace(name, keys.size());
        if (inserted) keys.push_back(OutKey{written_key_name(name), {}, {}});
        last = &keys[it->second];
        std::string text = value_to_text(item.value);
        last->value = written_value(name, text);
        wipe(text);
    }
    return keys;
}

void write_section(std::string& out, const std::vector<OutKey>& keys) {
    std::size_t align = 0;
    for (const auto& k : keys) align = std::max(align, k.name.size());
    for (const auto& k : keys) {
        if (!k.comment.empty()) write_comment_lines(out, k.comment, true);
        out += k.name;
        out.append(align - k.name.size(), ' ');
        out += " = ";
        out += sv(k.value);
        out += '\n';
    }
}

// One INI file from the sections of every document, as sops' encodeTree does; the metadata
// section, when given, follows each document's sections (sops appends it to every branch).
std::string write_ini(const Documents& docs, const Node* metadata) {
    struct Entry {
        std::string_view name;
        const Node* section;
    };
    std::vector<Entry> sections;
    for (const auto& doc : docs) {
        for (const auto& item : doc.items) {
            if (item.is_comment()) continue;
            if (item.value.type != Node::Type::mapping)
                throw Error("Error encoding section: Section values should always be TreeBranches",
                            exit_code::error_dumping_tree);
            if (item.key.text.empty()) throw Error("Error encoding section: empty section name", exit_code::error_dumping_tree);
            sections.push_back({sv(item.key.text), &item.value});
        }
        if (metadata) sections.push_back({detail::kMetadataKey, metadata});
    }
    std::string out;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        std::string_view comment;
        std::vector<OutKey> keys = section_keys(*sections[i].section, comment);
        if (!comment.empty()) write_comment_lines(out, comment, false);
        if (i == 0 && sections[i].name == kDefaultSection) {
            if (keys.empty()) continue;  // go-ini writes nothing for an empty leading DEFAULT
        } else {
            out += '[';
            out += sections[i].name;
            out += "]\n";
        }
        write_section(out, keys);
        if (i + 1 < sections.size()) out += '\n';
    }
    return out;
}

class IniStore final : public Store {
public:
    Documents load_plain(std::string_view text) const override {
        Documents docs;
        docs.push_back(to_tree(IniReader(text).read()));
        return docs;
    }

    std::pair<Documents, Node> load_encrypted(std::string_view text) const override {
        Documents docs = load_plain(text);
        Node flat = detail::extract_metadata(docs);
        for (auto& item : flat.items) {
            if (item.is_comment() || item.value.type != Node::Type::string) continue;
            // sops escapes newlines in INI metadata; 3.13.0/3.13.1 wrote real ones in """ quotes.
            SString unescaped;
            const std::string_view v = sv(item.value.text);
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (v[i] == '\\' && i + 1 < v.size() && v[i + 1] == 'n') {
                    unescaped.push_back('\n');
                    ++i;
                } else {
                    unescaped.push_back(v[i]);
                }
            }
            item.value.text = std::move(unescaped);
        }
        Node metadata = flat::unflatten(flat);
        flat::restore_metadata_types(metadata);
        return {std::move(docs), std::move(metadata)};
    }

    std::string emit_plain(const Documents& docs) const override {
        return write_ini(docs, nullptr);
    }

    std::string emit_encrypted(const Documents& docs, const Node& metadata) const override {
        for (const auto& doc : docs)
            for (const auto& item : doc.items)
                if (!item.is_comment()) detail::check_reserved_key(sv(item.key.text), false);
        Node flat = flat::flatten(metadata, "");
        for (auto& item : flat.items) {
            if (item.value.type != Node::Type::string) continue;
            SString escaped;
            for (char c : sv(item.value.text)) {
                if (c == '\n') escaped.append("\\n");
                else escaped.push_back(c);
            }
            item.value.text = std::move(escaped);
        }
        return write_ini(docs, &flat);
    }

    std::string emit_value(const Node& value) const override {
        if (value.type == Node::Type::string) return std::string(sv(value.text));
        if (value.type == Node::Type::mapping) return emit_plain(Documents{value});
        return json::marshal_go(value);  // sops' INI EmitValue is a plain json.Marshal
    }
};

}  // namespace

std::unique_ptr<Store> make_ini_store() { return std::make_unique<IniStore>(); }

}  // namespace gitsops::sops
