// OpenSSH key parsing (src/age/openssh.hpp, src/age/ssh.hpp): public key blobs, authorized_keys
// lines, PEM framing, openssh-key-v1 and PEM private keys as age identities.
// Properties: the public entry points (ssh::parse_recipient, ssh::parse_identity) reject bad
// input with gitsops::Error only (openssh::KeyError is the internal parsers' documented error);
// a parsed blob is canonical (re-encoding the key gives the same blob, which parses again); an
// authorized_keys line written back from what was parsed parses to the same key and comment; a
// recipient's text parses to the same recipient; a file key wrapped for an identity's recipient
// unwraps to the same key with that identity.
#include <cstdint>
#include <memory>
#include <string>

#include "age/age.hpp"
#include "age/openssh.hpp"
#include "age/ssh.hpp"
#include "base/error.hpp"
#include "crypto/crypto.hpp"
#include "fuzz_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

void check_blob(std::span<const std::uint8_t> input) {
    openssh::PublicKey key;
    try {
        key = openssh::parse_public_key(input);
    } catch (const openssh::KeyError&) {
        return;
    }
    const openssh::PublicKey again = openssh::parse_public_key(key.blob);
    FUZZ_CHECK(again.type == key.type && again.blob == key.blob);
    if (key.type == openssh::kEd25519) FUZZ_CHECK(openssh::ed25519_public_key(key.ed25519).blob == key.blob);
    if (key.type == openssh::kRsa) FUZZ_CHECK(openssh::rsa_public_key(key.rsa_n, key.rsa_e).blob == key.blob);
}

void check_authorized_key(std::string_view line) {
    openssh::AuthorizedKey parsed;
    try {
        parsed = openssh::parse_authorized_key(line);
    } catch (const openssh::KeyError&) {
        return;
    }
    std::string again = parsed.key.type + ' ' + crypto::base64_encode(parsed.key.blob, true);
    if (!parsed.comment.empty()) again += ' ' + parsed.comment;
    const openssh::AuthorizedKey reparsed = openssh::parse_authorized_key(again);
    FUZZ_CHECK(reparsed.key.blob == parsed.key.blob);
    FUZZ_CHECK(reparsed.comment == parsed.comment);
}

void check_recipient(std::string_view line) {
    std::unique_ptr<Recipient> r;
    try {
        r = ssh::parse_recipient(line);
    } catch (const Error&) {
        return;
    }
    if (!r) return;
    const std::string text = r->to_string();
    const std::unique_ptr<Recipient> again = ssh::parse_recipient(text);
    FUZZ_CHECK(again && again->to_string() == text);
}

// Encrypted keys would need bcrypt_pbkdf with the file's own round count: the passphrase callback
// refuses, so they are parsed (envelope, public key) but never decrypted here.
SecureBytes no_passphrase(std::string_view) { throw Error("fuzz: no passphrase"); }

void check_identity(std::span<const std::uint8_t> input) {
    std::unique_ptr<Identity> id;
    try {
        id = ssh::parse_identity(input, "-", no_passphrase);  // "-": never reads a .pub beside it
    } catch (const Error&) {
        return;
    }
    FUZZ_CHECK(id != nullptr);
    std::unique_ptr<Recipient> r;
    try {
        // A protected key's public half comes from its envelope, checked only now (an invalid
        // Ed25519 point throws AgeError here).
        r = id->recipient();
    } catch (const Error&) {
        return;
    }
    if (!r) return;
    const std::uint8_t bytes[kFileKeySize] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const FileKey key{std::span<const std::uint8_t>(bytes)};
    std::vector<Stanza> stanzas;
    try {
        stanzas = r->wrap(key);  // RSA keys under 2048 bits are refused here
    } catch (const Error&) {
        return;
    }
    std::optional<FileKey> back;
    try {
        back = id->unwrap(stanzas);
    } catch (const Error&) {
        return;  // an encrypted key: the passphrase was refused
    }
    FUZZ_CHECK(back && std::equal(back->span().begin(), back->span().end(), bytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const std::string_view text = fuzz::text_of(data, size);
    check_blob(input);
    check_authorized_key(text);
    check_recipient(text);
    check_identity(input);
    return 0;
}
