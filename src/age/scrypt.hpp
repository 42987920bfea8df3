// The scrypt (passphrase) recipient type (spec §8): `-> scrypt <salt> <logN>` with a 32-byte
// body. Such a stanza must be the only one in its header.
#pragma once

#include <string_view>

#include "age/age.hpp"

namespace gitsops::age {

inline constexpr std::string_view kScryptType = "scrypt";
inline constexpr int kDefaultScryptLogN = 18;     // Go's default: about a second
inline constexpr int kDefaultScryptMaxLogN = 22;  // Go's default cap when decrypting (4 GiB)

class ScryptRecipient : public Recipient {
public:
    // Throws AgeError(usage) for an empty passphrase or a work factor outside 1..30.
    ScryptRecipient(std::span<const std::uint8_t> passphrase, int log_n);

    std::vector<Stanza> wrap(const FileKey& key) const override;
    std::string to_string() const override { return std::string(kScryptType); }  // a passphrase has no public form
    bool must_be_alone() const override { return true; }

private:
    SecureBytes passphrase_;
    int log_n_;
};

class ScryptIdentity : public Identity {
public:
    // `max_log_n` caps the work factor a file may demand (memory is 2^(logN+10) bytes).
    ScryptIdentity(std::span<const std::uint8_t> passphrase, int max_log_n);

    std::optional<FileKey> unwrap(std::span<const Stanza> stanzas) const override;

private:
    std::optional<FileKey> unwrap_one(const Stanza& stanza, std::size_t index) const;

    SecureBytes passphrase_;
    int max_log_n_;
};

}  // namespace gitsops::age
