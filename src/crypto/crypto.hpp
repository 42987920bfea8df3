// Thin wrappers over libsodium and OpenSSL libcrypto: the only place that calls them.
// Everything above this layer speaks spans and SecureBytes; no primitive is implemented here,
// only composed (HKDF from HMAC, bcrypt_pbkdf from Blowfish and SHA-512).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/secure.hpp"

namespace gitsops::crypto {

using Bytes = std::span<const std::uint8_t>;
using Sha256 = std::array<std::uint8_t, 32>;
using Sha512 = std::array<std::uint8_t, 64>;

// ---- randomness and hashes -------------------------------------------------------------------
void random_bytes(std::span<std::uint8_t> out);
Sha256 sha256(Bytes data);
Sha512 sha512(Bytes data);

class Sha512Stream {
public:
    Sha512Stream();
    ~Sha512Stream();
    Sha512Stream(const Sha512Stream&) = delete;
    Sha512Stream& operator=(const Sha512Stream&) = delete;
    void update(Bytes data);
    Sha512 final();

private:
    struct State;
    std::unique_ptr<State> s_;
};

// ---- HMAC-SHA-256 and HKDF-SHA-256 (RFC 2104 / RFC 5869) -------------------------------------
class HmacSha256 {
public:
    explicit HmacSha256(Bytes key);  // any key length, as RFC 2104
    ~HmacSha256();
    HmacSha256(const HmacSha256&) = delete;
    HmacSha256& operator=(const HmacSha256&) = delete;
    void update(Bytes data);
    Sha256 final();

private:
    struct State;
    std::unique_ptr<State> s_;
};
Sha256 hmac_sha256(Bytes key, Bytes message);
// HKDF-Extract then Expand; out.size() at most 255*32.
void hkdf_sha256(Bytes ikm, Bytes salt, std::string_view info, std::span<std::uint8_t> out);

// ---- ChaCha20-Poly1305 (IETF: 32-byte key, 12-byte nonce, 16-byte tag appended) --------------
inline constexpr std::size_t kChaChaTag = 16;
// out.size() must be plaintext.size() + 16.
void chacha20poly1305_seal(Bytes key, Bytes nonce, Bytes plaintext, std::span<std::uint8_t> out);
// out.size() must be ciphertext.size() - 16; false when the tag does not verify.
bool chacha20poly1305_open(Bytes key, Bytes nonce, Bytes ciphertext, std::span<std::uint8_t> out);

// ---- X25519 and Ed25519 conversion -----------------------------------------------------------
std::array<std::uint8_t, 32> x25519_base(Bytes scalar);
// Empty when the result is all zero (low-order point): age treats that as fatal.
std::optional<FixedSecret<32>> x25519(Bytes scalar, Bytes point);
std::optional<std::array<std::uint8_t, 32>> ed25519_pk_to_x25519(Bytes ed_public);
FixedSecret<32> ed25519_seed_to_x25519(Bytes seed32);

// ---- scrypt (RFC 7914) ----------------------------------------------------------------------
void scrypt(Bytes passphrase, Bytes salt, std::uint64_t n, std::uint32_t r, std::uint32_t p,
            std::span<std::uint8_t> out);

// ---- bcrypt_pbkdf (OpenBSD), for encrypted OpenSSH keys --------------------------------------
void bcrypt_pbkdf(Bytes passphrase, Bytes salt, unsigned rounds, std::span<std::uint8_t> out);

// ---- Base64 (RFC 4648 §4) --------------------------------------------------------------------
std::string base64_encode(Bytes data, bool padded);
// Strict: canonical bits, no whitespace; padding exactly as `padded` says.
std::optional<SecureBytes> base64_decode(std::string_view text, bool padded);
// Lenient decode used for OpenSSH/PEM bodies: ignores whitespace, padding optional.
std::optional<SecureBytes> base64_decode_lenient(std::string_view text);

// ---- AES (OpenSSL) ---------------------------------------------------------------------------
// AES-256-GCM with an IV of any length (sops uses 32 bytes); output = ciphertext || 16-byte tag.
std::string aes256gcm_seal(Bytes key, Bytes iv, Bytes aad, Bytes plaintext, std::array<std::uint8_t, 16>& tag);
// Empty optional when authentication fails.
std::optional<SecureBytes> aes256gcm_open(Bytes key, Bytes iv, Bytes aad, Bytes ciphertext, Bytes tag);
SecureBytes aes256ctr(Bytes key, Bytes iv16, Bytes data);
SecureBytes aes256cbc_decrypt_nopad(Bytes key, Bytes iv16, Bytes data);

// ---- RSA (OpenSSL), for ssh-rsa ---------------------------------------------------------------
class RsaKey {
public:
    // Big-endian unsigned magnitudes, as in SSH mpints without the sign byte.
    static RsaKey from_public(Bytes n, Bytes e);
    static RsaKey from_private(Bytes n, Bytes e, Bytes d, Bytes p, Bytes q, Bytes iqmp);
    RsaKey(RsaKey&&) noexcept;
    RsaKey& operator=(RsaKey&&) noexcept;
    ~RsaKey();

    unsigned bits() const;
    bool has_private() const { return private_; }
    std::string oaep_sha256_encrypt(std::string_view label, Bytes message) const;
    std::optional<SecureBytes> oaep_sha256_decrypt(std::string_view label, Bytes ciphertext) const;

private:
    struct Impl;
    explicit RsaKey(std::unique_ptr<Impl> impl, bool has_private);
    std::unique_ptr<Impl> impl_;
    bool private_ = false;
};

// ---- constant time ---------------------------------------------------------------------------
bool equal_ct(Bytes a, Bytes b);
void wipe(std::span<std::uint8_t> b) noexcept;

}  // namespace gitsops::crypto
