#include "age/x25519.hpp"

#include "age/bech32.hpp"
#include "age/format.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::age {

namespace {

constexpr std::string_view kLabel = "age-encryption.org/v1/X25519";

[[noreturn]] void fail(std::size_t stanza_index, std::string_view what) {
    format::stanza_error(stanza_index, kX25519Type, what);
}

// HKDF(shared secret, salt = share ‖ recipient, label): the key that seals the file key.
FixedSecret<32> wrap_key(const FixedSecret<32>& shared, std::span<const std::uint8_t> share,
                         const X25519Public& recipient) {
    std::array<std::uint8_t, 64> salt{};
    std::copy(share.begin(), share.end(), salt.begin());
    std::copy(recipient.begin(), recipient.end(), salt.begin() + 32);
    FixedSecret<32> key;
    crypto::hkdf_sha256(shared.span(), salt, kLabel, key.span());
    return key;
}

bech32::Decoded decode_key(std::string_view text, std::string_view hrp, std::string_view what) {
    try {
        bech32::Decoded d = bech32::decode(text);
        if (d.hrp != hrp) throw bech32::Error("it does not start with \"" + std::string(hrp) + "1\"");
        if (d.data.size() != 32) throw bech32::Error("its key is not 32 bytes");
        return d;
    } catch (const bech32::Error& e) {
        throw AgeError(Failure::usage, "malformed " + std::string(what) + ": " + e.what());
    }
}

}  // namespace

// ---- recipient ----------------------------------------------------------------------------------

std::unique_ptr<X25519Recipient> X25519Recipient::parse(std::string_view text) {
    const bech32::Decoded d = decode_key(text, kRecipientHrp, "X25519 recipient \"" + std::string(text) + "\"");
    X25519Public pk{};
    std::copy(d.data.begin(), d.data.end(), pk.begin());
    return std::make_unique<X25519Recipient>(pk);
}

std::vector<Stanza> X25519Recipient::wrap(const FileKey& key) const {
    FixedSecret<32> ephemeral;
    crypto::random_bytes(ephemeral.span());
    const X25519Public share = crypto::x25519_base(ephemeral.span());
    const auto shared = crypto::x25519(ephemeral.span(), public_);
    if (!shared) throw AgeError(Failure::usage, "X25519 recipient " + to_string() + " is a low-order point");
    const FixedSecret<32> k = wrap_key(*shared, share, public_);
    return {Stanza{std::string(kX25519Type), {crypto::base64_encode(share, false)},
                   format::seal_file_key(k.span(), key)}};
}

std::string X25519Recipient::to_string() const { return bech32::encode(kRecipientHrp, public_); }

// ---- identity -----------------------------------------------------------------------------------

X25519Identity::X25519Identity(FixedSecret<32> secret)
    : secret_(std::move(secret)), public_(crypto::x25519_base(secret_.span())) {}

std::unique_ptr<X25519Identity> X25519Identity::parse(std::string_view text) {
    const bech32::Decoded d = decode_key(text, kIdentityHrp, "X25519 identity");
    return std::make_unique<X25519Identity>(FixedSecret<32>(d.data));
}

std::unique_ptr<Recipient> X25519Identity::recipient() const { return std::make_unique<X25519Recipient>(public_); }

SecureBytes X25519Identity::to_string() const {
    std::string text = bech32::encode(kIdentityHrp, secret_.span());
    SecureBytes out = secure_copy(text);
    wipe(text);
    return out;
}

std::optional<FileKey> X25519Identity::unwrap(std::span<const Stanza> stanzas) const {
    return format::first_unwrapped(stanzas, [this](const Stanza& s, std::size_t i) { return unwrap_one(s, i); });
}

// Go's order: foreign type → not mine; malformed own stanza or all-zero shared secret → fatal;
// a tag that does not verify → not mine.
std::optional<FileKey> X25519Identity::unwrap_one(const Stanza& stanza, std::size_t index) const {
    if (stanza.type != kX25519Type) return std::nullopt;
    if (stanza.args.size() != 1) fail(index, "expected exactly one argument, the ephemeral share");
    const auto share = crypto::base64_decode(stanza.args[0], false);
    if (!share) fail(index, "ephemeral share is not canonical unpadded base64");
    if (share->size() != 32) fail(index, "ephemeral share is not 32 bytes");
    const auto shared = crypto::x25519(secret_.span(), *share);
    if (!shared) fail(index, "shared secret is all zero (low-order ephemeral share)");
    const FixedSecret<32> k = wrap_key(*shared, *share, public_);
    // Checked before trying the AEAD, against partitioning-oracle attacks.
    if (stanza.body.size() != format::kWrappedKeySize) fail(index, "wrapped file key is not 16 bytes");
    return format::open_file_key(k.span(), stanza.body);
}

// ---- key generation -----------------------------------------------------------------------------

X25519Keypair generate_x25519() {
    FixedSecret<32> secret;
    crypto::random_bytes(secret.span());
    const X25519Identity identity(std::move(secret));
    return X25519Keypair{identity.recipient()->to_string(), identity.to_string()};
}

}  // namespace gitsops::age
