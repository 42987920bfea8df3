// age (age-encryption.org/v1): the one public header of the age module.
//
// Files are encrypted to recipients and decrypted with identities. Supported types: X25519
// (age1… / AGE-SECRET-KEY-1…), ssh-ed25519 and ssh-rsa (OpenSSH public key lines; openssh-key-v1
// private keys, plain or bcrypt-protected; PEM PKCS#1/PKCS#8), and scrypt passphrases. Unknown,
// grease, post-quantum and plugin stanzas are parsed, authenticated and ignored.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/secure.hpp"

namespace gitsops::age {

inline constexpr std::size_t kFileKeySize = 16;
using FileKey = FixedSecret<kFileKeySize>;

// A recipient stanza: `-> type args...` plus its binary body.
struct Stanza {
    std::string type;
    std::vector<std::string> args;
    std::string body;  // raw bytes (a wrapped file key is not secret)
    bool operator==(const Stanza&) const = default;
};

// The class of a failure, as the CCTV vectors name them.
enum class Failure { header, no_match, hmac, payload, armor, usage, io };
const char* failure_name(Failure f);

// Every age error: a message naming what was wrong (never secret bytes), its class, exit code 1
// (or 128 when no identity matched, as sops does when it cannot retrieve a data key).
class AgeError : public Error {
public:
    AgeError(Failure f, std::string message);
    Failure failure() const noexcept { return failure_; }

private:
    Failure failure_;
};

// ---- recipients and identities -----------------------------------------------------------------

class Recipient {
public:
    virtual ~Recipient() = default;
    // Wraps the file key into one or more stanzas.
    virtual std::vector<Stanza> wrap(const FileKey& key) const = 0;
    // The canonical text of this recipient (age1…, or the OpenSSH public key line).
    virtual std::string to_string() const = 0;
    // scrypt must be the only stanza of a file.
    virtual bool must_be_alone() const { return false; }
};

class Identity {
public:
    virtual ~Identity() = default;
    // Walks the stanzas in header order. Returns the file key on success, nullopt when none of
    // them is for this identity, and throws AgeError(Failure::header) on a fatal stanza error
    // (malformed stanza of its own type, low-order share, ...), as age does.
    virtual std::optional<FileKey> unwrap(std::span<const Stanza> stanzas) const = 0;
    // The recipient that encrypts to this identity, when it has one (scrypt has none).
    virtual std::unique_ptr<Recipient> recipient() const { return nullptr; }
    // Native identities (X25519, scrypt) are tried before SSH ones, as in Go age.
    virtual bool native() const { return true; }
};

using Recipients = std::vector<std::unique_ptr<Recipient>>;
using Identities = std::vector<std::unique_ptr<Identity>>;

// Asks for a passphrase (for bcrypt-protected OpenSSH keys); `prompt` names the key.
using PassphraseFn = std::function<SecureBytes(std::string_view prompt)>;

// X25519 keys.
struct X25519Keypair {
    std::string recipient;  // age1…
    SecureBytes identity;   // AGE-SECRET-KEY-1… (text, uppercase)
};
X25519Keypair generate_x25519();

// Parses one recipient string: age1… or an OpenSSH `ssh-ed25519`/`ssh-rsa` public key line.
std::unique_ptr<Recipient> parse_recipient(std::string_view text);
// Parses a recipients file (-R): comments, blank lines, one recipient a line.
Recipients parse_recipients_file(std::string_view text, std::string_view filename);
// Parses an identity file as age -i does: an age identity list (AGE-SECRET-KEY-1… lines with
// comments), or an SSH private key (openssh-key-v1 or PEM). `passphrase` is asked only when an
// encrypted SSH key is needed for a stanza carrying its tag.
Identities parse_identity_file(std::span<const std::uint8_t> text, std::string_view filename,
                               PassphraseFn passphrase = {});
// Public recipients (age1…) of every identity in an age identity list, in order (keygen -y).
std::vector<std::string> identity_file_recipients(std::span<const std::uint8_t> text, std::string_view filename);

std::unique_ptr<Recipient> scrypt_recipient(std::span<const std::uint8_t> passphrase, int log_n = 18);
std::unique_ptr<Identity> scrypt_identity(std::span<const std::uint8_t> passphrase, int max_log_n = 22);

// ---- encryption and decryption -----------------------------------------------------------------

// Byte sources and sinks, so that a 256 MiB file streams in 64 KiB chunks.
class Source {
public:
    virtual ~Source() = default;
    // Reads up to out.size() bytes; returns fewer only at end of input.
    virtual std::size_t read(std::span<std::uint8_t> out) = 0;
};
class Sink {
public:
    virtual ~Sink() = default;
    virtual void write(std::span<const std::uint8_t> bytes) = 0;
};

class FdSource : public Source {
public:
    explicit FdSource(int fd) : fd_(fd) {}
    std::size_t read(std::span<std::uint8_t> out) override;

private:
    int fd_;
};
class FdSink : public Sink {
public:
    explicit FdSink(int fd) : fd_(fd) {}
    void write(std::span<const std::uint8_t> bytes) override;

private:
    int fd_;
};
class MemorySource : public Source {
public:
    explicit MemorySource(std::span<const std::uint8_t> data) : data_(data) {}
    std::size_t read(std::span<std::uint8_t> out) override;

private:
    std::span<const std::uint8_t> data_;
    std::size_t off_ = 0;
};
class MemorySink : public Sink {
public:
    void write(std::span<const std::uint8_t> bytes) override { data.insert(data.end(), bytes.begin(), bytes.end()); }
    SecureBytes data;
};

void encrypt(const Recipients& recipients, Source& in, Sink& out, bool armor);
// Armor is detected automatically. Plaintext is released chunk by chunk as each chunk
// authenticates (as age does); callers that need all-or-nothing write to memory first.
void decrypt(const Identities& identities, Source& in, Sink& out);

// In-memory conveniences (sops data keys, tests).
std::string encrypt(const Recipients& recipients, std::span<const std::uint8_t> plaintext, bool armor);
SecureBytes decrypt(const Identities& identities, std::span<const std::uint8_t> ciphertext);

// The stanzas of a file's header, without decrypting (for `sops` metadata checks and tests).
std::vector<Stanza> read_stanzas(std::span<const std::uint8_t> ciphertext);

}  // namespace gitsops::age
