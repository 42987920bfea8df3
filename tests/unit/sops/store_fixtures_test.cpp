// Round trips of every sops-written fixture through the stores: plaintext files as `sops
// decrypt` printed them, and encrypted files with their ENC[...] strings and metadata as read.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "sops/store.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

const std::filesystem::path kSet = std::filesystem::path(GITSOPS_SHARED) / "fixtures" / "sops-3.13.2";
const std::filesystem::path kReal = std::filesystem::path(GITSOPS_SHARED) / "fixtures" / "sops-age-real";

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Case {
    std::string name;
    std::string plain;
    std::string encrypt_args;
    std::string decrypt_args;
};

std::vector<Case> manifest() {
    std::vector<Case> out;
    std::istringstream in(slurp(kSet / "manifest.tsv"));
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> cols;
        std::stringstream ls(line);
        for (std::string col; std::getline(ls, col, '\t');) cols.push_back(col);
        out.push_back({cols.at(0), cols.at(1), cols.at(2), cols.at(3)});
    }
    return out;
}

// The store a case was written with: suffix, or --input-type; the indent from --indent.
std::unique_ptr<Store> store_for(const Case& c) {
    StoreConfig cfg;
    if (c.encrypt_args.find("--indent 2") != std::string::npos) {
        cfg.yaml_indent = 2;
        cfg.json_indent = 2;
    }
    Format f = format_for_path(c.name);
    if (c.encrypt_args.find("--input-type binary") != std::string::npos) f = Format::binary;
    return make_store(f, cfg);
}

}  // namespace

TEST_CASE("every encrypted fixture reads and writes back byte for byte") {
    const auto cases = manifest();
    REQUIRE(cases.size() == 27);
    for (const auto& c : cases) {
        INFO(c.name);
        const std::string text = slurp(kSet / "enc" / c.name);
        auto store = store_for(c);
        auto [docs, metadata] = store->load_encrypted(text);
        CHECK(metadata.type == Node::Type::mapping);
        CHECK(store->emit_encrypted(docs, metadata) == text);
    }
}

TEST_CASE("every decrypted fixture reads and writes back byte for byte") {
    for (const auto& c : manifest()) {
        const auto path = kSet / "expected" / c.name;
        if (!std::filesystem::exists(path)) continue;  // the expected failure
        INFO(c.name);
        const std::string text = slurp(path);
        auto store = store_for(c);
        const Documents docs = store->load_plain(text);
        CHECK(store->emit_plain(docs) == text);
    }
}

TEST_CASE("third-party files written by sops 3.7 to 3.13 load") {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(kReal)) {
        const auto& p = entry.path();
        const std::string name = p.filename().string();
        if (!entry.is_regular_file()) continue;
        const bool yaml = p.extension() == ".yaml";
        const bool sops_file = (yaml && name != "sops-config.yaml" && name != "inside-secret.yaml") ||
                               p.extension() == ".env" || name == "file.txt";
        if (!sops_file) continue;
        INFO(p.string());
        auto store = make_store(format_for_path(name));
        auto [docs, metadata] = store->load_encrypted(slurp(p));
        CHECK(metadata.find("mac") != nullptr);
        CHECK(metadata.find("lastmodified") != nullptr);
        CHECK_FALSE(docs.empty());
    }
}

namespace {

// The `type:` of an ENC[...] string, or empty for clear text.
std::string enc_type(const Node& n) {
    if (n.type != Node::Type::string && n.type != Node::Type::comment) return {};
    const std::string_view t = sv(n.text);
    if (t.substr(0, 4) != "ENC[") return {};
    const auto p = t.rfind(",type:");
    return std::string(t.substr(p + 6, t.size() - p - 7));
}

const char* type_tag(const Node& n) {
    switch (n.type) {
        case Node::Type::string: return "str";
        case Node::Type::integer: return "int";
        case Node::Type::floating: return "float";
        case Node::Type::boolean: return "bool";
        case Node::Type::time: return "time";
        case Node::Type::comment: return "comment";
        default: return "?";
    }
}

// The plaintext tree has the shape the encrypted one was written from: same keys and comments
// in the same places, and each encrypted leaf's type tag fits the plaintext leaf.
void same_shape(const Node& plain, const Node& enc, const std::string& path) {
    INFO(path);
    const std::string et = enc_type(enc);
    if (plain.is_comment()) {
        REQUIRE((enc.is_comment() || et == "comment"));
        if (enc.is_comment()) CHECK(plain.inline_comment == enc.inline_comment);
        if (et.empty()) CHECK(plain.text == enc.text);
        return;
    }
    if (!et.empty()) {
        CHECK(et == type_tag(plain));
        return;
    }
    if (plain.type == Node::Type::floating && enc.type == Node::Type::integer) {
        CHECK(plain.f == static_cast<double>(enc.i));  // sops writes 1.0 as 1, which reads as an int
        return;
    }
    REQUIRE(plain.type == enc.type);
    if (plain.type == Node::Type::mapping) {
        REQUIRE(plain.items.size() == enc.items.size());
        for (std::size_t i = 0; i < plain.items.size(); ++i) {
            const auto& a = plain.items[i];
            const auto& b = enc.items[i];
            if (a.is_comment()) {
                same_shape(a.key, b.key, path + "/#" + std::to_string(i));
            } else {
                CHECK(a.key.text == b.key.text);
                same_shape(a.value, b.value, path + "/" + std::string(sv(a.key.text)));
            }
        }
    } else if (plain.type == Node::Type::sequence) {
        REQUIRE(plain.elements.size() == enc.elements.size());
        for (std::size_t i = 0; i < plain.elements.size(); ++i)
            same_shape(plain.elements[i], enc.elements[i], path + "[" + std::to_string(i) + "]");
    } else {
        CHECK(plain == enc);
    }
}

}  // namespace

TEST_CASE("plaintext fixtures load into the shape of the files sops encrypted from them") {
    for (const auto& c : manifest()) {
        INFO(c.name);
        auto store = store_for(c);
        const Documents plain = store->load_plain(slurp(kSet / "plain" / c.plain));
        auto [enc, metadata] = store->load_encrypted(slurp(kSet / "enc" / c.name));
        REQUIRE(plain.size() == enc.size());
        for (std::size_t d = 0; d < plain.size(); ++d) same_shape(plain[d], enc[d], "doc" + std::to_string(d));
    }
}
