// The worked values of spec §6.5 (CCTV vector `x25519`), step by step.
#include "age/x25519.hpp"

#include <catch2/catch.hpp>

#include "age/format.hpp"
#include "age/stream.hpp"
#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;
using agetest::hex;
using agetest::unhex;

namespace {
const std::string kVector = GITSOPS_SHARED "/testdata/age-vectors/x25519";

agetest::Bytes vector_body() {
    const agetest::Bytes raw = agetest::read_file(kVector);
    const std::string_view text = view_of(raw);
    const std::size_t at = text.find("\n\n");
    REQUIRE(at != std::string_view::npos);
    return agetest::Bytes(raw.begin() + static_cast<std::ptrdiff_t>(at + 2), raw.end());
}
}  // namespace

TEST_CASE("X25519 worked values of spec 6.5") {
    const auto scalar = unhex("ca1626252c53cf1a4dc46695e7fcc46594cb4ccadedb6712dfda0753f3ae355e");
    const auto own_public = crypto::x25519_base(scalar);
    CHECK(hex(own_public) == "36dcec3f5f24739a0c8b36cbb4ffa25729a94a51d41fb205a37419fe7f5adb2a");

    const agetest::Bytes file = vector_body();
    const format::Header header = format::parse_header(file);
    REQUIRE(header.stanzas.size() == 1);
    const Stanza& s = header.stanzas[0];
    CHECK(s.type == "X25519");
    const auto share = crypto::base64_decode(s.args.at(0), false);
    REQUIRE(share);
    CHECK(hex(*share) == "4c4885d32a6aafe6e9bdca973720952692fb3aec0f755c0f2fb29011b1433827");

    const auto shared = crypto::x25519(scalar, *share);
    REQUIRE(shared);
    CHECK(hex(shared->span()) == "3e6809a7c389ed0a1462d2e3a283ef87f1e205393ce0036916c2ddca6622a370");

    agetest::Bytes salt(share->begin(), share->end());
    salt.insert(salt.end(), own_public.begin(), own_public.end());
    std::array<std::uint8_t, 32> wrap{};
    crypto::hkdf_sha256(shared->span(), salt, "age-encryption.org/v1/X25519", wrap);
    CHECK(hex(wrap) == "5e7e89500119f0097a93c06cc172436782b9f8da89dd736352321e19923706b8");

    const auto file_key = format::open_file_key(wrap, s.body);
    REQUIRE(file_key);
    CHECK(hex(file_key->span()) == "59454c4c4f57205355424d4152494e45");

    std::array<std::uint8_t, 32> mac_key{};
    crypto::hkdf_sha256(file_key->span(), {}, "header", mac_key);
    CHECK(hex(mac_key) == "a4bf3b9f4e908993e678eb71e558faedac5829d1d632c50225217c066fec77d2");
    CHECK(header.mac_input.size() == 123);
    CHECK(header.mac_input.ends_with("41FLE\n---"));
    CHECK(hex(format::header_mac(*file_key, header.mac_input)) ==
          "5b2269f45ffd14e661ee025d85eab658825cc0781873c348561ddd77086b70d8");
    CHECK(hex(header.mac) == "5b2269f45ffd14e661ee025d85eab658825cc0781873c348561ddd77086b70d8");

    stream::Nonce nonce{};
    std::copy_n(file.begin() + static_cast<std::ptrdiff_t>(header.size), nonce.size(), nonce.begin());
    CHECK(hex(nonce) == "eecf62c7ce91b433274e68d4f2f9134c");
    CHECK(hex(stream::payload_key(*file_key, nonce).span()) ==
          "6b6c189a7af0e7b1dba932c87080d8926b2de53fbf9eac516394701223669022");
    CHECK(file.size() - header.size - nonce.size() == 19);  // one final chunk: "age" + tag

    // And the identity does all of the above by itself.
    const auto identity = X25519Identity::parse(agetest::kCctvIdentity);
    const auto unwrapped = identity->unwrap(header.stanzas);
    REQUIRE(unwrapped);
    CHECK(hex(unwrapped->span()) == "59454c4c4f57205355424d4152494e45");
}

TEST_CASE("X25519 unwrap: foreign stanzas are skipped, malformed own ones are fatal") {
    const auto identity = X25519Identity::parse(agetest::kCctvIdentity);
    const auto recipient = identity->recipient();
    FileKey key;
    crypto::random_bytes(key.span());
    std::vector<Stanza> stanzas = recipient->wrap(key);
    REQUIRE(stanzas.size() == 1);
    CHECK(stanzas[0].args.at(0).size() == 43);
    CHECK(stanzas[0].body.size() == 32);

    std::vector<Stanza> with_foreign = {Stanza{"x25519", {"A"}, "b"}, Stanza{"grease", {}, ""}, stanzas[0]};
    const auto got = identity->unwrap(with_foreign);
    REQUIRE(got);
    CHECK(hex(got->span()) == hex(key.span()));

    const auto header_failure = [&](Stanza s) {
        return agetest::failure_of([&] { (void)identity->unwrap(std::vector<Stanza>{s}); }) == Failure::header;
    };
    Stanza extra = stanzas[0];
    extra.args.push_back("x");
    CHECK(header_failure(extra));
    Stanza long_body = stanzas[0];
    long_body.body.push_back('x');
    CHECK(header_failure(long_body));
    Stanza zero_share = stanzas[0];
    zero_share.args[0] = crypto::base64_encode(std::array<std::uint8_t, 32>{}, false);
    CHECK(header_failure(zero_share));
    Stanza padded = stanzas[0];
    padded.args[0] += "=";
    CHECK(header_failure(padded));

    // A wrong tag (another key) is "not mine".
    Stanza other = stanzas[0];
    other.body[0] = static_cast<char>(other.body[0] ^ 1);
    CHECK_FALSE(identity->unwrap(std::vector<Stanza>{other}).has_value());
}
