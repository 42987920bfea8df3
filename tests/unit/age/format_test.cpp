#include "age/format.hpp"

#include <catch2/catch.hpp>

#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

const std::string kMac = "WyJp9F/9FOZh7gJdheq2WIJcwHgYc8NIVh3ddwhrcNg";

std::optional<Failure> parse_failure(const std::string& header) {
    return agetest::failure_of([&] { (void)format::parse_header(bytes_of(header)); });
}

std::string message_of(const std::string& header) {
    try {
        (void)format::parse_header(bytes_of(header));
    } catch (const AgeError& e) {
        return e.what();
    }
    return "";
}

std::string with_stanza(const std::string& stanza_text) {
    return "age-encryption.org/v1\n" + stanza_text + "--- " + kMac + "\n";
}

}  // namespace

TEST_CASE("header: canonical stanzas round trip, bodies end with a short line") {
    for (std::size_t n : {0u, 1u, 47u, 48u, 49u, 95u, 96u, 97u, 300u}) {
        Stanza s{"type", {"a", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}, std::string(n, 'z')};
        const std::string text = format::encode_stanza(s);
        // Full lines are 64 columns, then one shorter (possibly empty) line.
        std::size_t body_lines = 0;
        for (std::size_t at = text.find('\n') + 1; at < text.size(); at = text.find('\n', at) + 1) ++body_lines;
        CHECK(body_lines == n / 48 + 1);
        const format::Mac mac{};
        const std::string header = format::serialise_header(std::vector<Stanza>{s, s}, mac);
        const format::Header h = format::parse_header(bytes_of(header + "payload"));
        REQUIRE(h.stanzas.size() == 2);
        CHECK(h.stanzas[0] == s);
        CHECK(h.size == header.size());
        CHECK(h.mac_input == header.substr(0, header.size() - 45));
        CHECK(h.mac_input.ends_with("\n---"));
    }
}

TEST_CASE("header: strictness of the version, stanza and MAC lines") {
    const std::string good = with_stanza("-> X25519 abc\n\n");
    REQUIRE_FALSE(parse_failure(good));

    CHECK(parse_failure("") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v2\n-> X\n\n--- " + kMac + "\n") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1\n--- " + kMac + "\n") == Failure::header);  // no stanza
    CHECK(parse_failure(with_stanza("->X25519 abc\n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> X25519  abc\n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> X25519 abc \n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("->\n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> \n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> X25519\tabc\n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> X25519 \xc3\xa9\n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> X25519 abc\nAA=\n")) == Failure::header);      // padding
    CHECK(parse_failure(with_stanza("-> X25519 abc\nAB\n")) == Failure::header);       // non-canonical bits
    CHECK(parse_failure(with_stanza("-> X25519 abc\nA\n")) == Failure::header);        // length 1 mod 4
    CHECK(parse_failure(with_stanza("-> X25519 abc\n")) == Failure::header);           // no body line
    CHECK(parse_failure(with_stanza("-> X25519 abc\n\n\n")) == Failure::header);       // two short lines
    CHECK(parse_failure("age-encryption.org/v1\n-> X25519 abc\n\n---" + kMac + "\n") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1\n-> X25519 abc\n\n---  " + kMac + "\n") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1\n-> X25519 abc\n\n--- " + kMac + " \n") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1\n-> X25519 abc\n\n--- \n") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1\n-> X25519 abc\n\n--- " + kMac.substr(1) + "\n") == Failure::header);
    CHECK(parse_failure("age-encryption.org/v1\n-> X25519 abc\n\n--- " + kMac) == Failure::header);  // no LF

    CHECK_THAT(message_of(with_stanza("-> X25519  abc\n\n")), Catch::Contains("line 2") && Catch::Contains("empty"));
    CHECK_THAT(message_of(with_stanza("-> X25519 abc\nAA=\n")), Catch::Contains("line 3"));
    CHECK_THAT(message_of("age-encryption.org/v2\n"), Catch::Contains("unsupported"));
}

TEST_CASE("header: a missing final body line names the cause") {
    const std::string full_line(64, 'A');
    const std::string missing = with_stanza("-> X25519 abc\n" + full_line + "\n");
    CHECK(parse_failure(missing) == Failure::header);
    CHECK_THAT(message_of(missing), Catch::Contains("line 4") && Catch::Contains("final line"));
    CHECK_FALSE(parse_failure(with_stanza("-> X25519 abc\n" + full_line + "\n\n")));
}

TEST_CASE("header: CRLF and overlong lines are header failures") {
    CHECK(parse_failure("age-encryption.org/v1\r\n-> X25519 abc\r\n\r\n--- " + kMac + "\r\n") == Failure::header);
    CHECK_THAT(message_of("age-encryption.org/v1\r\n"), Catch::Contains("carriage return"));
    CHECK(parse_failure(with_stanza("-> X25519 abc\r\n\n")) == Failure::header);
    CHECK(parse_failure(with_stanza("-> X25519 abc\n" + std::string(68, 'A') + "\n\n")) == Failure::header);
    CHECK_THAT(message_of(with_stanza("-> X25519 abc\n" + std::string(68, 'A') + "\n\n")),
               Catch::Contains("longer than 64"));
    // A single line beyond the header size cap is refused without reading it all.
    const std::string huge = "age-encryption.org/v1\n-> X25519 " + std::string(format::kMaxHeaderSize, 'a') + "\n\n";
    CHECK_THAT(message_of(huge), Catch::Contains("16 MiB"));
    // Long but legal arguments (post-quantum shares are over a kilobyte) are fine.
    CHECK_FALSE(parse_failure(with_stanza("-> X " + std::string(5000, 'a') + "\n\n")));
}

TEST_CASE("header: LineReader serves the bytes after the header") {
    const std::string header = with_stanza("-> X25519 abc\n\n");
    const std::string file = header + std::string(40000, 'p');
    MemorySource source(bytes_of(file));
    format::LineReader reader(source);
    const format::Header h = format::parse_header(reader);
    CHECK(h.size == header.size());
    agetest::Bytes rest(50000);
    rest.resize(reader.read(rest));
    CHECK(rest.size() == 40000);
    CHECK(std::all_of(rest.begin(), rest.end(), [](std::uint8_t c) { return c == 'p'; }));
}

TEST_CASE("header MAC: HKDF(file key, \"header\") then HMAC, compared in constant time") {
    FileKey key(bytes_of("YELLOW SUBMARINE"));
    const std::vector<Stanza> stanzas = {Stanza{"t", {"a"}, "body"}};
    const std::string input = format::mac_input(stanzas);
    const format::Mac mac = format::header_mac(key, input);
    const std::string header = format::serialise_header(stanzas, mac);
    format::Header h = format::parse_header(bytes_of(header));
    CHECK(format::verify_mac(key, h));
    h.mac[31] ^= 1;
    CHECK_FALSE(format::verify_mac(key, h));
}
