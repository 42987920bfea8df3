// The public API end to end: round trips, identity order, error classes of damaged files.
#include "age/age.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "age/armor.hpp"
#include "age/format.hpp"
#include "age/stream.hpp"
#include "age_test_util.hpp"

using namespace gitsops;
using namespace gitsops::age;
using agetest::Bytes;
using agetest::Outcome;
using agetest::try_decrypt;

namespace {

Bytes plaintext_of(std::size_t n) {
    Bytes p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
    return p;
}

struct Party {
    X25519Keypair keys = generate_x25519();
    Identities identities() const { return agetest::identities_from(std::string(view_of(keys.identity)) + "\n"); }
    std::unique_ptr<Recipient> recipient() const { return parse_recipient(keys.recipient); }
};

Recipients recipients_of(const std::vector<Party>& parties) {
    Recipients out;
    for (const auto& p : parties) out.push_back(p.recipient());
    return out;
}

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

TEST_CASE("encrypt/decrypt round trips: sizes, 1 and 3 recipients, binary and armored") {
    const std::vector<Party> parties(3);
    for (std::size_t n : {0u, 1u, 65535u, 65536u, 65537u, 200000u}) {
        const Bytes plain = plaintext_of(n);
        for (std::size_t count : {1u, 3u}) {
            const std::vector<Party> to(parties.begin(), parties.begin() + static_cast<std::ptrdiff_t>(count));
            for (bool armored : {false, true}) {
                INFO("size " << n << ", recipients " << count << (armored ? ", armored" : ", binary"));
                const std::string file = encrypt(recipients_of(to), plain, armored);
                CHECK(armor::looks_armored(bytes_of(file)) == armored);
                CHECK(read_stanzas(bytes_of(file)).size() == count);
                for (const auto& p : to) {
                    const SecureBytes got = decrypt(p.identities(), bytes_of(file));
                    CHECK(Bytes(got.begin(), got.end()) == plain);
                }
                if (!armored) {
                    const format::Header h = format::parse_header(bytes_of(file));
                    const std::size_t chunks = n == 0 ? 1 : (n + stream::kChunkSize - 1) / stream::kChunkSize;
                    CHECK(file.size() == h.size + stream::kNonceSize + n + chunks * crypto::kChaChaTag);
                }
            }
        }
    }
}

TEST_CASE("decrypt: identities are tried in order, native first, the first success wins") {
    const std::vector<Party> parties(2);
    const std::string file = encrypt(recipients_of({parties[1]}), bytes_of("hello"), false);
    Identities ids = parties[0].identities();
    for (auto& id : parties[1].identities()) ids.push_back(std::move(id));
    CHECK(view_of(decrypt(ids, bytes_of(file))) == "hello");
}

TEST_CASE("decrypt: a wrong identity is no match, exit code 128") {
    const std::vector<Party> parties(2);
    const std::string file = encrypt(recipients_of({parties[0]}), bytes_of("hello"), true);
    try {
        (void)decrypt(parties[1].identities(), bytes_of(file));
        FAIL("decrypted with the wrong key");
    } catch (const AgeError& e) {
        CHECK(e.failure() == Failure::no_match);
        CHECK(e.code() == 128);
        CHECK(std::string(failure_name(e.failure())) == "no match");
    }
    CHECK(try_decrypt({}, bytes_of(file)).failure == Failure::no_match);
    CHECK(AgeError(Failure::header, "x").code() == 1);
}

TEST_CASE("scrypt: round trip, wrong passphrase, must be alone") {
    Recipients r;
    r.push_back(scrypt_recipient(bytes_of("correct horse"), 10));
    const std::string file = encrypt(r, bytes_of("secret"), false);
    const auto stanzas = read_stanzas(bytes_of(file));
    REQUIRE(stanzas.size() == 1);
    CHECK(stanzas[0].type == "scrypt");
    CHECK(stanzas[0].args.at(1) == "10");

    Identities right;
    right.push_back(scrypt_identity(bytes_of("correct horse")));
    CHECK(view_of(decrypt(right, bytes_of(file))) == "secret");
    Identities wrong;
    wrong.push_back(scrypt_identity(bytes_of("battery staple")));
    CHECK(try_decrypt(wrong, bytes_of(file)).failure == Failure::no_match);
    Identities capped;
    capped.push_back(scrypt_identity(bytes_of("correct horse"), 9));
    CHECK(try_decrypt(capped, bytes_of(file)).failure == Failure::header);

    r.push_back(Party{}.recipient());
    CHECK(agetest::failure_of([&] { (void)encrypt(r, bytes_of("x"), false); }) == Failure::usage);
    CHECK(agetest::failure_of([] { (void)scrypt_recipient(bytes_of(""), 10); }) == Failure::usage);
    CHECK(agetest::failure_of([] { (void)scrypt_recipient(bytes_of("x"), 31); }) == Failure::usage);
    Recipients none;
    CHECK(agetest::failure_of([&] { (void)encrypt(none, bytes_of("x"), false); }) == Failure::usage);
}

TEST_CASE("decrypt: a header truncated anywhere, or its nonce, is a header failure") {
    const std::vector<Party> parties(3);
    const std::string file = encrypt(recipients_of(parties), plaintext_of(100), false);
    const format::Header h = format::parse_header(bytes_of(file));
    const Identities ids = parties[2].identities();
    std::size_t lines = 0;
    for (std::size_t cut = 0; cut < h.size + stream::kNonceSize; ++cut) {
        INFO("cut at " << cut);
        CHECK(try_decrypt(ids, bytes_of(std::string_view(file).substr(0, cut))).failure == Failure::header);
        if (cut > 0 && file[cut - 1] == '\n' && cut <= h.size) ++lines;
    }
    CHECK(lines == 3 * 2 + 2);  // version, 3 × (argument + body), MAC
}

TEST_CASE("decrypt: a flipped bit in each region gives its class") {
    const std::vector<Party> parties(2);
    const Bytes plain = plaintext_of(150000);
    const std::string file = encrypt(recipients_of(parties), plain, false);
    const format::Header h = format::parse_header(bytes_of(file));
    const Identities ids = parties[0].identities();

    // Re-serialise the header with one stanza changed and the original MAC.
    const auto with_stanzas = [&](const std::vector<Stanza>& stanzas, const format::Mac& mac) {
        return bytes(format::serialise_header(stanzas, mac) + file.substr(h.size));
    };
    const auto flip_share = [](Stanza& s) {
        auto share = *crypto::base64_decode(s.args.at(0), false);
        share[5] ^= 0x10;
        s.args[0] = crypto::base64_encode(share, false);
    };

    SECTION("our stanza's argument: the tag fails, no match") {
        auto stanzas = h.stanzas;
        flip_share(stanzas[0]);
        CHECK(try_decrypt(ids, with_stanzas(stanzas, h.mac)).failure == Failure::no_match);
    }
    SECTION("our stanza's body: no match") {
        auto stanzas = h.stanzas;
        stanzas[0].body[3] = static_cast<char>(stanzas[0].body[3] ^ 1);
        CHECK(try_decrypt(ids, with_stanzas(stanzas, h.mac)).failure == Failure::no_match);
    }
    SECTION("another recipient's stanza: the MAC catches it") {
        auto stanzas = h.stanzas;
        flip_share(stanzas[1]);
        CHECK(try_decrypt(ids, with_stanzas(stanzas, h.mac)).failure == Failure::hmac);
        stanzas = h.stanzas;
        stanzas[1].body[0] = static_cast<char>(stanzas[1].body[0] ^ 1);
        CHECK(try_decrypt(ids, with_stanzas(stanzas, h.mac)).failure == Failure::hmac);
    }
    SECTION("the MAC") {
        format::Mac mac = h.mac;
        mac[17] ^= 4;
        const Outcome o = try_decrypt(ids, with_stanzas(h.stanzas, mac));
        CHECK(o.failure == Failure::hmac);
        CHECK(o.released.empty());
    }
    SECTION("the nonce: no chunk authenticates") {
        Bytes bad = bytes(file);
        bad[h.size + 7] ^= 1;
        const Outcome o = try_decrypt(ids, bad);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released.empty());
    }
    SECTION("the payload's second chunk: the first is released") {
        Bytes bad = bytes(file);
        bad[h.size + stream::kNonceSize + stream::kSealedChunkSize + 9] ^= 1;
        const Outcome o = try_decrypt(ids, bad);
        CHECK(o.failure == Failure::payload);
        CHECK(o.released == agetest::first(plain, stream::kChunkSize));
    }
    SECTION("a byte of the armor") {
        std::string armored = armor::encode(bytes_of(file));
        armored[armored.size() / 2] = '*';
        CHECK(try_decrypt(ids, bytes_of(armored)).failure == Failure::armor);
    }
}

TEST_CASE("decrypt: CRLF headers and overlong lines are header failures") {
    const Party p;
    const std::string file = encrypt(recipients_of({p}), bytes_of("x"), false);
    const format::Header h = format::parse_header(bytes_of(file));
    std::string crlf;
    for (char c : file.substr(0, h.size)) {
        if (c == '\n') crlf += '\r';
        crlf += c;
    }
    const Outcome o = try_decrypt(p.identities(), bytes_of(crlf + file.substr(h.size)));
    CHECK(o.failure == Failure::header);
    CHECK_THAT(o.message, Catch::Contains("line 1") && Catch::Contains("carriage return"));

    std::string overlong = file;
    overlong.insert(overlong.find('\n', overlong.find("->")) + 1, std::string(64, 'A'));
    CHECK(try_decrypt(p.identities(), bytes_of(overlong)).failure == Failure::header);
    // UTF-16 (PowerShell) gets its own hint.
    const Outcome utf16 = try_decrypt(p.identities(), bytes_of(std::string("\xff\xfe" "a\0g\0e\0", 8)));
    CHECK(utf16.failure == Failure::header);
    CHECK_THAT(utf16.message, Catch::Contains("UTF-16"));
}

TEST_CASE("decrypt: unknown and post-quantum stanzas are authenticated and ignored") {
    const Party p;
    FileKey key;
    crypto::random_bytes(key.span());
    std::vector<Stanza> stanzas = {Stanza{"mlkem768x25519", {"abc"}, std::string(100, 'q')},
                                   Stanza{"x-grease", {}, ""}};
    for (auto& s : p.recipient()->wrap(key)) stanzas.push_back(std::move(s));
    MemorySink sink;
    const std::string header = format::serialise_header(stanzas, format::header_mac(key, format::mac_input(stanzas)));
    sink.write(bytes_of(header));
    MemorySource plain(bytes_of("payload"));
    stream::encrypt(key, stream::Nonce{}, plain, sink);
    CHECK(view_of(decrypt(p.identities(), sink.data)) == "payload");

    const Outcome other = try_decrypt(Party{}.identities(), sink.data);
    CHECK(other.failure == Failure::no_match);
    CHECK_THAT(other.message, Catch::Contains("unsupported recipient type mlkem768x25519"));
    CHECK(other.message.find("grease") == std::string::npos);
}

TEST_CASE("file descriptors stream in and out") {
    const Party p;
    const Bytes plain = plaintext_of(300000);
    char in_path[] = "/tmp/age_test_in_XXXXXX";
    char out_path[] = "/tmp/age_test_out_XXXXXX";
    const int in_fd = mkstemp(in_path);
    const int out_fd = mkstemp(out_path);
    REQUIRE(in_fd >= 0);
    REQUIRE(out_fd >= 0);
    FdSink(in_fd).write(plain);
    REQUIRE(lseek(in_fd, 0, SEEK_SET) == 0);
    FdSource source(in_fd);
    FdSink sink(out_fd);
    encrypt(recipients_of({p}), source, sink, true);
    REQUIRE(lseek(out_fd, 0, SEEK_SET) == 0);
    FdSource encrypted(out_fd);
    MemorySink back;
    decrypt(p.identities(), encrypted, back);
    CHECK(Bytes(back.data.begin(), back.data.end()) == plain);
    close(in_fd);
    close(out_fd);
    std::remove(in_path);
    std::remove(out_path);
    CHECK(agetest::failure_of([] {
              std::uint8_t b[4];
              FdSource(-1).read(b);
          }) == Failure::io);
}
