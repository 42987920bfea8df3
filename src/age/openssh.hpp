// Internal to the age module: OpenSSH key formats (age-format.md §7.1, §7.5, §7.6).
//
// SSH wire encoding, public key blobs and authorized_keys lines, PEM block framing, and
// `openssh-key-v1` private keys (plain or bcrypt + AES protected). Parsers are strict and
// bounds-checked; every error is a KeyError whose message says what was wrong, never a key byte.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/secure.hpp"

namespace gitsops::age::openssh {

class KeyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// The passphrase does not decrypt the key (OpenSSH's check integers differ).
class WrongPassphrase : public KeyError {
public:
    using KeyError::KeyError;
};

// ---- SSH wire format (RFC 4251 §5) -----------------------------------------------------------

class WireReader {
public:
    explicit WireReader(std::span<const std::uint8_t> in) : in_(in) {}
    // `what` names the field in error messages.
    std::uint32_t u32(std::string_view what);
    std::span<const std::uint8_t> string(std::string_view what);
    std::string_view text(std::string_view what) { return view_of(string(what)); }
    // A non-negative mpint; returns its magnitude without leading zero bytes (empty for zero).
    std::span<const std::uint8_t> mpint(std::string_view what);
    // Everything not read yet.
    std::span<const std::uint8_t> rest();
    bool at_end() const { return off_ == in_.size(); }
    void expect_end(std::string_view what) const;

private:
    std::span<const std::uint8_t> take(std::size_t n, std::string_view what);
    std::span<const std::uint8_t> in_;
    std::size_t off_ = 0;
};

class WireWriter {
public:
    void u32(std::uint32_t v);
    void string(std::span<const std::uint8_t> s);
    void string(std::string_view s) { string(bytes_of(s)); }
    // Writes a non-negative integer given as a big-endian magnitude, in minimal mpint form.
    void mpint(std::span<const std::uint8_t> magnitude);
    void raw(std::span<const std::uint8_t> s) { out_.insert(out_.end(), s.begin(), s.end()); }
    const std::vector<std::uint8_t>& bytes() const { return out_; }

private:
    std::vector<std::uint8_t> out_;
};

// ---- public keys -----------------------------------------------------------------------------

inline constexpr std::string_view kEd25519 = "ssh-ed25519";
inline constexpr std::string_view kRsa = "ssh-rsa";

struct PublicKey {
    std::string type;                        // the algorithm name inside the blob
    std::array<std::uint8_t, 32> ed25519{};  // ssh-ed25519
    std::vector<std::uint8_t> rsa_e, rsa_n;  // ssh-rsa: magnitudes without leading zeros
    std::vector<std::uint8_t> blob;          // canonical wire encoding (what the key tag hashes)
    bool supported() const { return type == kEd25519 || type == kRsa; }
};

PublicKey ed25519_public_key(std::span<const std::uint8_t> key32);
PublicKey rsa_public_key(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e);

// Parses a public key blob completely. ssh-ed25519 must hold 32 bytes; ssh-rsa's exponent must be
// odd, at least 3 and at most 24 bits, and its modulus at most 16384 bits. Other algorithms
// OpenSSH knows (ECDSA, DSA, security keys, certificates) come back unvalidated with only `type`
// and `blob` set; unknown names and malformed blobs throw KeyError.
PublicKey parse_public_key(std::span<const std::uint8_t> blob);

struct AuthorizedKey {
    PublicKey key;
    std::string comment;
};
// One authorized_keys / .pub line, as ssh.ParseAuthorizedKey reads it: optional options field,
// key type (which must equal the blob's), padded base64 blob, optional comment. The line ends
// at the first CR; surrounding spaces and tabs and a final newline are ignored.
AuthorizedKey parse_authorized_key(std::string_view line);

// ---- PEM framing (RFC 7468 with RFC 1421 headers) -------------------------------------------

struct PemBlock {
    std::string_view type;  // "OPENSSH PRIVATE KEY", "RSA PRIVATE KEY", ...
    std::string_view text;  // from `-----BEGIN` through the end of the `-----END` line
    std::string_view body;  // the base64 lines (after any headers)
    bool encrypted = false; // legacy `Proc-Type: 4,ENCRYPTED`
};
// The first PEM block of `text` (its BEGIN line starts the text or follows a newline); empty
// when there is none.
std::optional<PemBlock> find_pem_block(std::string_view text);

// ---- openssh-key-v1 private keys -------------------------------------------------------------

struct PrivateKey {
    PublicKey pub;                   // rebuilt from the private section
    SecureBytes ed25519_seed;        // ssh-ed25519: 32 bytes
    SecureBytes rsa_d, rsa_p, rsa_q, rsa_iqmp;
    std::string comment;
};

// The outer, unencrypted layer of an openssh-key-v1 key.
struct OpensshFile {
    std::string cipher, kdf;
    std::vector<std::uint8_t> kdf_options;
    PublicKey public_key;         // the embedded public key, readable without a passphrase
    SecureBytes private_section;  // still encrypted when encrypted()
    bool encrypted() const { return cipher != "none" || kdf != "none"; }
};

// Parses the decoded bytes of an `OPENSSH PRIVATE KEY` block: magic, names, exactly one key.
OpensshFile parse_openssh_file(std::span<const std::uint8_t> decoded);
// Decodes the base64 body of a PEM block into bytes (line breaks ignored).
SecureBytes decode_pem_body(std::string_view body);

// Decrypts (bcrypt_pbkdf + aes256-ctr/aes256-cbc) and parses the private section: check
// integers, one ssh-ed25519 or ssh-rsa key, comment, padding 1, 2, 3, ... The passphrase is
// ignored for unencrypted keys. Throws WrongPassphrase when the check integers differ after
// decryption, KeyError for anything else.
PrivateKey decrypt_private_key(const OpensshFile& file, std::span<const std::uint8_t> passphrase);

}  // namespace gitsops::age::openssh
