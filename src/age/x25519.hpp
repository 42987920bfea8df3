// The native X25519 recipient type (spec §6): age1… recipients, AGE-SECRET-KEY-1… identities,
// `-> X25519 <ephemeral share>` stanzas with a 32-byte body.
#pragma once

#include <array>
#include <memory>
#include <string_view>

#include "age/age.hpp"

namespace gitsops::age {

inline constexpr std::string_view kX25519Type = "X25519";
inline constexpr std::string_view kRecipientHrp = "age";
inline constexpr std::string_view kIdentityHrp = "AGE-SECRET-KEY-";

using X25519Public = std::array<std::uint8_t, 32>;

class X25519Recipient : public Recipient {
public:
    explicit X25519Recipient(const X25519Public& public_key) : public_(public_key) {}
    // Strict: Bech32 with the lowercase HRP "age" and 32 bytes; throws AgeError(usage).
    static std::unique_ptr<X25519Recipient> parse(std::string_view text);

    std::vector<Stanza> wrap(const FileKey& key) const override;
    std::string to_string() const override;

private:
    X25519Public public_;
};

class X25519Identity : public Identity {
public:
    explicit X25519Identity(FixedSecret<32> secret);
    // Strict: Bech32 with the uppercase HRP "AGE-SECRET-KEY-" and 32 bytes; throws
    // AgeError(usage) without repeating the text.
    static std::unique_ptr<X25519Identity> parse(std::string_view text);

    std::optional<FileKey> unwrap(std::span<const Stanza> stanzas) const override;
    std::unique_ptr<Recipient> recipient() const override;
    SecureBytes to_string() const;  // AGE-SECRET-KEY-1…

private:
    std::optional<FileKey> unwrap_one(const Stanza& stanza, std::size_t index) const;

    FixedSecret<32> secret_;
    X25519Public public_;
};

}  // namespace gitsops::age
