#include "sops/dotenv_store.hpp"

#include <string>

#include "base/error.hpp"
#include "sops/flatten.hpp"
#include "sops/go_format.hpp"
#include "sops/store_util.hpp"

namespace gitsops::sops {

namespace {

constexpr std::string_view kPrefix = "sops_";

void replace_all(SString& s, std::string_view from, std::string_view to) {
    SString out;
    out.reserve(s.size());
    std::size_t i = 0;
    for (std::size_t hit; (hit = sv(s).find(from, i)) != std::string_view::npos; i = hit + from.size()) {
        out.append(s, i, hit - i);
        out.append(to.data(), to.size());
    }
    out.append(s, i, SString::npos);
    s = std::move(out);
}

void append_line(std::string& out, const MapItem& item) {
    if (item.is_comment()) {
        out += '#';
        out += sv(item.key.text);
        out += '\n';
        return;
    }
    if (item.value.is_container())
        throw Error("cannot use complex value in dotenv file; offending key " + std::string(sv(item.key.text)),
                    exit_code::error_dumping_tree);
    out += sv(item.key.text);
    out += '=';
    if (item.value.type == Node::Type::string) {
        for (char c : sv(item.value.text)) {
            if (c == '\n') out += "\\n";
            else out += c;
        }
    } else {
        out += value_to_text(item.value);
    }
    out += '\n';
}

}  // namespace

std::string value_to_text(const Node& leaf) {
    switch (leaf.type) {
        case Node::Type::string:
        case Node::Type::comment: return std::string(sv(leaf.text));
        case Node::Type::integer: return std::to_string(leaf.i);
        case Node::Type::floating: return format_float_text(leaf.f);
        case Node::Type::boolean: return leaf.b ? "true" : "false";
        case Node::Type::null: return "<nil>";  // Go's %v of nil
        case Node::Type::time: {
            // time.RFC3339: the canonical text without fractional seconds.
            std::string t(sv(leaf.text));
            const auto dot = t.find('.');
            if (dot != std::string::npos) {
                auto end = dot + 1;
                while (end < t.size() && t[end] >= '0' && t[end] <= '9') ++end;
                t.erase(dot, end - dot);
            }
            return t;
        }
        case Node::Type::mapping:
        case Node::Type::sequence: break;
    }
    throw Error("cannot write a nested value as text", exit_code::error_dumping_tree);
}

namespace {

class DotenvStore final : public Store {
public:
    Documents load_plain(std::string_view text) const override {
        Node doc = Node::mapping();
        std::size_t line_no = 0;
        for (std::size_t start = 0; start <= text.size();) {
            std::size_t end = text.find('\n', start);
            if (end == std::string_view::npos) end = text.size();
            const std::string_view line = text.substr(start, end - start);
            start = end + 1;
            ++line_no;
            if (line.empty()) continue;
            if (line[0] == '#') {
                doc.items.push_back(MapItem{Node::comment(line.substr(1)), Node::null_value()});
                continue;
            }
            const auto eq = line.find('=');
            if (eq == std::string_view::npos)
                throw Error(std::to_string(line_no) + ":1", "invalid dotenv input line (no '=' in it)", exit_code::could_not_read_input);
            Node value = Node::string(line.substr(eq + 1));
            replace_all(value.text, "\\n", "\n");
            doc.add(line.substr(0, eq), std::move(value));
        }
        Documents docs;
        docs.push_back(std::move(doc));
        return docs;
    }

    std::pair<Documents, Node> load_encrypted(std::string_view text) const override {
        Documents docs = load_plain(text);
        Node flat = Node::mapping();
        auto& items = docs[0].items;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            MapItem& item = items[i];
            if (!item.is_comment() && sv(item.key.text).substr(0, kPrefix.size()) == kPrefix) {
                flat.add(sv(item.key.text).substr(kPrefix.size()), std::move(item.value));
                continue;
            }
            if (kept != i) items[kept] = std::move(item);
            ++kept;
        }
        items.erase(items.begin() + static_cast<std::ptrdiff_t>(kept), items.end());
        if (flat.items.empty()) detail::metadata_not_found();
        Node metadata = flat::unflatten(flat);
        flat::restore_metadata_types(metadata);
        return {std::move(docs), std::move(metadata)};
    }

    std::string emit_plain(const Documents& docs) const override {
        if (docs.empty()) throw Error("no document to write", exit_code::error_dumping_tree);
        std::string out;
        for (const auto& item : docs[0].items) append_line(out, item);
        return out;
    }

    std::string emit_encrypted(const Documents& docs, const Node& metadata) const override {
        if (docs.empty()) throw Error("no document to write", exit_code::error_dumping_tree);
        for (const auto& item : docs[0].items)
            if (!item.is_comment()) detail::check_reserved_key(sv(item.key.text), true);
        std::string out = emit_plain(docs);
        for (const auto& item : flat::flatten(metadata, kPrefix).items) append_line(out, item);
        return out;
    }

    std::string emit_value(const Node& value) const override {
        if (value.type == Node::Type::string) return std::string(sv(value.text));
        if (value.type == Node::Type::mapping) return emit_plain(Documents{value});
        throw Error("the dotenv store only supports emitting strings", exit_code::error_dumping_tree);
    }
};

}  // namespace

std::unique_ptr<Store> make_dotenv_store() { return std::make_unique<DotenvStore>(); }

}  // namespace gitsops::sops
