// libsodium-backed primitives.
#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "crypto/crypto.hpp"

namespace gitsops::crypto {

namespace {
struct SodiumReady {
    SodiumReady() { init_sodium(); }
};
void ready() { static SodiumReady once; }

// libsodium declares most inputs nonnull even when their length is zero; an empty span may carry
// a null data pointer, so hand it a valid address instead.
const std::uint8_t* in(Bytes b) {
    static const std::uint8_t empty = 0;
    return b.empty() ? &empty : b.data();
}
}  // namespace

void random_bytes(std::span<std::uint8_t> out) {
    ready();
    randombytes_buf(out.data(), out.size());
}

Sha256 sha256(Bytes data) {
    ready();
    Sha256 h{};
    crypto_hash_sha256(h.data(), in(data), data.size());
    return h;
}

Sha512 sha512(Bytes data) {
    ready();
    Sha512 h{};
    crypto_hash_sha512(h.data(), in(data), data.size());
    return h;
}

struct Sha512Stream::State {
    crypto_hash_sha512_state st;
};
Sha512Stream::Sha512Stream() : s_(std::make_unique<State>()) {
    ready();
    crypto_hash_sha512_init(&s_->st);
}
Sha512Stream::~Sha512Stream() = default;
void Sha512Stream::update(Bytes data) { crypto_hash_sha512_update(&s_->st, in(data), data.size()); }
Sha512 Sha512Stream::final() {
    Sha512 h{};
    crypto_hash_sha512_final(&s_->st, h.data());
    return h;
}

struct HmacSha256::State {
    crypto_auth_hmacsha256_state st;
};
// The incremental API accepts keys of any length (the one-shot call insists on 32 bytes).
HmacSha256::HmacSha256(Bytes key) : s_(std::make_unique<State>()) {
    ready();
    crypto_auth_hmacsha256_init(&s_->st, in(key), key.size());
}
HmacSha256::~HmacSha256() { sodium_memzero(&s_->st, sizeof s_->st); }
void HmacSha256::update(Bytes data) { crypto_auth_hmacsha256_update(&s_->st, in(data), data.size()); }
Sha256 HmacSha256::final() {
    Sha256 out{};
    crypto_auth_hmacsha256_final(&s_->st, out.data());
    return out;
}

Sha256 hmac_sha256(Bytes key, Bytes message) {
    HmacSha256 h(key);
    h.update(message);
    return h.final();
}

// libsodium 1.0.18 has no HKDF; RFC 5869 is two HMAC steps. An empty salt is an empty HMAC
// key, which HMAC zero-pads exactly like RFC 5869's default of HashLen zero bytes.
void hkdf_sha256(Bytes ikm, Bytes salt, std::string_view info, std::span<std::uint8_t> out) {
    if (out.size() > 255 * 32) throw std::length_error("HKDF output too long");
    Sha256 prk = hmac_sha256(salt, ikm);
    Sha256 t{};
    std::size_t done = 0;
    for (std::uint8_t counter = 1; done < out.size(); ++counter) {
        HmacSha256 h(prk);
        if (counter > 1) h.update(t);
        h.update(bytes_of(info));
        h.update(std::span<const std::uint8_t>(&counter, 1));
        t = h.final();
        std::size_t n = std::min<std::size_t>(32, out.size() - done);
        std::memcpy(out.data() + done, t.data(), n);
        done += n;
    }
    sodium_memzero(prk.data(), prk.size());
    sodium_memzero(t.data(), t.size());
}

void chacha20poly1305_seal(Bytes key, Bytes nonce, Bytes plaintext, std::span<std::uint8_t> out) {
    ready();
    if (key.size() != 32 || nonce.size() != 12 || out.size() != plaintext.size() + kChaChaTag)
        throw std::invalid_argument("chacha20poly1305_seal: bad sizes");
    unsigned long long clen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &clen, in(plaintext), plaintext.size(), nullptr, 0,
                                              nullptr, nonce.data(), key.data());
}

bool chacha20poly1305_open(Bytes key, Bytes nonce, Bytes ciphertext, std::span<std::uint8_t> out) {
    ready();
    if (key.size() != 32 || nonce.size() != 12 || ciphertext.size() < kChaChaTag ||
        out.size() != ciphertext.size() - kChaChaTag)
        throw std::invalid_argument("chacha20poly1305_open: bad sizes");
    unsigned long long mlen = 0;
    return crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &mlen, nullptr, ciphertext.data(),
                                                     ciphertext.size(), nullptr, 0, nonce.data(),
                                                     key.data()) == 0;
}

std::array<std::uint8_t, 32> x25519_base(Bytes scalar) {
    ready();
    if (scalar.size() != 32) throw std::invalid_argument("x25519: scalar must be 32 bytes");
    std::array<std::uint8_t, 32> out{};
    crypto_scalarmult_base(out.data(), scalar.data());
    return out;
}

std::optional<FixedSecret<32>> x25519(Bytes scalar, Bytes point) {
    ready();
    if (scalar.size() != 32 || point.size() != 32) throw std::invalid_argument("x25519: inputs must be 32 bytes");
    FixedSecret<32> out;
    // Returns -1 for an all-zero result (and for blacklisted small-order points).
    if (crypto_scalarmult(out.data(), scalar.data(), point.data()) != 0) return std::nullopt;
    return out;
}

std::optional<std::array<std::uint8_t, 32>> ed25519_pk_to_x25519(Bytes ed_public) {
    ready();
    if (ed_public.size() != 32) return std::nullopt;
    std::array<std::uint8_t, 32> out{};
    if (crypto_sign_ed25519_pk_to_curve25519(out.data(), ed_public.data()) != 0) return std::nullopt;
    return out;
}

FixedSecret<32> ed25519_seed_to_x25519(Bytes seed32) {
    ready();
    if (seed32.size() != 32) throw std::invalid_argument("ed25519 seed must be 32 bytes");
    // SHA-512(seed)[0..32] is the X25519 scalar; clamping does not change any X25519 result.
    Sha512 h = sha512(seed32);
    FixedSecret<32> out(std::span<const std::uint8_t>(h.data(), 32));
    sodium_memzero(h.data(), h.size());
    return out;
}

void scrypt(Bytes passphrase, Bytes salt, std::uint64_t n, std::uint32_t r, std::uint32_t p,
            std::span<std::uint8_t> out) {
    ready();
    if (crypto_pwhash_scryptsalsa208sha256_ll(in(passphrase), passphrase.size(), in(salt), salt.size(), n, r,
                                              p, out.data(), out.size()) != 0)
        throw std::runtime_error("scrypt failed (parameters out of range or out of memory)");
}

std::string base64_encode(Bytes data, bool padded) {
    ready();
    const int variant = padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    std::string out(sodium_base64_ENCODED_LEN(data.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), in(data), data.size(), variant);
    out.resize(out.size() - 1);  // drop the NUL
    return out;
}

std::optional<SecureBytes> base64_decode(std::string_view text, bool padded) {
    ready();
    // libsodium 1.0.18 decodes a byte >= 0x80 as if it were a base64 digit (its constant-time
    // lookup sees a negative char): "\x97\x88\xae\xb7" decodes like "////". Refuse them first.
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0x80) return std::nullopt;
    const int variant = padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    SecureBytes out(text.size() / 4 * 3 + 3);
    std::size_t len = 0;
    const char* end = nullptr;
    // ignore = NULL and b64_end checked: exactly as strict as age needs (no whitespace, canonical bits).
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end, variant) != 0)
        return std::nullopt;
    if (end != text.data() + text.size()) return std::nullopt;
    out.resize(len);
    return out;
}

std::optional<SecureBytes> base64_decode_lenient(std::string_view text) {
    std::string compact;
    compact.reserve(text.size());
    for (char c : text)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact.push_back(c);
    while (!compact.empty() && compact.back() == '=') compact.pop_back();
    auto out = base64_decode(compact, false);
    gitsops::wipe(compact);
    return out;
}

bool equal_ct(Bytes a, Bytes b) {
    if (a.size() != b.size()) return false;
    return sodium_memcmp(in(a), in(b), a.size()) == 0;
}

void wipe(std::span<std::uint8_t> b) noexcept { sodium_memzero(b.data(), b.size()); }

}  // namespace gitsops::crypto
