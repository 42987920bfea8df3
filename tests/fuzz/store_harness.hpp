// The body shared by the store harnesses (store_yaml.cpp, store_json.cpp, store_dotenv.cpp,
// store_ini.cpp): one store, loaded then emitted, plaintext and encrypted forms.
// Properties: input the store cannot read is rejected with gitsops::Error only; emit(load(x))
// loads again to the same documents (but for one loss sops has too: a float with an integral
// value is written as Go's FormatFloat 'f' -1 writes it, "1.0" as "1", which reads back as an
// int), and what the writer wrote once more reads and writes to the same text (a fixed point).
// Trees are compared without their comments: as in sops, a comment does not always read back
// where it was written (a comment after a collection in a block sequence is written at column 0
// after the document, so the next read puts it at the top level).
// An encrypted file's documents and metadata survive emit_encrypted ->
// load_encrypted, and the engine's metadata validation (sops::load_encrypted) throws only Errors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "sops/sops.hpp"
#include "sops/store.hpp"

namespace fuzz {

// Node equality, except that an integral float and the int of the same value are the same.
inline bool same_tree(const gitsops::sops::Node& a, const gitsops::sops::Node& b) {
    using T = gitsops::sops::Node::Type;
    if (a.type == T::floating && b.type == T::integer) return a.f == static_cast<double>(b.i);
    if (a.type == T::integer && b.type == T::floating) return same_tree(b, a);
    if (a.type != b.type) return false;
    if (a.type == T::mapping)
        return std::equal(a.items.begin(), a.items.end(), b.items.begin(), b.items.end(), [](const auto& x, const auto& y) {
            return same_tree(x.key, y.key) && same_tree(x.value, y.value);
        });
    if (a.type == T::sequence)
        return std::equal(a.elements.begin(), a.elements.end(), b.elements.begin(), b.elements.end(), same_tree);
    return a == b;
}

inline gitsops::sops::Node without_comments(const gitsops::sops::Node& n) {
    gitsops::sops::Node out = n;
    out.items.clear();
    out.elements.clear();
    for (const auto& item : n.items)
        if (!item.is_comment()) out.items.push_back({item.key, without_comments(item.value)});
    for (const auto& e : n.elements)
        if (!e.is_comment()) out.elements.push_back(without_comments(e));
    return out;
}

inline gitsops::sops::Documents without_comments(const gitsops::sops::Documents& docs) {
    gitsops::sops::Documents out;
    for (const auto& d : docs) out.push_back(without_comments(d));
    return out;
}

inline bool same_documents(const gitsops::sops::Documents& a, const gitsops::sops::Documents& b) {
    const auto x = without_comments(a);
    const auto y = without_comments(b);
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), same_tree);
}

inline void check_plain(const gitsops::sops::Store& store, gitsops::sops::Format format, std::string_view text) {
    using namespace gitsops;
    sops::Documents docs;
    try {
        docs = store.load_plain(text);
    } catch (const Error&) {
        return;
    }
    std::string out;
    try {
        out = store.emit_plain(docs);
    } catch (const Error&) {
        return;  // a tree this format cannot write (e.g. nesting in dotenv) is refused, not mangled
    }
    const sops::Documents again = store.load_plain(out);
    FUZZ_CHECK(same_documents(again, docs));
    // Written once more, the text stays as it is. (Not from the first write: "-0.0" is written
    // as "-0", which reads back as the int 0, as in sops.) INI comments are left out: sops strips
    // a comment's leading run of '#' or ';' and spaces when reading and go-ini writes a comment
    // that then starts with '#' or ';' as a marker, so "; # a" is written "# a", then "; a", one
    // marker less at each write, and "#;#;#;" takes as many writes as it has markers.
    const sops::Documents kept = format == gitsops::sops::Format::ini ? without_comments(again) : again;
    const std::string out2 = store.emit_plain(kept);
    const sops::Documents reread = store.load_plain(out2);
    FUZZ_CHECK(store.emit_plain(format == gitsops::sops::Format::ini ? without_comments(reread) : reread) == out2);
    for (const sops::Node& doc : docs) {
        for (const sops::MapItem& item : doc.items) {
            try {
                if (!item.is_comment()) (void)store.emit_value(item.value);
            } catch (const Error&) {  // e.g. an INI section holding what INI cannot write
            }
        }
    }
}

inline void check_encrypted(const gitsops::sops::Store& store, gitsops::sops::Format format, std::string_view text) {
    using namespace gitsops;
    try {
        (void)sops::load_encrypted(text, format);
    } catch (const Error&) {
    }
    std::pair<sops::Documents, sops::Node> loaded;
    try {
        loaded = store.load_encrypted(text);
    } catch (const Error&) {
        return;
    }
    std::string out;
    try {
        out = store.emit_encrypted(loaded.first, loaded.second);
    } catch (const Error&) {
        return;
    }
    const auto again = store.load_encrypted(out);
    FUZZ_CHECK(same_documents(again.first, loaded.first));
    FUZZ_CHECK(same_tree(without_comments(again.second), without_comments(loaded.second)));
}

inline int run_store(gitsops::sops::Format format, const std::uint8_t* data, std::size_t size) {
    static const std::unique_ptr<gitsops::sops::Store> store = gitsops::sops::make_store(format);
    const std::string_view text = text_of(data, size);
    check_plain(*store, format, text);
    check_encrypted(*store, format, text);
    return 0;
}

}  // namespace fuzz
