// The data key: wrapped per age recipient, Shamir across key groups, unwrapped by any identity.
#include <catch2/catch.hpp>

#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

struct Key {
    age::X25519Keypair pair = age::generate_x25519();
    age::Identities identities() const { return age::parse_identity_file(pair.identity, "test identity"); }
};

bool same(const DataKey& a, const DataKey& b) { return std::equal(a.data(), a.data() + 32, b.data()); }

int code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

}  // namespace

TEST_CASE("engine: one group: every recipient gets the whole key in its own armored age file") {
    Key a, b;
    DataKey key = generate_data_key();
    int threshold = 0;
    auto groups = wrap_data_key(key, {{a.pair.recipient, " " + b.pair.recipient + " "}}, threshold);
    REQUIRE(groups.size() == 1);
    REQUIRE(groups[0].age.size() == 2);
    CHECK(threshold == 0);
    CHECK(groups[0].age[1].recipient == b.pair.recipient);  // trimmed
    for (const auto& e : groups[0].age) {
        CHECK(e.enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        CHECK(e.enc.ends_with("\n-----END AGE ENCRYPTED FILE-----\n"));
    }
    Metadata md = new_metadata(Format::yaml, Selector{}, false, groups, threshold);
    for (const Key* k : {&a, &b}) {
        FixedIdentities ids(k->identities());
        CHECK(same(get_data_key(md, ids), key));
    }
    Key stranger;
    FixedIdentities none(stranger.identities());
    try {
        get_data_key(md, none);
        FAIL("opened with a stranger's key");
    } catch (const Error& e) {
        CHECK(e.code() == exit_code::could_not_retrieve_key);
        CHECK(std::string(e.what()).find(a.pair.recipient) != std::string::npos);
        CHECK(std::string(e.what()).find(b.pair.recipient) != std::string::npos);
    }
}

TEST_CASE("engine: several groups split the key with Shamir; the threshold decides") {
    Key a, b, c;
    DataKey key = generate_data_key();
    int threshold = 0;
    auto groups = wrap_data_key(key, {{a.pair.recipient}, {b.pair.recipient}, {c.pair.recipient}}, threshold);
    CHECK(threshold == 3);  // defaults to the number of groups
    Metadata md = new_metadata(Format::yaml, Selector{}, false, groups, threshold);
    md.lastmodified = now_lastmodified();
    Node written = metadata_node(md);
    REQUIRE(written.find("key_groups"));
    CHECK(written.find("key_groups")->elements.size() == 3);
    CHECK(written.find("shamir_threshold")->i == 3);

    struct All : IdentitySource {
        age::Identities ids;
        const age::Identities& identities(std::string_view) override { return ids; }
    };
    All all;
    for (const Key* k : {&a, &b, &c})
        for (auto& id : k->identities()) all.ids.push_back(std::move(id));
    CHECK(same(get_data_key(parse_metadata(written), all), key));

    All two;
    for (const Key* k : {&a, &c})
        for (auto& id : k->identities()) two.ids.push_back(std::move(id));
    CHECK(code_of([&] { get_data_key(md, two); }) == exit_code::could_not_retrieve_key);
    md.shamir_threshold = 2;  // a 2-of-3 file: two groups suffice
    int t2 = 2;
    md.key_groups = wrap_data_key(key, {{a.pair.recipient}, {b.pair.recipient}, {c.pair.recipient}}, t2);
    CHECK(same(get_data_key(md, two), key));
}

TEST_CASE("engine: bad recipients and empty groups are refused") {
    DataKey key = generate_data_key();
    int t = 0;
    CHECK_THROWS(wrap_data_key(key, {{"age1notarecipient"}}, t));
    CHECK_THROWS(wrap_data_key(key, {{}}, t));
    CHECK_THROWS(wrap_data_key(key, {}, t));
    CHECK(split_recipients(" age1a , ,age1b,") == std::vector<std::string>{"age1a", "age1b"});
    CHECK(split_recipients("").empty());
}

TEST_CASE("engine: encrypt_plaintext is sops encrypt without the I/O") {
    Key a;
    CreationRule rule;
    rule.age_groups = {{a.pair.recipient}};
    rule.selectors.encrypted_regex = "^data$";
    std::string out = encrypt_plaintext("kind: Secret\ndata:\n    k: v\n", rule, Format::yaml, Format::json, {}, {});
    CHECK(out.find("\"kind\": \"Secret\"") != std::string::npos);
    CHECK(out.find("\"encrypted_regex\": \"^data$\"") != std::string::npos);
    EncryptedFile f = load_encrypted(out, Format::json);
    FixedIdentities ids(a.identities());
    DataKey key = get_data_key(f.metadata, ids);
    decrypt_documents(f.documents, f.metadata, key);
    CHECK(emit_plain(f.documents, Format::yaml) == "kind: Secret\ndata:\n    k: v\n");

    CHECK(code_of([&] { encrypt_plaintext("", rule, Format::yaml, Format::yaml, {}, {}); }) == exit_code::empty_file);
    CHECK(code_of([&] { encrypt_plaintext("sops: 1\n", rule, Format::yaml, Format::yaml, {}, {}); }) ==
          exit_code::file_already_encrypted);
    CHECK(code_of([&] { encrypt_plaintext("sops_x=1\n", rule, Format::dotenv, Format::dotenv, {}, {}); }) ==
          exit_code::file_already_encrypted);
    rule.selectors.encrypted_suffix = "_x";
    CHECK(code_of([&] { encrypt_plaintext("a: 1\n", rule, Format::yaml, Format::yaml, {}, {}); }) ==
          exit_code::conflicting_options);
    // The binary store ignores selectors and records none.
    std::string bin = encrypt_plaintext("raw\x01 bytes", rule, Format::binary, Format::binary, {}, {});
    CHECK(bin.find("_regex") == std::string::npos);
    CHECK(bin.find("_suffix") == std::string::npos);
}

TEST_CASE("engine: reencrypt keeps the bytes of an unchanged file and the key entries of a changed one") {
    Key a;
    CreationRule rule;
    rule.age_groups = {{a.pair.recipient}};
    const std::string plain = "# head\nuser: admin\npassword: hunter2 # inline\nlist:\n    - a\n    - a\n";
    std::string v1 = encrypt_plaintext(plain, rule, Format::yaml, Format::yaml, {}, {});
    FixedIdentities ids(a.identities());
    OpenedFile prev = open_encrypted(v1, Format::yaml, {}, ids);
    Documents same_docs = load_plain_for_encryption(plain, Format::yaml);
    CHECK(same_plaintext(prev, same_docs));
    CHECK(reencrypt(prev, v1, same_docs, Format::yaml) == v1);

    Documents changed = load_plain_for_encryption(
        "# head\nuser: root\npassword: hunter2 # inline\nlist:\n    - a\n    - a\n", Format::yaml);
    std::string v2 = reencrypt(prev, v1, changed, Format::yaml);
    auto line_of = [](const std::string& text, std::string_view prefix) {
        auto at = text.find(prefix);
        return text.substr(at, text.find('\n', at) - at);
    };
    CHECK(line_of(v2, "password:") == line_of(v1, "password:"));  // value and inline comment kept
    CHECK(line_of(v2, "user:") != line_of(v1, "user:"));
    CHECK(line_of(v2, "- enc:") == line_of(v1, "- enc:"));
    CHECK(line_of(v2, "#ENC") == line_of(v1, "#ENC"));
    // Equal list elements keep their own (different) ciphertexts.
    auto first = v2.find("    - ENC");
    auto second = v2.find("    - ENC", first + 1);
    CHECK(v2.substr(first, v2.find('\n', first) - first) != v2.substr(second, v2.find('\n', second) - second));
    OpenedFile next = open_encrypted(v2, Format::yaml, {}, ids);
    CHECK(next.plaintext == changed);
    CHECK(same(next.key, prev.key));
}

TEST_CASE("engine: reencrypt wraps the same data key anew when the rule's recipients changed") {
    Key a, b;
    CreationRule rule;
    rule.age_groups = {{a.pair.recipient}};
    const std::string plain = "user: admin\npassword: hunter2\n";
    std::string v1 = encrypt_plaintext(plain, rule, Format::yaml, Format::yaml, {}, {});
    FixedIdentities ids_a(a.identities());
    OpenedFile prev = open_encrypted(v1, Format::yaml, {}, ids_a);
    Documents same_docs = load_plain_for_encryption(plain, Format::yaml);

    CHECK(same_recipients(prev.metadata, rule.age_groups));
    CHECK(reencrypt(prev, v1, same_docs, Format::yaml, {}, &rule) == v1);

    CreationRule wider = rule;
    wider.age_groups = {{b.pair.recipient, a.pair.recipient}};
    CHECK(!same_recipients(prev.metadata, wider.age_groups));
    std::string v2 = reencrypt(prev, v1, same_docs, Format::yaml, {}, &wider);
    CHECK(v2 != v1);
    FixedIdentities ids_b(b.identities());
    OpenedFile next = open_encrypted(v2, Format::yaml, {}, ids_b);
    CHECK(same(next.key, prev.key));
    CHECK(next.plaintext == prev.plaintext);
    // Unchanged values keep their ciphertext under the same data key.
    auto line_of = [](const std::string& text, std::string_view prefix) {
        auto at = text.find(prefix);
        return text.substr(at, text.find('\n', at) - at);
    };
    CHECK(line_of(v2, "password:") == line_of(v1, "password:"));
    CHECK(next.metadata.age_recipients() == std::vector<std::string>{b.pair.recipient, a.pair.recipient});
}
