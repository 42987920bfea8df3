// Selectors, comments, the MAC and tampering, on hand-built trees (no store involved).
#include <catch2/catch.hpp>

#include <string>

#include "sops/cipher.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

Node map_of(std::initializer_list<std::pair<const char*, Node>> items) {
    Node m = Node::mapping();
    for (const auto& [k, v] : items) m.add(k, v);
    return m;
}

Node seq_of(std::initializer_list<Node> elements) {
    Node s = Node::sequence();
    for (const auto& e : elements) s.elements.push_back(e);
    return s;
}

void add_comment(Node& mapping, std::string_view text, bool is_inline = false) {
    mapping.items.push_back(MapItem{Node::comment(text, is_inline), Node::null_value()});
}

Documents sample() {
    Node doc = map_of({{"apiVersion", Node::string("v1")}});
    add_comment(doc, " top comment");
    doc.add("data",
            map_of({{"a", Node::string("hunter2")}, {"b_unencrypted", Node::string("y")}, {"n", Node::integer(5)}}));
    doc.add("list", seq_of({Node::string("p"), Node::comment(" in list"), Node::string("q"), Node::boolean(true)}));
    doc.add("nested", map_of({{"k", map_of({{"secret_token", Node::string("t")}, {"other", Node::floating(1.5)}})}}));
    doc.add("empty", Node::string(""));
    doc.add("nothing", Node::null_value());
    Documents docs;
    docs.push_back(std::move(doc));
    return docs;
}

Metadata metadata_for(Selector s, bool mac_only = false) {
    return new_metadata(Format::yaml, std::move(s), mac_only, {}, 0);
}

bool encrypted(const Node& n) { return n.type == Node::Type::string && is_encrypted_value(sv(n.text)); }
bool encrypted_comment(const Node& n) { return n.is_comment() && is_encrypted_value(sv(n.text)); }

const Node& at(const Documents& d, std::initializer_list<const char*> path) {
    const Node* n = &d[0];
    for (auto k : path) {
        n = n->find(k);
        REQUIRE(n);
    }
    return *n;
}

// Encrypts a copy, checks it decrypts back (MAC included) and returns the encrypted documents.
Documents round_trip(Selector s, bool mac_only = false, Metadata* out_md = nullptr) {
    Documents docs = sample();
    Metadata md = metadata_for(std::move(s), mac_only);
    DataKey key = generate_data_key();
    encrypt_documents(docs, md, key);
    Documents dec = docs;
    decrypt_documents(dec, md, key);
    Documents want = sample();
    CHECK(dec == want);
    if (out_md) *out_md = md;
    return docs;
}

// The exit code and message of what `f` throws; {0, ""} when it does not.
struct Failure {
    int code = 0;
    std::string message;
};
Failure failure_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return {e.code(), e.what()};
    }
    return {};
}
int code_of(const std::function<void()>& f) { return failure_of(f).code; }

}  // namespace

TEST_CASE("engine: the default selector encrypts all but *_unencrypted, comments included") {
    Documents d = round_trip(Selector{});
    CHECK(encrypted(at(d, {"apiVersion"})));
    CHECK(encrypted(at(d, {"data", "a"})));
    CHECK(sv(at(d, {"data", "b_unencrypted"}).text) == "y");
    CHECK(encrypted(at(d, {"data", "n"})));
    CHECK(sv(at(d, {"data", "n"}).text).ends_with("type:int]"));
    CHECK(encrypted_comment(d[0].items[1].key));
    const Node& list = at(d, {"list"});
    CHECK(encrypted(list.elements[0]));
    // A comment inside a sequence stays a comment (sops 3.13.2 would write a bare string).
    CHECK(encrypted_comment(list.elements[1]));
    CHECK(sv(list.elements[3].text).ends_with("type:bool]"));
    CHECK(sv(at(d, {"empty"}).text).empty());
    CHECK(at(d, {"nothing"}).type == Node::Type::null);
}

TEST_CASE("engine: list elements share the list's AAD, a top-level comment has AAD ':'") {
    Documents docs = sample();
    Metadata md = metadata_for(Selector{});
    DataKey key = generate_data_key();
    encrypt_documents(docs, md, key);
    ValueCipher cipher(key, nullptr);
    CHECK(sv(cipher.decrypt(sv(at(docs, {"list"}).elements[2].text), "list:").text) == "q");
    CHECK(sv(cipher.decrypt(sv(docs[0].items[1].key.text), ":").text) == " top comment");
    CHECK(cipher.decrypt(sv(at(docs, {"nested", "k", "other"}).text), "nested:k:other:").f == 1.5);
}

TEST_CASE("engine: key selectors apply to whole subtrees") {
    SECTION("encrypted_regex") {
        Documents d = round_trip(Selector{SelectorKind::encrypted_regex, "^(data|stringData)$"});
        CHECK(sv(at(d, {"apiVersion"}).text) == "v1");
        CHECK(encrypted(at(d, {"data", "a"})));
        CHECK(encrypted(at(d, {"data", "b_unencrypted"})));
        CHECK(at(d, {"list"}).elements[0] == Node::string("p"));
        CHECK(!encrypted_comment(d[0].items[1].key));  // top-level comments stay clear
    }
    SECTION("encrypted_suffix") {
        Documents d = round_trip(Selector{SelectorKind::encrypted_suffix, "_token"});
        CHECK(encrypted(at(d, {"nested", "k", "secret_token"})));
        CHECK(at(d, {"nested", "k", "other"}).type == Node::Type::floating);
    }
    SECTION("unencrypted_regex, unanchored search") {
        Documents d = round_trip(Selector{SelectorKind::unencrypted_regex, "ata"});
        CHECK(sv(at(d, {"data", "a"}).text) == "hunter2");
        CHECK(encrypted(at(d, {"apiVersion"})));
    }
    SECTION("unencrypted_suffix") {
        Documents d = round_trip(Selector{SelectorKind::unencrypted_suffix, "Version"});
        CHECK(sv(at(d, {"apiVersion"}).text) == "v1");
    }
}

TEST_CASE("engine: comment selectors follow sops' active-comment stack") {
    auto build = [] {
        Node doc = Node::mapping();
        doc.add("plain", Node::string("p"));
        add_comment(doc, " @encrypt");
        add_comment(doc, " following comment");
        doc.add("marked", Node::string("m"));
        doc.add("after", Node::string("a"));
        Node inner = Node::mapping();
        inner.add("deep", Node::string("d"));
        add_comment(doc, " @encrypt", true);
        doc.add("block", std::move(inner));
        Documents docs;
        docs.push_back(std::move(doc));
        return docs;
    };
    DataKey key = generate_data_key();
    SECTION("encrypted_comment_regex") {
        Documents docs = build();
        Metadata md = metadata_for(Selector{SelectorKind::encrypted_comment_regex, "@encrypt"});
        encrypt_documents(docs, md, key);
        const Node& doc = docs[0];
        CHECK(sv(doc.items[0].value.text) == "p");
        CHECK(sv(doc.items[1].key.text) == " @encrypt");  // the marker stays readable
        CHECK(encrypted_comment(doc.items[2].key));       // the comment after it does not
        CHECK(encrypted(doc.items[3].value));
        CHECK(sv(doc.items[4].value.text) == "a");  // the run was cleared by `marked`
        CHECK(doc.items[5].key.inline_comment);
        CHECK(encrypted(*doc.find("block")->find("deep")));
        Documents dec = docs;
        decrypt_documents(dec, md, key);
        Documents want = build();
        want[0].items[5].key.inline_comment = true;
        CHECK(sv(dec[0].items[2].key.text) == " following comment");
        CHECK(sv(dec[0].find("marked")->text) == "m");
    }
    SECTION("unencrypted_comment_regex") {
        Documents docs = build();
        Metadata md = metadata_for(Selector{SelectorKind::unencrypted_comment_regex, "@encrypt"});
        encrypt_documents(docs, md, key);
        CHECK(encrypted(*docs[0].find("plain")));
        CHECK(sv(docs[0].find("marked")->text) == "m");
        CHECK(sv(docs[0].find("block")->find("deep")->text) == "d");
        CHECK(encrypted(*docs[0].find("after")));
        Documents dec = docs;
        decrypt_documents(dec, md, key);
        CHECK(sv(dec[0].find("plain")->text) == "p");
    }
}

TEST_CASE("engine: mac_only_encrypted hashes only encrypted values") {
    Metadata full, only;
    round_trip(Selector{SelectorKind::encrypted_regex, "^data$"}, false, &full);
    Documents d = round_trip(Selector{SelectorKind::encrypted_regex, "^data$"}, true, &only);
    CHECK(only.mac_only_encrypted);
    // With mac_only_encrypted, changing a clear value goes unnoticed by the MAC.
    DataKey key = generate_data_key();
    Documents docs = sample();
    Metadata md = metadata_for(Selector{SelectorKind::encrypted_regex, "^data$"}, true);
    encrypt_documents(docs, md, key);
    docs[0].find("apiVersion")->text = to_sstring("v2");
    CHECK_NOTHROW(decrypt_documents(docs, md, key));
}

TEST_CASE("engine: tampering is detected and named by key path") {
    DataKey key = generate_data_key();
    Documents good = sample();
    Metadata md = metadata_for(Selector{});
    encrypt_documents(good, md, key);

    SECTION("a value moved to another key") {
        Documents d = good;
        std::swap(d[0].find("data")->find("a")->text, d[0].find("data")->find("n")->text);
        auto f = [&] {
            Documents x = d;
            decrypt_documents(x, md, key);
        };
        CHECK(code_of(f) == exit_code::error_decrypting_tree);
        CHECK(failure_of(f).message.find("data.a") != std::string::npos);
        CHECK(failure_of(f).message.find("hunter2") == std::string::npos);
    }
    SECTION("list elements reordered: values decrypt, the MAC notices") {
        Documents d = good;
        auto& list = d[0].find("list")->elements;
        std::swap(list[0], list[2]);
        CHECK(code_of([&] { decrypt_documents(d, md, key); }) == exit_code::mac_mismatch);
    }
    SECTION("a clear value changed") {
        Documents d = good;
        d[0].find("data")->find("b_unencrypted")->text = to_sstring("z");
        auto f = [&] {
            Documents x = d;
            decrypt_documents(x, md, key);
        };
        CHECK(code_of(f) == exit_code::mac_mismatch);
        CHECK(failure_of(f).message.find("sops.mac") != std::string::npos);
        Documents e = good;
        e[0].find("data")->find("b_unencrypted")->text = to_sstring("z");
        DecryptOptions ignore;
        ignore.ignore_mac = true;
        CHECK_NOTHROW(decrypt_documents(e, md, key, ignore));
    }
    SECTION("a plain value where an encrypted one belongs") {
        Documents d = good;
        d[0].find("data")->find("a")->text = to_sstring("plain");
        CHECK(code_of([&] { decrypt_documents(d, md, key); }) == exit_code::error_decrypting_tree);
        Documents e = good;
        *e[0].find("data")->find("n") = Node::integer(5);
        CHECK(code_of([&] { decrypt_documents(e, md, key); }) == exit_code::error_decrypting_tree);
    }
    SECTION("mac removed, changed, or lastmodified changed") {
        Documents d = good;
        Metadata m = md;
        m.mac.clear();
        CHECK(code_of([&] {
                  Documents x = d;
                  decrypt_documents(x, m, key);
              }) == exit_code::mac_mismatch);
        m = md;
        m.mac[m.mac.find("data:") + 6] ^= 1;
        CHECK(code_of([&] {
                  Documents x = d;
                  decrypt_documents(x, m, key);
              }) == exit_code::mac_mismatch);
        m = md;
        m.lastmodified = "2001-01-01T00:00:00Z";
        CHECK(code_of([&] {
                  Documents x = d;
                  decrypt_documents(x, m, key);
              }) == exit_code::mac_mismatch);
    }
    SECTION("a flipped bit in data, iv or tag") {
        for (auto field : {"data:", "iv:", "tag:"}) {
            Documents d = good;
            auto& text = d[0].find("data")->find("a")->text;
            std::size_t at = std::string_view(sv(text)).find(field) + std::string_view(field).size() + 1;
            text[at] = text[at] == 'A' ? 'B' : 'A';
            CHECK(code_of([&] { decrypt_documents(d, md, key); }) == exit_code::error_decrypting_tree);
        }
    }
}

TEST_CASE("engine: an encrypted comment stored as a sequence element fails the MAC, as in sops") {
    // sops 3.13.2's own output for a comment directly inside a list.
    DataKey key = generate_data_key();
    Documents docs = sample();
    Metadata md = metadata_for(Selector{});
    encrypt_documents(docs, md, key);
    Node& c = docs[0].find("list")->elements[1];
    REQUIRE(c.is_comment());
    c = Node::string(sv(c.text));  // `- ENC[...,type:comment]`
    Documents d = docs;
    CHECK(code_of([&] { decrypt_documents(d, md, key); }) == exit_code::mac_mismatch);
    DecryptOptions ignore;
    ignore.ignore_mac = true;
    Documents e = docs;
    decrypt_documents(e, md, key, ignore);
    CHECK(e[0].find("list")->elements[1] == Node::comment(" in list"));
}

TEST_CASE("engine: re-encryption keeps the ciphertext of unchanged values") {
    DataKey key = generate_data_key();
    Documents docs = sample();
    Metadata md = metadata_for(Selector{});
    encrypt_documents(docs, md, key);
    IvStash stash;
    Documents plain = docs;
    DecryptOptions o;
    o.stash = &stash;
    decrypt_documents(plain, md, key, o);

    Documents next = plain;
    next[0].find("data")->find("a")->text = to_sstring("changed");
    Metadata md2 = md;
    stash.rewind();
    EncryptOptions eo;
    eo.stash = &stash;
    encrypt_documents(next, md2, key, eo);
    CHECK(next[0].find("data")->find("n")->text == docs[0].find("data")->find("n")->text);
    CHECK(next[0].find("list")->elements[2].text == docs[0].find("list")->elements[2].text);
    CHECK(next[0].items[1].key.text == docs[0].items[1].key.text);
    CHECK(next[0].find("data")->find("a")->text != docs[0].find("data")->find("a")->text);
}
