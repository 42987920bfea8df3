// SSH recipient types (ssh-ed25519, ssh-rsa), OpenSSH/PEM key parsing and bcrypt_pbkdf
// (age-format.md §7). Keys are generated with the real ssh-keygen at test time; the real age CLI,
// when installed, checks interoperability in both directions.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include "age/openssh.hpp"
#include "age/ssh.hpp"
#include "age_test_util.hpp"
#include "crypto/bcrypt_pbkdf.hpp"
#include "crypto/pem.hpp"

using namespace gitsops;
using agetest::Bytes;
using agetest::failure_of;
using agetest::hex;
using agetest::unhex;
namespace fs = std::filesystem;
namespace ssh = gitsops::age::ssh;
namespace openssh = gitsops::age::openssh;

namespace {

const std::string kShared = GITSOPS_SHARED;

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "gitsops-ssh-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

bool run(const std::string& command) { return std::system((command + " </dev/null >/dev/null 2>&1").c_str()) == 0; }

// Tests that need external tools skip (with a warning) when one is missing.
bool tools_present(std::initializer_list<const char*> tools) {
    for (const char* tool : tools) {
        if (!run(std::string("command -v ") + tool)) {
            WARN(std::string(tool) + " is not installed; skipped");
            return false;
        }
    }
    return true;
}

// ssh-keygen -q <args> -C test -f <path>; returns the private key path.
fs::path keygen(const TempDir& dir, const std::string& name, const std::string& args) {
    const fs::path path = dir / name;
    REQUIRE(run("ssh-keygen -q " + args + " -C test -f " + shell_quote(path.string())));
    return path;
}

std::string read_text(const fs::path& p) {
    const Bytes b = agetest::read_file(p.string());
    return std::string(b.begin(), b.end());
}

void write_text(const fs::path& p, std::string_view text) {
    std::ofstream f(p, std::ios::binary);
    f << text;
}

// The "type base64" part of a .pub line.
std::string pub_key_part(const fs::path& pub) {
    std::string line = read_text(pub);
    line = line.substr(0, line.find('\n'));
    const std::size_t second_blank = line.find(' ', line.find(' ') + 1);
    return line.substr(0, second_blank);
}

age::FileKey random_file_key() {
    age::FileKey k;
    crypto::random_bytes(k.span());
    return k;
}

std::string hex_of(const std::optional<age::FileKey>& k) { return k ? hex(k->span()) : std::string("(none)"); }

struct Prompt {
    std::string passphrase = "password";
    int calls = 0;
    age::PassphraseFn fn() {
        return [this](std::string_view) {
            ++calls;
            return secure_copy(std::string_view(passphrase));
        };
    }
};

std::unique_ptr<age::Identity> identity_from(const fs::path& key, age::PassphraseFn passphrase = {}) {
    const Bytes text = agetest::read_file(key.string());
    return ssh::parse_identity(text, key.string(), std::move(passphrase));
}

// Wraps a fresh file key to `recipient` and checks that `identity` unwraps it.
void check_wrap_unwrap(const age::Recipient& recipient, const age::Identity& identity) {
    const age::FileKey key = random_file_key();
    const auto stanzas = recipient.wrap(key);
    REQUIRE(stanzas.size() == 1);
    CHECK(hex_of(identity.unwrap(stanzas)) == hex(key.span()));
}

// Full age files: our encrypt, our decrypt, armored and binary.
void check_age_round_trip(const age::Recipient& recipient, std::unique_ptr<age::Identity> identity) {
    const std::string plaintext = "ssh round trip\n";
    age::Recipients recipients;
    recipients.push_back(ssh::parse_recipient(recipient.to_string()));
    age::Identities identities;
    identities.push_back(std::move(identity));
    for (bool armor : {false, true}) {
        const std::string file = age::encrypt(recipients, bytes_of(plaintext), armor);
        CHECK(view_of(age::decrypt(identities, bytes_of(file))) == plaintext);
    }
}

Bytes seed_bytes(std::uint8_t first) {
    Bytes seed(32);
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(first + i);
    return seed;
}

// ---- hand-built openssh-key-v1 files, for the malformed-input tests ---------------------------

struct KeyRecipe {
    std::string magic = std::string("openssh-key-v1\0", 15);
    std::string cipher = "none", kdf = "none";
    Bytes kdf_options;
    std::uint32_t keys = 1;
    std::uint32_t check1 = 0x01020304, check2 = 0x01020304;
    std::string private_type = "ssh-ed25519";
    Bytes seed = seed_bytes(1);
    Bytes stored_public;  // empty: the seed's public key
    std::optional<Bytes> padding;  // empty: 1, 2, 3, ... up to a multiple of 8
    Bytes trailing;
};

Bytes openssh_bytes(const KeyRecipe& r) {
    const auto derived = crypto::ed25519_public_from_seed(r.seed);
    const Bytes pub = r.stored_public.empty() ? Bytes(derived.begin(), derived.end()) : r.stored_public;
    openssh::WireWriter blob;
    blob.string(openssh::kEd25519);
    blob.string(pub);

    openssh::WireWriter priv;
    priv.u32(r.check1);
    priv.u32(r.check2);
    priv.string(r.private_type);
    priv.string(pub);
    Bytes seed_pub = r.seed;
    seed_pub.insert(seed_pub.end(), pub.begin(), pub.end());
    priv.string(seed_pub);
    priv.string(std::string_view("comment"));
    Bytes pad = r.padding.value_or(Bytes{});
    if (!r.padding)
        for (std::uint8_t i = 1; (priv.bytes().size() + pad.size()) % 8 != 0; ++i) pad.push_back(i);
    priv.raw(pad);

    openssh::WireWriter w;
    w.raw(bytes_of(r.magic));
    w.string(r.cipher);
    w.string(r.kdf);
    w.string(r.kdf_options);
    w.u32(r.keys);
    for (std::uint32_t i = 0; i < std::max<std::uint32_t>(r.keys, 1); ++i) w.string(blob.bytes());
    w.string(priv.bytes());
    w.raw(r.trailing);
    return w.bytes();
}

std::string armor_openssh(std::span<const std::uint8_t> decoded) {
    const std::string b64 = crypto::base64_encode(decoded, true);
    std::string pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 70) pem += b64.substr(i, 70) + "\n";
    return pem + "-----END OPENSSH PRIVATE KEY-----\n";
}

std::unique_ptr<age::Identity> parse_recipe(const KeyRecipe& r, age::PassphraseFn passphrase = {}) {
    const std::string pem = armor_openssh(openssh_bytes(r));
    return ssh::parse_identity(bytes_of(pem), "recipe", std::move(passphrase));
}

// The message of the AgeError `f` throws ("" when it throws none).
template <class F>
std::string age_error_of(F&& f) {
    try {
        f();
    } catch (const age::AgeError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

// ---- bcrypt_pbkdf ----------------------------------------------------------------------------

TEST_CASE("bcrypt_pbkdf: the Blowfish initial state is the hex digits of pi") {
    const auto& init = crypto::bcrypt_detail::blowfish_initial_state();
    CHECK(init.p[0] == 0x243F6A88u);
    CHECK(init.p[1] == 0x85A308D3u);
    CHECK(init.p[17] == 0x8979FB1Bu);
    CHECK(init.s[0] == 0xD1310BA6u);        // S-box 0, word 0
    CHECK(init.s[256] == 0x4B7A70E9u);      // S-box 1, word 0
    CHECK(init.s[4 * 256 - 1] == 0x3AC372E6u);  // S-box 3, word 255: digits 8329..8336
}

TEST_CASE("bcrypt_pbkdf: golden outputs") {
    std::array<std::uint8_t, 32> out{};
    crypto::bcrypt_pbkdf(bytes_of("password"), bytes_of("salt"), 12, out);
    CHECK(hex(out) == "1ae42c05d487bc02f64921a4ebe4ea93bcacfe135fda99974c06b7b01fae149a");

    std::array<std::uint8_t, 64> pass{}, salt{};
    for (std::size_t i = 0; i < 64; ++i) {
        pass[i] = static_cast<std::uint8_t>(i);
        salt[i] = static_cast<std::uint8_t>(64 + i);
    }
    CHECK(hex(crypto::bcrypt_detail::bcrypt_hash(pass, salt)) ==
          "87904870eef9deddf8e7611a140106e6aaf1a363d9a2c504db356443721eb555");
}

TEST_CASE("bcrypt_pbkdf: output blocks are interleaved, so a shorter key is not a prefix") {
    std::array<std::uint8_t, 32> one{};
    std::array<std::uint8_t, 48> two{};
    crypto::bcrypt_pbkdf(bytes_of("password"), bytes_of("salt"), 2, one);
    crypto::bcrypt_pbkdf(bytes_of("password"), bytes_of("salt"), 2, two);
    // Block 1 supplies the even bytes of the 48-byte key.
    for (std::size_t i = 0; i < 24; ++i) CHECK(two[2 * i] == one[i]);
}

TEST_CASE("bcrypt_pbkdf: rejects out-of-range arguments") {
    std::array<std::uint8_t, 32> out{};
    CHECK_THROWS_AS(crypto::bcrypt_pbkdf({}, bytes_of("salt"), 1, out), std::invalid_argument);
    CHECK_THROWS_AS(crypto::bcrypt_pbkdf(bytes_of("pw"), {}, 1, out), std::invalid_argument);
    CHECK_THROWS_AS(crypto::bcrypt_pbkdf(bytes_of("pw"), bytes_of("salt"), 0, out), std::invalid_argument);
    std::vector<std::uint8_t> big(1025);
    CHECK_THROWS_AS(crypto::bcrypt_pbkdf(bytes_of("pw"), bytes_of("salt"), 1, big), std::invalid_argument);
    CHECK_THROWS_AS(crypto::bcrypt_pbkdf(bytes_of("pw"), bytes_of("salt"), 1, std::span<std::uint8_t>{}),
                    std::invalid_argument);
}

// ---- public keys and worked values -----------------------------------------------------------

TEST_CASE("ssh: worked values of spec §7.8") {
    struct Case {
        std::string_view line, tag, x25519, tweak;
    };
    // Public keys of FiloSottile/age cmd/age/testdata (ed25519.txt key.pem.pub, encrypted_keys.txt
    // key_ed25519.pub, rsa.txt key.pem.pub); the values are the spec's.
    const Case cases[] = {
        {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH9pO5pz22JZEasoS2LEWWvJiUYI9M6l1uZc31FGYMXa", "cp09gQ",
         "f7de9d551ec30009c23ec9642fb31cbdb2d08a00a10929c849473f34b49b7238",
         "88a4cd1eacc82dc19f4ad2c5b31f5808295e4d9b7167b2791a304842091cad37"},
        {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKaVctg4/hmFbfofTv+yrC2IweO/Dd2AVDijFpaMO9fm", "nsDdbg",
         "e6ef18c5efaca322ba6c8fbd015941c470858d52a85cc0b68ecf3716f2035562",
         "378f3a4b53812a5087c16ebfc310ae4a22aed7b25b15d35c0d459d5be4bb0bfe"},
    };
    for (const Case& c : cases) {
        const auto key = openssh::parse_authorized_key(c.line);
        CHECK(hex(key.key.ed25519).starts_with(c.line == cases[0].line ? "7f693b9a" : "a69572d8"));
        CHECK(ssh::key_tag(key.key.blob) == c.tag);
        CHECK(hex(*crypto::ed25519_pk_to_x25519(key.key.ed25519)) == c.x25519);
        std::array<std::uint8_t, 32> tweak{};
        crypto::hkdf_sha256({}, key.key.blob, ssh::kEd25519Label, tweak);
        CHECK(hex(tweak) == c.tweak);
        // The stanza names the tag.
        const auto stanzas = ssh::parse_recipient(c.line)->wrap(random_file_key());
        CHECK(stanzas[0].args[0] == c.tag);
    }
    const std::string_view rsa_line =
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDULTit0KUehbigbhsQaZo2oXLgMug8nTfnzDhcf5cEzdOJZyF6i5aRQbqbXIOYeTS3Shpp/"
        "iE6d60qi93JBBfveAZqr76tK7lVK8fstvAAGgbo9L9Ru5nhWX0HTlZUOodUT2E0rgAeoFzfvcZTaajzPmikrESmuaJLcdJ3crbCIyovkTxc85"
        "KbSn+Ky5grntdVR7GXve0HuIgwuSXGNyO0/hEQyhCEco4w53LZDXl3Dlxgb52u0QCsFFiQJmZ3RWnbCz2mNjM9Vo5KRt2pJ4u74lVsfXCvAqG4"
        "GsDd5WXCNRNaQ7gUdw1eSnvvcy3hxeEqLNN9tHaFCjEuyPfXfTVd3t0SlXreyoNbV75rYvZ2F6aLxyMMys+5bpnX0tu2LSq4Bvj5xIsBokjgEd"
        "3UXyj1eErsQdUJ0gghAMpXOjVbISwPAGMvUsH2unGbjvfaxnK57S7KAXOYznjhBf5ayIleAc+4LVD/KeMtGbpkyXXozC9jwH9cZBbGU4BtElAb"
        "zh8=";
    const auto rsa = openssh::parse_authorized_key(rsa_line);
    CHECK(rsa.key.rsa_n.size() * 8 == 3072);
    CHECK(ssh::key_tag(rsa.key.blob) == "jw/33g");
    const auto stanzas = ssh::parse_recipient(rsa_line)->wrap(random_file_key());
    CHECK(stanzas[0].type == "ssh-rsa");
    CHECK(stanzas[0].args == std::vector<std::string>{"jw/33g"});
    CHECK(stanzas[0].body.size() == 384);
}

TEST_CASE("ssh: public key lines follow ssh.ParseAuthorizedKey") {
    const std::string b64 = "AAAAC3NzaC1lZDI1NTE5AAAAIH9pO5pz22JZEasoS2LEWWvJiUYI9M6l1uZc31FGYMXa";
    const std::string canonical = "ssh-ed25519 " + b64;

    SECTION("comments and blanks") {
        CHECK(ssh::parse_recipient(canonical)->to_string() == canonical);
        CHECK(ssh::parse_recipient(canonical + "  user@host  ")->to_string() == canonical + " user@host");
        CHECK(ssh::parse_recipient(canonical + "\twith spaces inside\r\n")->to_string() ==
              canonical + " with spaces inside");
        CHECK(ssh::parse_recipient("ssh-ed25519\t" + b64)->to_string() == canonical);
    }
    SECTION("not an SSH key line") {
        CHECK(ssh::parse_recipient("age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef") == nullptr);
        CHECK(ssh::parse_recipient("") == nullptr);
        CHECK(ssh::parse_recipient(" ssh-ed25519 " + b64) == nullptr);
    }
    SECTION("options field (only after a first failed attempt)") {
        const auto key = openssh::parse_authorized_key("no-pty,command=\"echo a, b\" " + canonical + " c");
        CHECK(key.key.type == "ssh-ed25519");
        CHECK(key.comment == "c");
        CHECK_THROWS_AS(openssh::parse_authorized_key("command=\"unterminated " + canonical), openssh::KeyError);
    }
    SECTION("malformed lines are usage errors") {
        const std::string bad[] = {
            "ssh-ed25519",
            "ssh-ed25519 " + b64.substr(0, b64.size() - 1),             // bad base64 length
            "ssh-ed25519 " + b64 + "=",                                  // bad padding
            "ssh-rsa " + b64,                                            // type differs from the blob's
            "ssh-ed25519 " + crypto::base64_encode(bytes_of("garbage"), true),
            "ssh-ed25519 " + b64 + "\nssh-ed25519 " + b64,               // two lines
        };
        for (const std::string& line : bad) {
            INFO(line);
            CHECK(failure_of([&] { ssh::parse_recipient(line); }) == age::Failure::usage);
        }
    }
    SECTION("blob rules: exact length, no trailing bytes, RSA exponent") {
        auto blob_line = [](std::string_view type, const openssh::WireWriter& w) {
            return std::string(type) + " " + crypto::base64_encode(w.bytes(), true);
        };
        openssh::WireWriter short_key;
        short_key.string(openssh::kEd25519);
        short_key.string(Bytes(31, 9));
        CHECK_THAT(age_error_of([&] { ssh::parse_recipient(blob_line("ssh-ed25519", short_key)); }),
                   Catch::Contains("invalid size 31"));

        openssh::WireWriter trailing;
        trailing.string(openssh::kEd25519);
        trailing.string(Bytes(32, 9));
        trailing.raw(Bytes{0});
        CHECK_THAT(age_error_of([&] { ssh::parse_recipient(blob_line("ssh-ed25519", trailing)); }),
                   Catch::Contains("trailing data"));

        const Bytes modulus(256, 0xc5);
        for (const Bytes& e : {Bytes{2}, Bytes{1}, Bytes{0x01, 0x00, 0x00, 0x01, 0x01}, Bytes{0x81}}) {
            openssh::WireWriter w;
            w.string(openssh::kRsa);
            w.string(e);  // raw string: 0x81 is a negative mpint
            w.mpint(modulus);
            INFO(hex(e));
            CHECK(failure_of([&] { ssh::parse_recipient(blob_line("ssh-rsa", w)); }) == age::Failure::usage);
        }
        openssh::WireWriter ok;
        ok.string(openssh::kRsa);
        ok.mpint(Bytes{0x01, 0x00, 0x01});
        ok.mpint(modulus);
        CHECK(ssh::parse_recipient(blob_line("ssh-rsa", ok)) != nullptr);
    }
    SECTION("valid SSH keys of other types are unsupported, not malformed") {
        openssh::WireWriter dss;
        dss.string(std::string_view("ssh-dss"));
        dss.mpint(Bytes{1, 2, 3});
        const std::string line = "ssh-dss " + crypto::base64_encode(dss.bytes(), true);
        try {
            ssh::parse_recipient(line);
            FAIL("no exception");
        } catch (const ssh::UnsupportedKeyType& e) {
            CHECK(e.key_type() == "ssh-dss");
            CHECK(e.failure() == age::Failure::usage);
        }
        openssh::WireWriter unknown;
        unknown.string(std::string_view("ssh-unknown"));
        CHECK_THROWS_AS(ssh::parse_recipient("ssh-unknown " + crypto::base64_encode(unknown.bytes(), true)),
                        age::AgeError);
    }
}

TEST_CASE("ssh: looks_like_private_key and PEM framing") {
    CHECK(ssh::looks_like_private_key(bytes_of("-----BEGIN OPENSSH PRIVATE KEY-----\n")));
    CHECK(ssh::looks_like_private_key(bytes_of("-----BEGIN RSA PRIVATE KEY-----\n")));
    CHECK_FALSE(ssh::looks_like_private_key(bytes_of("-----BEGIN AGE ENCRYPTED FILE-----\n")));
    CHECK_FALSE(ssh::looks_like_private_key(bytes_of("AGE-SECRET-KEY-1...")));
    CHECK_FALSE(ssh::looks_like_private_key(bytes_of(" -----BEGIN")));

    const std::string pem =
        "junk before\n-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n"
        "QUJD\n-----END RSA PRIVATE KEY-----\nafter";
    const auto block = openssh::find_pem_block(pem);
    REQUIRE(block);
    CHECK(block->type == "RSA PRIVATE KEY");
    CHECK(block->encrypted);
    CHECK(block->body == "QUJD");
    CHECK(block->text.starts_with("-----BEGIN RSA"));
    CHECK(block->text.ends_with("-----END RSA PRIVATE KEY-----\n"));

    const auto plain = openssh::find_pem_block("-----BEGIN X-----\nQUJD\nREVG\n-----END X-----");
    REQUIRE(plain);
    CHECK_FALSE(plain->encrypted);
    CHECK(plain->body == "QUJD\nREVG");
    CHECK_FALSE(openssh::find_pem_block("-----BEGIN X-----\nQUJD\n-----END Y-----\n"));
    CHECK_FALSE(openssh::find_pem_block("no pem here"));
}

// ---- stanzas ---------------------------------------------------------------------------------

TEST_CASE("ssh-ed25519: wrap and unwrap") {
    const Bytes seed = seed_bytes(7);
    const auto identity = ssh::ed25519_identity(seed);
    const auto recipient = identity->recipient();
    REQUIRE(recipient);
    CHECK_FALSE(identity->native());

    const age::FileKey key = random_file_key();
    const auto stanzas = recipient->wrap(key);
    REQUIRE(stanzas.size() == 1);
    const age::Stanza& s = stanzas[0];
    CHECK(s.type == "ssh-ed25519");
    REQUIRE(s.args.size() == 2);
    CHECK(s.args[0].size() == 6);
    CHECK(s.args[1].size() == 43);
    CHECK(s.body.size() == 32);
    CHECK(hex_of(identity->unwrap(stanzas)) == hex(key.span()));

    const auto pub = crypto::ed25519_public_from_seed(seed);
    CHECK(ssh::ed25519_recipient(pub)->to_string() == recipient->to_string());

    SECTION("another key's stanza is not mine") {
        const auto other = ssh::ed25519_identity(seed_bytes(8));
        CHECK_FALSE(other->unwrap(stanzas).has_value());
        CHECK_FALSE(identity->unwrap(other->recipient()->wrap(key)).has_value());
    }
    SECTION("a different tag is not mine, even with a valid body") {
        auto t = stanzas;
        t[0].args[0] = "AAAAAA";
        CHECK_FALSE(identity->unwrap(t).has_value());
    }
    SECTION("other stanza types are skipped; the first stanza of mine decides") {
        std::vector<age::Stanza> t{age::Stanza{"X25519", {"abc"}, std::string(32, 'x')},
                                   age::Stanza{"ssh-rsa", {"AAAAAA"}, "zz"}, stanzas[0]};
        CHECK(hex_of(identity->unwrap(t)) == hex(key.span()));
    }
    SECTION("a tampered body after a tag match is a header failure") {
        auto t = stanzas;
        t[0].body[5] = static_cast<char>(t[0].body[5] ^ 1);
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
        t = stanzas;
        t[0].body.pop_back();
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
    }
    SECTION("malformed stanzas of the type are fatal, whatever their tag") {
        auto t = stanzas;
        t[0].args.pop_back();
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
        t = stanzas;
        t[0].args[0] = "AAAAAA";
        t[0].args[1] = "AAAA";
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
        t = stanzas;
        t[0].args[1] = crypto::base64_encode(Bytes(32, 0), false);  // low-order share, tag matches
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
    }
}

TEST_CASE("ssh-ed25519: identity from a seed rejects bad sizes") {
    CHECK(failure_of([] { ssh::ed25519_identity(Bytes(31)); }) == age::Failure::usage);
    CHECK(failure_of([] { ssh::ed25519_recipient(Bytes(33)); }) == age::Failure::usage);
}

TEST_CASE("ssh-rsa: 2048- and 3072-bit keys from ssh-keygen") {
    if (!tools_present({"ssh-keygen"})) return;
    TempDir dir;
    for (int bits : {2048, 3072}) {
        INFO(bits);
        const fs::path key = keygen(dir, "rsa" + std::to_string(bits), "-t rsa -b " + std::to_string(bits) + " -N ''");
        const auto identity = identity_from(key);
        const auto recipient = ssh::parse_recipient(read_text(fs::path(key.string() + ".pub")));
        REQUIRE(recipient);
        CHECK(identity->recipient()->to_string() == pub_key_part(key.string() + ".pub"));
        const age::FileKey file_key = random_file_key();
        const auto stanzas = recipient->wrap(file_key);
        REQUIRE(stanzas.size() == 1);
        CHECK(stanzas[0].body.size() == static_cast<std::size_t>(bits / 8));
        CHECK(hex_of(identity->unwrap(stanzas)) == hex(file_key.span()));

        auto t = stanzas;
        t[0].body[10] = static_cast<char>(t[0].body[10] ^ 0x40);
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
        t = stanzas;
        t[0].args.push_back("extra");
        CHECK(failure_of([&] { identity->unwrap(t); }) == age::Failure::header);
        t = stanzas;
        t[0].args[0] = "AAAAAA";
        CHECK_FALSE(identity->unwrap(t).has_value());
    }
    const fs::path small = keygen(dir, "rsa1024", "-t rsa -b 1024 -N ''");
    CHECK_THAT(age_error_of([&] { ssh::parse_recipient(read_text(fs::path(small.string() + ".pub"))); }),
               Catch::Contains("too small"));
    // A small key may still decrypt, but its recipient refuses to encrypt.
    const auto small_identity = identity_from(small);
    CHECK(failure_of([&] { small_identity->recipient()->wrap(random_file_key()); }) == age::Failure::usage);
}

// ---- private keys from ssh-keygen and openssl ------------------------------------------------

TEST_CASE("ssh: identities from real OpenSSH keys") {
    if (!tools_present({"ssh-keygen"})) return;
    TempDir dir;
    struct Case {
        std::string name, args;
    };
    const Case plain[] = {
        {"ed25519", "-t ed25519 -N ''"},
        {"rsa3072", "-t rsa -b 3072 -N ''"},
        {"rsa_pem", "-t rsa -b 2048 -m PEM -N ''"},
        {"rsa_pkcs8", "-t rsa -b 2048 -m PKCS8 -N ''"},
    };
    for (const Case& c : plain) {
        INFO(c.name);
        const fs::path key = keygen(dir, c.name, c.args);
        Prompt prompt;
        const auto identity = identity_from(key, prompt.fn());
        const auto recipient = ssh::parse_recipient(read_text(fs::path(key.string() + ".pub")));
        CHECK(identity->recipient()->to_string() == pub_key_part(key.string() + ".pub"));
        check_wrap_unwrap(*recipient, *identity);
        check_age_round_trip(*recipient, identity_from(key));
        CHECK(prompt.calls == 0);
    }
}

TEST_CASE("ssh: PKCS#8 Ed25519 keys from openssl") {
    if (!tools_present({"openssl"})) return;
    TempDir dir;
    const fs::path key = dir / "ed.pem";
    REQUIRE(run("openssl genpkey -algorithm ed25519 -out " + shell_quote(key.string())));
    CHECK(read_text(key).starts_with("-----BEGIN PRIVATE KEY-----"));
    const auto identity = identity_from(key);
    check_wrap_unwrap(*identity->recipient(), *identity);
}

TEST_CASE("ssh: passphrase-protected OpenSSH keys are decrypted lazily") {
    if (!tools_present({"ssh-keygen"})) return;
    TempDir dir;
    const fs::path key = keygen(dir, "ed_enc", "-t ed25519 -N password -a 4");
    const auto recipient = ssh::parse_recipient(read_text(fs::path(key.string() + ".pub")));
    const auto other = ssh::ed25519_identity(seed_bytes(3))->recipient();
    const age::FileKey file_key = random_file_key();

    SECTION("the public key needs no passphrase; a stanza for another key asks nothing") {
        Prompt prompt;
        const auto identity = identity_from(key, prompt.fn());
        CHECK(identity->recipient()->to_string() == pub_key_part(key.string() + ".pub"));
        CHECK_FALSE(identity->unwrap(other->wrap(file_key)).has_value());
        CHECK(prompt.calls == 0);
        CHECK(hex_of(identity->unwrap(recipient->wrap(file_key))) == hex(file_key.span()));
        CHECK(prompt.calls == 1);
        CHECK(hex_of(identity->unwrap(recipient->wrap(file_key))) == hex(file_key.span()));
        CHECK(prompt.calls == 1);  // decrypted once, then kept
    }
    SECTION("a wrong passphrase is a clear error") {
        Prompt prompt;
        prompt.passphrase = "wrong";
        const auto identity = identity_from(key, prompt.fn());
        CHECK_THAT(age_error_of([&] { identity->unwrap(recipient->wrap(file_key)); }),
                   Catch::Contains("incorrect passphrase"));
    }
    SECTION("an empty passphrase or no way to ask is an error") {
        Prompt prompt;
        prompt.passphrase = "";
        CHECK(failure_of([&] { identity_from(key, prompt.fn())->unwrap(recipient->wrap(file_key)); }) ==
              age::Failure::usage);
        CHECK_THAT(age_error_of([&] { identity_from(key)->unwrap(recipient->wrap(file_key)); }),
                   Catch::Contains("passphrase"));
    }
    SECTION("through age::parse_identity_file and age::decrypt") {
        Prompt prompt;
        age::Recipients recipients;
        recipients.push_back(ssh::parse_recipient(recipient->to_string()));
        const std::string file = age::encrypt(recipients, bytes_of("secret"), true);
        const Bytes text = agetest::read_file(key.string());
        const auto identities = age::parse_identity_file(text, key.string(), prompt.fn());
        CHECK(view_of(age::decrypt(identities, bytes_of(file))) == "secret");
        CHECK(prompt.calls == 1);
    }
}

TEST_CASE("ssh: cross-check bcrypt_pbkdf against ssh-keygen -a 16 and aes256-cbc") {
    if (!tools_present({"ssh-keygen"})) return;
    TempDir dir;
    int n = 0;
    for (const char* args : {"-t ed25519 -N password -a 16", "-t ed25519 -N password -a 3 -Z aes256-cbc",
                             "-t rsa -b 2048 -N password -a 2"}) {
        INFO(args);
        const fs::path key = keygen(dir, "k" + std::to_string(++n), args);
        Prompt prompt;
        const auto identity = identity_from(key, prompt.fn());
        check_wrap_unwrap(*ssh::parse_recipient(read_text(fs::path(key.string() + ".pub"))), *identity);
        CHECK(prompt.calls == 1);
    }
}

TEST_CASE("ssh: legacy encrypted PEM keys take their public key from <file>.pub") {
    if (!tools_present({"ssh-keygen"})) return;
    TempDir dir;
    const fs::path key = keygen(dir, "rsa_legacy", "-t rsa -b 2048 -m PEM -N password");
    REQUIRE(read_text(key).find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
    const fs::path pub = key.string() + ".pub";
    const auto recipient = ssh::parse_recipient(read_text(pub));
    const age::FileKey file_key = random_file_key();

    Prompt prompt;
    const auto identity = identity_from(key, prompt.fn());
    CHECK(prompt.calls == 0);
    CHECK(hex_of(identity->unwrap(recipient->wrap(file_key))) == hex(file_key.span()));
    CHECK(prompt.calls == 1);

    SECTION("wrong passphrase") {
        Prompt wrong;
        wrong.passphrase = "nope";
        CHECK_THAT(age_error_of([&] { identity_from(key, wrong.fn())->unwrap(recipient->wrap(file_key)); }),
                   Catch::Contains("failed to decrypt SSH key file"));
    }
    SECTION("a .pub of another key: mismatched private and public SSH key") {
        const fs::path other = keygen(dir, "rsa_other", "-t rsa -b 2048 -N ''");
        fs::copy_file(other.string() + ".pub", pub, fs::copy_options::overwrite_existing);
        const auto other_recipient = ssh::parse_recipient(read_text(pub));
        Prompt p;
        CHECK_THAT(age_error_of([&] { identity_from(key, p.fn())->unwrap(other_recipient->wrap(file_key)); }),
                   Catch::Contains("mismatched private and public SSH key"));
    }
    SECTION("no .pub file") {
        fs::remove(pub);
        CHECK_THAT(age_error_of([&] { identity_from(key, prompt.fn()); }), Catch::Contains("ssh-keygen -p -m RFC4716"));
    }
}

TEST_CASE("ssh: unsupported private keys are clear errors") {
    if (!tools_present({"ssh-keygen"})) return;
    TempDir dir;
    const fs::path ecdsa = keygen(dir, "ecdsa", "-t ecdsa -N ''");
    CHECK_THAT(age_error_of([&] { identity_from(ecdsa); }), Catch::Contains("unsupported SSH identity type"));
    const fs::path ecdsa_pem = keygen(dir, "ecdsa_pem", "-t ecdsa -m PEM -N ''");
    CHECK_THAT(age_error_of([&] { identity_from(ecdsa_pem); }), Catch::Contains("unsupported"));
    const fs::path pkcs8_enc = keygen(dir, "p8enc", "-t rsa -b 2048 -m PKCS8 -N password");
    CHECK_THAT(age_error_of([&] { identity_from(pkcs8_enc); }), Catch::Contains("ENCRYPTED PRIVATE KEY"));
}

// ---- fixtures --------------------------------------------------------------------------------

TEST_CASE("ssh: sops keysource fixture (ssh-ed25519 file and its OpenSSH key)") {
    const std::string dir = kShared + "/fixtures/sops-age-real/sops-age-keysource/";
    const Bytes key = agetest::read_file(dir + "mock-ssh-ed25519.key");
    const Bytes file = agetest::read_file(dir + "mock-ssh-ed25519.age");
    REQUIRE_FALSE(key.empty());
    REQUIRE_FALSE(file.empty());
    const auto identity = ssh::parse_identity(key, "mock-ssh-ed25519.key", {});
    const auto stanzas = age::read_stanzas(file);
    REQUIRE(stanzas.size() == 1);
    CHECK(stanzas[0].type == "ssh-ed25519");
    CHECK(stanzas[0].args[0] == ssh::key_tag(openssh::parse_authorized_key(identity->recipient()->to_string()).key.blob));
    CHECK(identity->unwrap(stanzas).has_value());

    age::Identities identities;
    identities.push_back(ssh::parse_identity(key, "mock-ssh-ed25519.key", {}));
    CHECK(view_of(age::decrypt(identities, file)) == "data");
}

TEST_CASE("ssh: sops 3.13.2 fixture key decrypts its ssh-ed25519 data key") {
    const std::string dir = kShared + "/fixtures/sops-3.13.2/";
    const Bytes key = agetest::read_file(dir + "ssh_ed25519");
    REQUIRE_FALSE(key.empty());
    const auto identities = age::parse_identity_file(key, "ssh_ed25519");
    REQUIRE(identities.size() == 1);
    CHECK(identities[0]->recipient()->to_string() == pub_key_part(dir + "ssh_ed25519.pub"));

    // The armored age file sits indented under `enc: |` in the sops metadata.
    const std::string yaml = read_text(dir + "enc/token-secret.ssh.yaml");
    std::string armored;
    bool inside = false;
    for (std::size_t pos = 0; pos < yaml.size();) {
        std::size_t nl = yaml.find('\n', pos);
        if (nl == std::string::npos) nl = yaml.size();
        std::string line = yaml.substr(pos, nl - pos);
        pos = nl + 1;
        line.erase(0, line.find_first_not_of(' '));
        if (line.starts_with("-----BEGIN AGE")) inside = true;
        if (inside) armored += line + "\n";
        if (line.starts_with("-----END AGE")) break;
    }
    REQUIRE_FALSE(armored.empty());
    const auto stanzas = age::read_stanzas(bytes_of(armored));
    REQUIRE(stanzas.size() == 1);
    CHECK(stanzas[0].type == "ssh-ed25519");
    CHECK(age::decrypt(identities, bytes_of(armored)).size() == 32);  // a sops data key
}

// ---- interoperability with the real age CLI --------------------------------------------------

TEST_CASE("ssh: interoperates with the age CLI in both directions") {
    if (!tools_present({"age", "ssh-keygen"})) return;
    TempDir dir;
    int n = 0;
    for (const char* args : {"-t ed25519 -N ''", "-t rsa -b 2048 -N ''"}) {
        INFO(args);
        const fs::path key = keygen(dir, "k" + std::to_string(++n), args);
        const std::string pub = key.string() + ".pub";
        const fs::path input = dir / "input", theirs = dir / "theirs.age", ours = dir / "ours.age", out = dir / "out";
        write_text(input, "interop\n");

        REQUIRE(run("age -R " + shell_quote(pub) + " -o " + shell_quote(theirs.string()) + " " +
                    shell_quote(input.string())));
        age::Identities identities;
        identities.push_back(identity_from(key));
        CHECK(view_of(age::decrypt(identities, agetest::read_file(theirs.string()))) == "interop\n");

        age::Recipients recipients;
        recipients.push_back(ssh::parse_recipient(read_text(pub)));
        write_text(ours, age::encrypt(recipients, bytes_of("interop\n"), true));
        REQUIRE(run("age -d -i " + shell_quote(key.string()) + " -o " + shell_quote(out.string()) + " " +
                    shell_quote(ours.string())));
        CHECK(read_text(out) == "interop\n");
    }
}

// ---- malformed openssh-key-v1 files ----------------------------------------------------------

TEST_CASE("ssh: hand-built openssh-key-v1 keys") {
    const KeyRecipe good;
    const auto identity = parse_recipe(good);
    check_wrap_unwrap(*identity->recipient(), *identity);

    auto error_of = [](const KeyRecipe& r) { return age_error_of([&] { parse_recipe(r); }); };
    struct Broken {
        const char* what;
        std::function<void(KeyRecipe&)> mutate;
        const char* message;
    };
    const Broken broken[] = {
        {"bad magic", [](KeyRecipe& r) { r.magic[3] = 'X'; }, "bad magic"},
        {"two keys", [](KeyRecipe& r) { r.keys = 2; }, "2 keys"},
        {"zero keys", [](KeyRecipe& r) { r.keys = 0; }, "0 keys"},
        {"check integers differ", [](KeyRecipe& r) { r.check2 = 5; }, "check integers differ"},
        {"padding skips a value", [](KeyRecipe& r) { r.padding = Bytes{1, 2, 4}; }, "padding"},
        {"padding starts at 0", [](KeyRecipe& r) { r.padding = Bytes{0}; }, "padding"},
        {"trailing data", [](KeyRecipe& r) { r.trailing = Bytes{0}; }, "trailing data"},
        {"KDF options on an unencrypted key", [](KeyRecipe& r) { r.kdf_options = Bytes{0, 0, 0, 0}; }, "KDF options"},
        {"private half of another key",
         [](KeyRecipe& r) {
             const auto other = crypto::ed25519_public_from_seed(seed_bytes(99));
             r.stored_public.assign(other.begin(), other.end());
         },
         "does not match"},
        {"unsupported private key type", [](KeyRecipe& r) { r.private_type = "ssh-dss"; }, "unsupported"},
    };
    for (const Broken& b : broken) {
        INFO(b.what);
        KeyRecipe r;
        b.mutate(r);
        CHECK_THAT(error_of(r), Catch::Contains(b.message));
    }
    KeyRecipe unpadded;
    unpadded.padding = Bytes{};
    CHECK(error_of(unpadded).empty());  // no padding at all is valid, as in Go

    SECTION("unsupported cipher or KDF fails when the key is needed, not before") {
        KeyRecipe r;
        r.cipher = "chacha20-poly1305@openssh.com";
        r.kdf = "bcrypt";
        openssh::WireWriter opts;
        opts.string(Bytes(16, 1));
        opts.u32(2);
        r.kdf_options = opts.bytes();
        Prompt prompt;
        const auto encrypted = parse_recipe(r, prompt.fn());
        CHECK_THAT(age_error_of([&] { encrypted->unwrap(encrypted->recipient()->wrap(random_file_key())); }),
                   Catch::Contains("unsupported cipher"));
        CHECK(prompt.calls == 1);
    }
}

TEST_CASE("ssh: every truncation or byte flip of a key file is a clean error or a valid key") {
    const Bytes good = openssh_bytes(KeyRecipe{});
    for (std::size_t len = 0; len < good.size(); ++len) {
        const std::string pem = armor_openssh(std::span(good).first(len));
        INFO(len);
        CHECK(failure_of([&] { ssh::parse_identity(bytes_of(pem), "truncated", {}); }) == age::Failure::usage);
    }
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        Bytes flipped = good;
        flipped[i] ^= 0x80;
        const std::string pem = armor_openssh(flipped);
        try {
            ssh::parse_identity(bytes_of(pem), "flipped", {});
            ++accepted;  // e.g. a flipped comment byte
        } catch (const age::AgeError& e) {
            CHECK(e.failure() == age::Failure::usage);
        }
    }
    CHECK(accepted <= 15);  // comment bytes, and cipher/KDF names (checked only when needed)
    // Garbage and empty PEM bodies.
    CHECK(failure_of([] {
              ssh::parse_identity(bytes_of("-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----\n"),
                                  "garbage", {});
          }) == age::Failure::usage);
    CHECK(failure_of([] {
              ssh::parse_identity(bytes_of("-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----\n"),
                                  "garbage", {});
          }) == age::Failure::usage);
    CHECK(failure_of([] { ssh::parse_identity(bytes_of("-----BEGIN nothing"), "garbage", {}); }) == age::Failure::usage);
    std::string huge = armor_openssh(good);
    huge.resize(ssh::kMaxPrivateKeySize, '\n');
    CHECK_THAT(age_error_of([&] { ssh::parse_identity(bytes_of(huge), "huge", {}); }), Catch::Contains("too long"));
    huge.resize(ssh::kMaxPrivateKeySize - 1);
    CHECK(ssh::parse_identity(bytes_of(huge), "just fits", {}) != nullptr);
}
