// Internal to the age module: the ssh-ed25519 and ssh-rsa recipient types (age-format.md §7),
// built on OpenSSH public key lines and OpenSSH/PEM private keys.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "age/age.hpp"

namespace gitsops::age::ssh {

inline constexpr std::string_view kEd25519Label = "age-encryption.org/v1/ssh-ed25519";
inline constexpr std::string_view kRsaLabel = "age-encryption.org/v1/ssh-rsa";
inline constexpr unsigned kMinRsaBits = 2048;
inline constexpr std::size_t kMaxPrivateKeySize = 16 * 1024;  // as age's CLI

// A well-formed SSH key of a type age cannot use (ssh-dss, ECDSA, security keys, certificates).
// Recipients files skip these with a warning instead of failing.
class UnsupportedKeyType : public AgeError {
public:
    explicit UnsupportedKeyType(std::string key_type);
    const std::string& key_type() const noexcept { return key_type_; }

private:
    std::string key_type_;
};

// Parses an OpenSSH public key line ("ssh-ed25519 AAAA... comment" / "ssh-rsa ..."); nullptr when
// the text is not an SSH key line (does not start with "ssh-"); throws AgeError(Failure::usage) for
// a malformed one, UnsupportedKeyType for another SSH key type, and AgeError(Failure::usage) for
// RSA keys under 2048 bits. to_string() gives "type base64 [comment]" without any options field.
std::unique_ptr<Recipient> parse_recipient(std::string_view line);

// True when `text` looks like a PEM/OpenSSH private key: it starts with "-----BEGIN" (but is not
// an armored age file, "-----BEGIN AGE"), as age's identity-file dispatch decides.
bool looks_like_private_key(std::span<const std::uint8_t> text);

// Parses an SSH private key file (openssh-key-v1, PEM PKCS#1 or PKCS#8; Ed25519 or RSA) into one
// non-native identity. Encrypted keys ask `passphrase` lazily, only when a stanza with their type
// and tag appears; the public key comes from the openssh-key-v1 envelope, or for legacy encrypted
// PEM from `<filename>.pub`. Files of kMaxPrivateKeySize bytes or more are refused. Throws
// AgeError(Failure::usage) naming the file and the problem.
std::unique_ptr<Identity> parse_identity(std::span<const std::uint8_t> text, std::string_view filename,
                                         PassphraseFn passphrase);

// An ssh-ed25519 identity from a raw 32-byte Ed25519 seed (its public key is derived).
std::unique_ptr<Identity> ed25519_identity(std::span<const std::uint8_t> seed);
// An ssh-ed25519 recipient from a raw 32-byte Ed25519 public key.
std::unique_ptr<Recipient> ed25519_recipient(std::span<const std::uint8_t> public_key);

// The key tag of a public key blob: base64 (unpadded) of the first 4 bytes of its SHA-256.
std::string key_tag(std::span<const std::uint8_t> blob);

}  // namespace gitsops::age::ssh
