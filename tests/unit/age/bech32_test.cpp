#include "age/bech32.hpp"

#include <catch2/catch.hpp>

#include "age/x25519.hpp"
#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

TEST_CASE("bech32: the CCTV identity encodes the CCTV recipient") {
    const auto identity = X25519Identity::parse(agetest::kCctvIdentity);
    CHECK(identity->recipient()->to_string() == agetest::kCctvRecipient);
    CHECK(view_of(identity->to_string()) == agetest::kCctvIdentity);
    CHECK(X25519Recipient::parse(agetest::kCctvRecipient)->to_string() == agetest::kCctvRecipient);

    const auto d = bech32::decode(agetest::kCctvIdentity);
    CHECK(d.hrp == "AGE-SECRET-KEY-");
    CHECK(agetest::hex(d.data) == "ca1626252c53cf1a4dc46695e7fcc46594cb4ccadedb6712dfda0753f3ae355e");
}

TEST_CASE("bech32: encode and decode round trip without a length limit") {
    for (std::size_t n : {0u, 1u, 2u, 5u, 31u, 32u, 33u, 1200u}) {
        agetest::Bytes data(n);
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 37 + 11);
        const std::string lower = bech32::encode("age", data);
        const auto d = bech32::decode(lower);
        CHECK(d.hrp == "age");
        CHECK(agetest::Bytes(d.data.begin(), d.data.end()) == data);
        const std::string upper = bech32::encode("AGE-PLUGIN-X-", data);
        CHECK(upper == "AGE-PLUGIN-X-1" + upper.substr(14));
        CHECK(bech32::decode(upper).hrp == "AGE-PLUGIN-X-");
    }
}

TEST_CASE("bech32: the checksum covers the lowercase HRP, so either case decodes") {
    std::string upper(agetest::kCctvRecipient);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(bech32::decode(upper).hrp == "AGE");
    // ...but an X25519 recipient must be lowercase and an identity uppercase.
    CHECK_THROWS_AS(X25519Recipient::parse(upper), AgeError);
    std::string lower(agetest::kCctvIdentity);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK_THROWS_AS(X25519Identity::parse(lower), AgeError);
}

TEST_CASE("bech32: strict decoding") {
    std::string bad(agetest::kCctvRecipient);
    bad.back() = bad.back() == 'q' ? 'p' : 'q';
    CHECK_THROWS_WITH(bech32::decode(bad), Catch::Contains("checksum"));

    std::string mixed(agetest::kCctvRecipient);
    mixed[5] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[5])));
    CHECK_THROWS_WITH(bech32::decode(mixed), Catch::Contains("case"));

    CHECK_THROWS_AS(bech32::decode("1qqqqqqqq"), bech32::Error);       // empty HRP
    CHECK_THROWS_AS(bech32::decode("age1qqqqq"), bech32::Error);       // under 6 checksum characters
    CHECK_THROWS_AS(bech32::decode("agexqqqqqqq"), bech32::Error);     // no separator
    CHECK_THROWS_AS(bech32::decode("age1qqqqqqbqqq"), bech32::Error);  // 'b' is not in the alphabet
    CHECK_THROWS_AS(bech32::decode(std::string("a\x7f" "e1qqqqqq")), bech32::Error);
}

namespace {
// An independent BIP-173 checksum (spec §6.2), to build strings with chosen 5-bit groups.
std::string with_checksum(std::string_view hrp, std::vector<std::uint8_t> groups) {
    static constexpr std::string_view alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const std::uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    std::vector<std::uint8_t> values;
    for (char c : hrp) values.push_back(static_cast<std::uint8_t>(c >> 5));
    values.push_back(0);
    for (char c : hrp) values.push_back(static_cast<std::uint8_t>(c & 31));
    values.insert(values.end(), groups.begin(), groups.end());
    values.resize(values.size() + 6, 0);
    std::uint32_t chk = 1;
    for (std::uint8_t v : values) {
        const std::uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (int i = 0; i < 5; ++i)
            if ((top >> i) & 1) chk ^= gen[i];
    }
    chk ^= 1;
    for (int i = 0; i < 6; ++i) groups.push_back(static_cast<std::uint8_t>((chk >> (5 * (5 - i))) & 31));
    std::string out = std::string(hrp) + "1";
    for (std::uint8_t g : groups) out.push_back(alphabet[g]);
    return out;
}
}  // namespace

TEST_CASE("bech32: padding must be short and zero") {
    CHECK(with_checksum("x", {31, 28}) == bech32::encode("x", agetest::Bytes{0xff}));
    CHECK(bech32::decode(with_checksum("x", {31, 28})).data.size() == 1);
    CHECK_THROWS_WITH(bech32::decode(with_checksum("x", {31, 29})), Catch::Contains("padding"));      // non-zero
    CHECK_THROWS_WITH(bech32::decode(with_checksum("x", {31, 28, 0})), Catch::Contains("padding"));   // 7 bits
    CHECK_THROWS_WITH(bech32::decode(with_checksum("x", {0, 0, 0, 0, 0, 0})), Catch::Contains("padding"));
    CHECK(bech32::decode(with_checksum("x", {})).data.empty());
}

TEST_CASE("X25519 keys are parsed strictly and never echoed") {
    const auto short_key = bech32::encode("age", agetest::Bytes(31, 1));
    CHECK_THROWS_WITH(X25519Recipient::parse(short_key), Catch::Contains("32 bytes"));
    const auto wrong_hrp = bech32::encode("agx", agetest::Bytes(32, 1));
    CHECK_THROWS_AS(X25519Recipient::parse(wrong_hrp), AgeError);

    std::string secret(agetest::kCctvIdentity);
    secret[20] = secret[20] == 'Q' ? 'P' : 'Q';
    try {
        (void)X25519Identity::parse(secret);
        FAIL("a corrupted identity parsed");
    } catch (const AgeError& e) {
        CHECK(e.failure() == Failure::usage);
        CHECK(std::string(e.what()).find(secret.substr(16, 20)) == std::string::npos);
    }
}

TEST_CASE("generate_x25519 gives a matching canonical pair") {
    const X25519Keypair kp = generate_x25519();
    CHECK(kp.recipient.starts_with("age1"));
    CHECK(kp.recipient.size() == 62);
    CHECK(view_of(kp.identity).starts_with("AGE-SECRET-KEY-1"));
    CHECK(kp.identity.size() == 74);
    CHECK(X25519Identity::parse(view_of(kp.identity))->recipient()->to_string() == kp.recipient);
    CHECK(generate_x25519().recipient != kp.recipient);
}
