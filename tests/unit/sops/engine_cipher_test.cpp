// The value codec, the MAC, Shamir, the IV stash and --extract paths, on known answers.
#include <catch2/catch.hpp>

#include <string>

#include "crypto/crypto.hpp"
#include "sops/cipher.hpp"
#include "sops/mac.hpp"
#include "sops/shamir.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

std::vector<std::uint8_t> unhex(std::string_view h) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

DataKey key_from_hex(std::string_view h) { return DataKey(unhex(h)); }

// KAT-1: flux kustomize-controller algorithms/age.yaml (sops 3.9.0).
constexpr std::string_view kFluxKey = "558e95c88337865c839703a4e892c03eed324ae6bbcb65c2989558e1a55825bb";
constexpr std::string_view kFluxValue =
    "ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:"
    "str]";
constexpr std::string_view kFluxMac =
    "ENC[AES256_GCM,data:vmrF+VgW3o8z4h/"
    "DOStCUNudz68yHEC8Mws+LPoKpM3Xc7GM0Z1CfX0TKwdLLjMuvyWa2Nx2NIxm0+MCbmR8+y2izn0hHPSWhNVC"
    "WSK+iW48M05vXhDCV0xNkqM7g0kLhQ3PiSrB69loQj8C590HIfEViEtyDCFUeynDgcC289Q=,iv:u5lhmtXMxyt+3Pw09wWvgBhmKLoOSpKNWUpu/"
    "LuCr3Y=,"
    "tag:Dg0HFdLgQltzPgnEmltAzQ==,type:str]";
constexpr std::string_view kFluxMacHex =
    "5E6C78D06EF2D302C2DBC6DE95E8050A5DC5D24A5EE3F394BEC133BC432257EAD15A476AE609FE74379E7120853F13A1B080772BE5F162AD69"
    "45A2"
    "5113B48862";

}  // namespace

TEST_CASE("engine: a value decrypts and re-encrypts byte for byte with its stashed IV (KAT-1)") {
    DataKey key = key_from_hex(kFluxKey);
    IvStash stash;
    ValueCipher cipher(key, &stash);
    Node v = cipher.decrypt(kFluxValue, "stringData:key:");
    REQUIRE(v.type == Node::Type::string);
    CHECK(sv(v.text) == "value");
    CHECK(stash.size() == 1);
    CHECK(cipher.encrypt(v, "stringData:key:") == kFluxValue);
    // The IV is used once; the next equal value gets a fresh one.
    CHECK(cipher.encrypt(v, "stringData:key:") != kFluxValue);
    stash.rewind();
    CHECK(cipher.encrypt(v, "stringData:key:") == kFluxValue);
}

TEST_CASE("engine: the MAC of KAT-1 is SHA-512 of the leaves, uppercase, sealed with lastmodified") {
    MacHasher mac(false);
    for (auto s : {"v1", "Secret", "age", "value"}) mac.add(Node::string(s));
    std::string hex = mac.finish();
    CHECK(hex == kFluxMacHex);
    DataKey key = key_from_hex(kFluxKey);
    IvStash stash;
    ValueCipher cipher(key, &stash);
    Node stored = cipher.decrypt(kFluxMac, "2024-11-12T13:33:42Z");
    CHECK(sv(stored.text) == hex);
    CHECK(cipher.encrypt_text(hex, "2024-11-12T13:33:42Z") == kFluxMac);
}

TEST_CASE("engine: wrong AAD, wrong key or a flipped bit fail without naming the value") {
    DataKey key = key_from_hex(kFluxKey);
    ValueCipher cipher(key, nullptr);
    CHECK_THROWS_AS(cipher.decrypt(kFluxValue, "stringData:other:"), CipherError);
    std::string flipped(kFluxValue);
    flipped[flipped.find("data:") + 6] ^= 1;
    CHECK_THROWS_AS(cipher.decrypt(flipped, "stringData:key:"), CipherError);
    DataKey other = key_from_hex("00" + std::string(kFluxKey.substr(2)));
    try {
        ValueCipher(other, nullptr).decrypt(kFluxValue, "stringData:key:");
        FAIL("decrypted with the wrong key");
    } catch (const CipherError& e) {
        CHECK(std::string(e.what()).find("value") == std::string::npos);
        CHECK(e.code() == exit_code::error_decrypting_tree);
    }
}

TEST_CASE("engine: typed leaves serialize as sops does and round-trip") {
    DataKey key = generate_data_key();
    ValueCipher cipher(key, nullptr);
    CHECK(sv(leaf_bytes(Node::boolean(true))) == "True");
    CHECK(sv(leaf_bytes(Node::boolean(false))) == "False");
    CHECK(sv(leaf_bytes(Node::integer(-12))) == "-12");
    CHECK(sv(leaf_bytes(Node::floating(1.0))) == "1");
    CHECK(sv(leaf_bytes(Node::floating(25.4))) == "25.4");
    CHECK(sv(leaf_bytes(Node::floating(1e21))) == "1000000000000000000000");
    for (const Node& n : {Node::string("x\ny"), Node::integer(9223372036854775807LL), Node::floating(-0.5),
                          Node::boolean(true), Node::time("2024-01-01T00:00:00Z"), Node::comment(" c")}) {
        std::string enc = cipher.encrypt(n, "a:");
        CHECK(enc.ends_with(",type:" + std::string(type_tag(n)) + "]"));
        CHECK(cipher.decrypt(enc, "a:") == n);
    }
    // Empty strings and comments are never encrypted.
    CHECK(cipher.encrypt(Node::string(""), "a:").empty());
    CHECK(cipher.encrypt(Node::comment(""), "a:").empty());
    CHECK(cipher.decrypt("", "a:") == Node::string(""));
}

TEST_CASE("engine: ENC[...] strings are split with the reader regex's semantics") {
    auto f = split_encrypted(kFluxValue);
    REQUIRE(f);
    CHECK(f->type == "str");
    CHECK(f->iv == "vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=");
    // Anchored at the start only: a trailing CR (dotenv with CRLF) still parses.
    const std::string with_cr = std::string(kFluxValue) + "\r";
    auto g = split_encrypted(with_cr);
    REQUIRE(g);
    CHECK(g->type == "str");
    CHECK(!split_encrypted(" " + std::string(kFluxValue)));
    CHECK(!split_encrypted("ENC[AES256_GCM,data:,iv:a,tag:b,type:str]"));
    CHECK(!split_encrypted("ENC[AES256_GCM,data:a\nb,iv:a,tag:b,type:str]"));
    // Greedy groups: the last ",iv:" that still lets the rest match wins.
    auto h = split_encrypted("ENC[AES256_GCM,data:x,iv:y,iv:z,tag:t,type:str]");
    REQUIRE(h);
    CHECK(h->data == "x,iv:y");
    CHECK(h->iv == "z");
}

TEST_CASE("engine: Shamir over GF(2^8) splits and combines with any threshold subset") {
    CHECK(shamir::gf_mul(0x53, 0xCA) == 0x01);  // AES field inverses
    CHECK(shamir::gf_inv(0x53) == 0xCA);
    CHECK(shamir::gf_mul(0x57, 0x83) == 0xC1);  // FIPS-197 example
    for (int a = 1; a < 256; ++a)
        CHECK(shamir::gf_mul(static_cast<std::uint8_t>(a), shamir::gf_inv(static_cast<std::uint8_t>(a))) == 1);

    DataKey key = generate_data_key();
    auto shares = shamir::split(key.span(), 3, 2);
    REQUIRE(shares.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(shares[i].size() == 33);
        CHECK(shares[i].back() == static_cast<std::uint8_t>(i + 1));
    }
    for (auto [a, b] : {std::pair{0, 1}, {0, 2}, {1, 2}}) {
        std::vector<SecureBytes> two{shares[static_cast<std::size_t>(a)], shares[static_cast<std::size_t>(b)]};
        auto secret = shamir::combine(two);
        CHECK(std::equal(secret.begin(), secret.end(), key.data()));
    }
    auto all = shamir::combine(shares);
    CHECK(std::equal(all.begin(), all.end(), key.data()));
    std::vector<SecureBytes> dup{shares[0], shares[0]};
    CHECK_THROWS(shamir::combine(dup));
    CHECK_THROWS(shamir::split(key.span(), 2, 3));
    CHECK_THROWS(shamir::split(key.span(), 3, 1));
}

TEST_CASE("engine: --extract paths parse as sops' parseTreePath") {
    auto p = parse_tree_path(R"(["a"]['b'][0])");
    REQUIRE(p.size() == 3);
    CHECK(p[0].key == "a");
    CHECK(p[1].key == "b");
    CHECK(p[2].is_index);
    CHECK(p[2].index == 0);
    CHECK(parse_tree_path("").empty());
    for (auto bad : {"a", "[\"a\"", "[x]", "[]", "[-1]", "[\"]"}) {
        try {
            parse_tree_path(bad);
            FAIL(bad);
        } catch (const Error& e) {
            CHECK(e.code() == exit_code::invalid_tree_path);
        }
    }
    Documents docs;
    Node doc = Node::mapping();
    Node list = Node::sequence();
    list.elements.push_back(Node::string("x"));
    doc.add("a", std::move(list));
    docs.push_back(std::move(doc));
    CHECK(sv(extract(docs, parse_tree_path(R"(["a"][0])")).text) == "x");
    CHECK_THROWS(extract(docs, parse_tree_path(R"(["a"][1])")));
    CHECK_THROWS(extract(docs, parse_tree_path(R"(["b"])")));
    CHECK_THROWS(extract(docs, parse_tree_path(R"([0])")));
}

TEST_CASE("engine: lastmodified is re-formatted as Go's RFC 3339") {
    CHECK(normalize_lastmodified("2024-11-12T13:33:42Z") == "2024-11-12T13:33:42Z");
    CHECK(normalize_lastmodified("2024-11-12T13:33:42.123456Z") == "2024-11-12T13:33:42Z");
    CHECK(normalize_lastmodified("2024-11-12T13:33:42+00:00") == "2024-11-12T13:33:42Z");
    CHECK(normalize_lastmodified("2024-11-12T13:33:42-05:30") == "2024-11-12T13:33:42-05:30");
    CHECK(normalize_lastmodified("2024-11-12T3:33:42Z") == "2024-11-12T03:33:42Z");
    for (auto bad : {"", "2024-11-12", "2024-11-12 13:33:42Z", "2024-13-12T13:33:42Z", "2024-02-30T13:33:42Z",
                     "2024-11-12T13:33:42", "2024-11-12t13:33:42Z"})
        CHECK_THROWS(normalize_lastmodified(bad));
    std::string now = now_lastmodified();
    CHECK(normalize_lastmodified(now) == now);
}
