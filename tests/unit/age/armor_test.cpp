#include "age/armor.hpp"

#include <catch2/catch.hpp>

#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

std::optional<Failure> decode_failure(const std::string& text) {
    return agetest::failure_of([&] { (void)armor::decode(bytes_of(text)); });
}

const std::string kBegin = "-----BEGIN AGE ENCRYPTED FILE-----\n";
const std::string kEnd = "-----END AGE ENCRYPTED FILE-----\n";

}  // namespace

TEST_CASE("armor writer: 64-column padded lines, LF, END; decodes back") {
    for (std::size_t n : {0u, 1u, 46u, 47u, 48u, 49u, 96u, 1000u}) {
        agetest::Bytes data(n);
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 7);
        const std::string text = armor::encode(data);
        CHECK(text.starts_with(kBegin));
        CHECK(text.ends_with(kEnd));
        std::size_t lines = 0;
        for (std::size_t at = kBegin.size(); at < text.size() - kEnd.size(); ++lines) {
            const std::size_t lf = text.find('\n', at);
            CHECK(lf - at <= 64);
            if (lf + 1 < text.size() - kEnd.size()) CHECK(lf - at == 64);  // only the last may be short
            at = lf + 1;
        }
        CHECK(lines == (n + 47) / 48);
        CHECK(armor::decode(bytes_of(text)) == data);

        // Streaming writes of odd sizes give the same text.
        MemorySink sink;
        armor::Writer w(sink);
        for (std::size_t at = 0; at < n; at += 13)
            w.write(std::span<const std::uint8_t>(data).subspan(at, std::min<std::size_t>(13, n - at)));
        w.finish();
        CHECK(view_of(sink.data) == text);
    }
}

TEST_CASE("armor reader: accepted variants") {
    const agetest::Bytes data = agetest::to_bytes("age-encryption.org/v1\nhello");
    const std::string text = armor::encode(data);
    CHECK(armor::decode(bytes_of(text)) == data);
    std::string crlf;
    for (char c : text) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    CHECK(armor::decode(bytes_of(crlf)) == data);
    CHECK(armor::decode(bytes_of(text.substr(0, text.size() - 1))) == data);  // END without LF
    CHECK(armor::decode(bytes_of(" \t\r\n\n" + text + "\n \t\r\n")) == data);
    CHECK(armor::decode(bytes_of(std::string(1000, '\n') + text + std::string(1023, ' '))) == data);
}

TEST_CASE("armor reader: strictness, all armor failures") {
    const agetest::Bytes data(100, 0x61);
    const std::string text = armor::encode(data);
    const std::size_t first_lf = text.find('\n');
    CHECK(decode_failure(std::string(1025, '\n') + text) == Failure::armor);
    CHECK(decode_failure(text + std::string(1024, ' ')) == Failure::armor);
    CHECK(decode_failure(text + "x") == Failure::armor);
    CHECK(decode_failure("x\n" + text) == Failure::armor);
    CHECK(decode_failure(text.substr(0, first_lf + 1) + "\n" + text.substr(first_lf + 1)) == Failure::armor);
    CHECK(decode_failure(text.substr(0, text.size() - kEnd.size())) == Failure::armor);  // no END
    CHECK(decode_failure(kBegin + "YWJj\n\n" + kEnd) == Failure::armor);                 // blank line
    CHECK(decode_failure(kBegin + "YWJj \n" + kEnd) == Failure::armor);
    CHECK(decode_failure(kBegin + " YWJj\n" + kEnd) == Failure::armor);
    CHECK(decode_failure(kBegin + "YWI\n" + kEnd) == Failure::armor);   // missing padding
    CHECK(decode_failure(kBegin + "YWJ=\n" + kEnd) == Failure::armor);  // non-canonical bits
    CHECK(decode_failure(kBegin + "YQ=\n=\n" + kEnd) == Failure::armor);
    CHECK(decode_failure(kBegin + "YWJj\nYWJj\n" + kEnd) == Failure::armor);  // short line not last
    CHECK(decode_failure(kBegin + std::string(68, 'A') + "\n" + kEnd) == Failure::armor);
    CHECK(decode_failure("-----BEGIN AGE ENCRYPTED FILE-----\r\r\nYWJj\n" + kEnd) == Failure::armor);
    CHECK_THAT(std::string([&] {
                   try {
                       (void)armor::decode(bytes_of(kBegin + "YWJj\n\n" + kEnd));
                   } catch (const AgeError& e) {
                       return std::string(e.what());
                   }
                   return std::string();
               }()),
               Catch::Contains("line 3"));
    // BEGIN then END is an empty file (which the header parser then rejects).
    CHECK(armor::decode(bytes_of(kBegin + kEnd)).empty());
}

TEST_CASE("armor detection") {
    CHECK(armor::looks_armored(bytes_of(kBegin)));
    CHECK(armor::looks_armored(bytes_of("\n \t" + kBegin)));
    CHECK(armor::looks_armored(bytes_of("-----BEGIN age ENCRYPTED FILE-----\n")));
    CHECK(armor::looks_armored(bytes_of("garbage\n" + kBegin)));
    CHECK_FALSE(armor::looks_armored(bytes_of("age-encryption.org/v1\n")));
    CHECK_FALSE(armor::looks_armored(bytes_of("")));
    CHECK_FALSE(armor::looks_armored(bytes_of("hello")));
}
