#include "age/identity_file.hpp"

#include <catch2/catch.hpp>

#include "age/bech32.hpp"
#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

std::string message_of_identities(const std::string& text) {
    try {
        (void)parse_identity_file(bytes_of(text), "keys.txt");
    } catch (const AgeError& e) {
        CHECK(e.failure() == Failure::usage);
        return e.what();
    }
    return "";
}

std::string message_of_recipients(const std::string& text) {
    try {
        (void)parse_recipients_file(text, "recipients.txt");
    } catch (const AgeError& e) {
        CHECK(e.failure() == Failure::usage);
        return e.what();
    }
    return "";
}

const std::string kId(agetest::kCctvIdentity);
const std::string kRcpt(agetest::kCctvRecipient);

}  // namespace

TEST_CASE("identity file: comments, empty lines and CRLF") {
    const X25519Keypair other = generate_x25519();
    const std::string text = "# created: 2021-01-02T15:30:45+01:00\r\n# public key: " + kRcpt + "\r\n" + kId +
                             "\r\n\r\n#" + "\n" + std::string(view_of(other.identity));  // no final LF
    const Identities ids = parse_identity_file(bytes_of(text), "keys.txt");
    REQUIRE(ids.size() == 2);
    CHECK(ids[0]->recipient()->to_string() == kRcpt);
    CHECK(ids[1]->recipient()->to_string() == other.recipient);
    CHECK(identity_file_recipients(bytes_of(text), "keys.txt") == std::vector<std::string>{kRcpt, other.recipient});
}

TEST_CASE("identity file: errors name the file and line, never the key") {
    CHECK_THAT(message_of_identities("# a\n " + kId + "\n"), Catch::Contains("keys.txt: line 2"));
    CHECK_THAT(message_of_identities(kId + " \n"), Catch::Contains("line 1"));
    CHECK_THAT(message_of_identities("\n\n" + kRcpt + "\n"),
               Catch::Contains("line 3") && Catch::Contains("apparent recipient found"));
    CHECK_THAT(message_of_identities("# only comments\n\n"), Catch::Contains("no identities found"));
    CHECK_THAT(message_of_identities(""), Catch::Contains("no identities found"));
    std::string corrupt = kId;
    corrupt[30] = corrupt[30] == 'Q' ? 'P' : 'Q';
    const std::string m = message_of_identities("# x\n" + corrupt + "\n");
    CHECK_THAT(m, Catch::Contains("line 2") && Catch::Contains("checksum"));
    CHECK(m.find(corrupt.substr(16)) == std::string::npos);
    CHECK_THAT(message_of_identities("   \n"), Catch::Contains("line 1"));  // spaces are not empty
}

TEST_CASE("identity file: post-quantum identities are skipped beside usable ones, refused alone") {
    const std::string pq = bech32::encode("AGE-SECRET-KEY-PQ-", agetest::Bytes(32, 7));
    CHECK_THAT(message_of_identities("#\n" + pq + "\n"),
               Catch::Contains("line 2") && Catch::Contains("post-quantum") && Catch::Contains("not supported"));
    const std::string mixed = pq + "\n" + kId + "\n";
    const Identities ids = parse_identity_file(bytes_of(mixed), "keys.txt");
    REQUIRE(ids.size() == 1);
    CHECK(ids[0]->recipient()->to_string() == kRcpt);
    // keygen -y cannot print a recipient for it.
    CHECK_THROWS_WITH(identity_file_recipients(bytes_of(mixed), "keys.txt"), Catch::Contains("line 1"));
    // A damaged one is still an error.
    std::string corrupt = pq;
    corrupt[25] = corrupt[25] == 'Q' ? 'P' : 'Q';
    CHECK_THAT(message_of_identities(corrupt + "\n" + kId + "\n"), Catch::Contains("line 1"));
    const std::string plugin = bech32::encode("AGE-PLUGIN-YUBIKEY-", agetest::Bytes(20, 1));
    CHECK_THAT(message_of_identities(plugin + "\n"), Catch::Contains("plugin"));
}

TEST_CASE("recipients file and single recipients") {
    const X25519Keypair other = generate_x25519();
    const std::string text = "# team\r\n" + kRcpt + "\r\n\n" + other.recipient + "\n";
    const Recipients rs = parse_recipients_file(text, "recipients.txt");
    REQUIRE(rs.size() == 2);
    CHECK(rs[0]->to_string() == kRcpt);
    CHECK(rs[1]->to_string() == other.recipient);

    CHECK_THAT(message_of_recipients("\n" + kId + "\n"),
               Catch::Contains("line 2") && Catch::Contains("apparent identity found"));
    CHECK(message_of_recipients("\n" + kId + "\n").find(kId.substr(16)) == std::string::npos);
    CHECK_THAT(message_of_recipients("hello world\n"),
               Catch::Contains("line 1") && Catch::Contains("malformed recipient"));
    CHECK_THAT(message_of_recipients("# nothing\n"), Catch::Contains("no recipients"));
    CHECK_THAT(message_of_recipients(std::string(9000, 'a') + "\n"), Catch::Contains("8 KiB"));
    CHECK_THAT(message_of_recipients("age1pq1qqqqqq\n"), Catch::Contains("not supported"));
    CHECK_THAT(message_of_recipients("age1yubikey1qqqqqq\n"), Catch::Contains("plugin"));

    CHECK(parse_recipient(kRcpt)->to_string() == kRcpt);
    CHECK_THROWS_WITH(parse_recipient(kRcpt.substr(0, 61) + "x"), Catch::Contains(kRcpt.substr(0, 61)));
    try {
        (void)parse_recipient(kId);
        FAIL("an identity parsed as a recipient");
    } catch (const AgeError& e) {
        CHECK(std::string(e.what()).find(kId.substr(16)) == std::string::npos);
    }
}

TEST_CASE("key_lines keeps line numbers and drops one CR") {
    const auto lines = key_lines("a\r\n#b\n\nc\r\r\n d");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].number == 1);
    CHECK(lines[0].text == "a");
    CHECK(lines[1].number == 4);
    CHECK(lines[1].text == "c\r");
    CHECK(lines[2].number == 5);
    CHECK(lines[2].text == " d");
}

TEST_CASE("passphrase-encrypted identity file") {
    const X25519Keypair kp = generate_x25519();
    Recipients pass;
    pass.push_back(scrypt_recipient(bytes_of("hunter2"), 10));
    const std::string encrypted = encrypt(pass, kp.identity, true);
    int asked = 0;
    const PassphraseFn fn = [&](std::string_view prompt) {
        ++asked;
        CHECK_THAT(std::string(prompt), Catch::Contains("keys.age"));
        return secure_copy("hunter2");
    };
    const Identities ids = parse_identity_file(bytes_of(encrypted), "keys.age", fn);
    CHECK(asked == 1);
    REQUIRE(ids.size() == 1);
    CHECK(ids[0]->recipient()->to_string() == kp.recipient);
    const PassphraseFn wrong = [](std::string_view) { return secure_copy("nope"); };
    CHECK_THROWS_WITH(parse_identity_file(bytes_of(encrypted), "keys.age", wrong),
                      Catch::Contains("incorrect passphrase"));
    CHECK_THROWS_AS(parse_identity_file(bytes_of(encrypted), "keys.age"), AgeError);
}
