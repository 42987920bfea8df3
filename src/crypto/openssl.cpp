// OpenSSL-backed primitives: only what libsodium lacks (AES-GCM with 32-byte IVs, AES-CTR/CBC
// for OpenSSH keys, RSA-OAEP for ssh-rsa).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <stdexcept>

#include "crypto/crypto.hpp"

namespace gitsops::crypto {

namespace {

struct CipherCtx {
    EVP_CIPHER_CTX* p = EVP_CIPHER_CTX_new();
    CipherCtx() {
        if (!p) throw std::bad_alloc();
    }
    ~CipherCtx() { EVP_CIPHER_CTX_free(p); }
    CipherCtx(const CipherCtx&) = delete;
    CipherCtx& operator=(const CipherCtx&) = delete;
};

int as_int(std::size_t n) {
    if (n > 0x7fffffff) throw std::length_error("buffer too large for OpenSSL");
    return static_cast<int>(n);
}

void check(int ok, const char* what) {
    if (ok != 1) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

SecureBytes aes_plain(const EVP_CIPHER* cipher, Bytes key, Bytes iv, Bytes data, bool encrypt, bool pad) {
    if (key.size() != 32 || iv.size() != 16) throw std::invalid_argument("AES-256: bad key or IV size");
    CipherCtx c;
    check(EVP_CipherInit_ex(c.p, cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0), "cipher init");
    EVP_CIPHER_CTX_set_padding(c.p, pad ? 1 : 0);
    SecureBytes out(data.size() + 16);
    int len = 0, fin = 0;
    check(EVP_CipherUpdate(c.p, out.data(), &len, data.data(), as_int(data.size())), "cipher update");
    check(EVP_CipherFinal_ex(c.p, out.data() + len, &fin), "cipher final");
    out.resize(static_cast<std::size_t>(len + fin));
    return out;
}

// AES-256-GCM fetched from the provider once: with EVP_aes_256_gcm() every init looks the
// implementation up again (a lock and a hash lookup), and sops seals every value on its own.
const EVP_CIPHER* aes256gcm() {
    static const EVP_CIPHER* const cipher = [] {
        const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
        return fetched ? fetched : EVP_aes_256_gcm();
    }();
    return cipher;
}

}  // namespace

std::string aes256gcm_seal(Bytes key, Bytes iv, Bytes aad, Bytes plaintext, std::array<std::uint8_t, 16>& tag) {
    if (key.size() != 32 || iv.empty()) throw std::invalid_argument("AES-256-GCM: bad key or IV size");
    CipherCtx c;
    check(EVP_EncryptInit_ex(c.p, aes256gcm(), nullptr, nullptr, nullptr), "GCM init");
    check(EVP_CIPHER_CTX_ctrl(c.p, EVP_CTRL_GCM_SET_IVLEN, as_int(iv.size()), nullptr), "GCM IV length");
    check(EVP_EncryptInit_ex(c.p, nullptr, nullptr, key.data(), iv.data()), "GCM key");
    int len = 0;
    if (!aad.empty()) check(EVP_EncryptUpdate(c.p, nullptr, &len, aad.data(), as_int(aad.size())), "GCM AAD");
    std::string out(plaintext.size(), '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    if (!plaintext.empty())
        check(EVP_EncryptUpdate(c.p, o, &len, plaintext.data(), as_int(plaintext.size())), "GCM encrypt");
    int fin = 0;
    check(EVP_EncryptFinal_ex(c.p, o + len, &fin), "GCM final");
    check(EVP_CIPHER_CTX_ctrl(c.p, EVP_CTRL_GCM_GET_TAG, 16, tag.data()), "GCM tag");
    return out;
}

std::optional<SecureBytes> aes256gcm_open(Bytes key, Bytes iv, Bytes aad, Bytes ciphertext, Bytes tag) {
    if (key.size() != 32 || iv.empty() || tag.size() != 16) throw std::invalid_argument("AES-256-GCM: bad sizes");
    CipherCtx c;
    check(EVP_DecryptInit_ex(c.p, aes256gcm(), nullptr, nullptr, nullptr), "GCM init");
    check(EVP_CIPHER_CTX_ctrl(c.p, EVP_CTRL_GCM_SET_IVLEN, as_int(iv.size()), nullptr), "GCM IV length");
    check(EVP_DecryptInit_ex(c.p, nullptr, nullptr, key.data(), iv.data()), "GCM key");
    int len = 0;
    if (!aad.empty()) check(EVP_DecryptUpdate(c.p, nullptr, &len, aad.data(), as_int(aad.size())), "GCM AAD");
    SecureBytes out(ciphertext.size() + 1);
    if (!ciphertext.empty())
        check(EVP_DecryptUpdate(c.p, out.data(), &len, ciphertext.data(), as_int(ciphertext.size())), "GCM decrypt");
    // OpenSSL's tag setter takes a non-const pointer but only reads it.
    std::array<std::uint8_t, 16> t{};
    std::copy(tag.begin(), tag.end(), t.begin());
    check(EVP_CIPHER_CTX_ctrl(c.p, EVP_CTRL_GCM_SET_TAG, 16, t.data()), "GCM set tag");
    int fin = 0;
    if (EVP_DecryptFinal_ex(c.p, out.data() + len, &fin) != 1) return std::nullopt;
    out.resize(ciphertext.size());
    return out;
}

SecureBytes aes256ctr(Bytes key, Bytes iv16, Bytes data) {
    return aes_plain(EVP_aes_256_ctr(), key, iv16, data, true, false);
}

SecureBytes aes256cbc_decrypt_nopad(Bytes key, Bytes iv16, Bytes data) {
    if (data.size() % 16 != 0) throw std::invalid_argument("AES-256-CBC: length not a multiple of 16");
    return aes_plain(EVP_aes_256_cbc(), key, iv16, data, false, false);
}

// ---- RSA --------------------------------------------------------------------------------------

struct RsaKey::Impl {
    EVP_PKEY* pkey = nullptr;
    ~Impl() { EVP_PKEY_free(pkey); }
};

RsaKey::RsaKey(std::unique_ptr<Impl> impl, bool has_private) : impl_(std::move(impl)), private_(has_private) {}
RsaKey::RsaKey(RsaKey&&) noexcept = default;
RsaKey& RsaKey::operator=(RsaKey&&) noexcept = default;
RsaKey::~RsaKey() = default;

namespace {

struct Bn {
    BIGNUM* p;
    explicit Bn(Bytes b) : p(BN_bin2bn(b.data(), as_int(b.size()), nullptr)) {
        if (!p) throw std::bad_alloc();
    }
    ~Bn() { BN_clear_free(p); }
    Bn(const Bn&) = delete;
    Bn& operator=(const Bn&) = delete;
};

struct BnCtx {
    BN_CTX* p = BN_CTX_secure_new();
    ~BnCtx() { BN_CTX_free(p); }
};

EVP_PKEY* build_rsa(const std::vector<std::pair<const char*, const BIGNUM*>>& params, int selection) {
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    if (!bld) throw std::bad_alloc();
    for (const auto& [name, bn] : params) OSSL_PARAM_BLD_push_BN(bld, name, bn);
    OSSL_PARAM* ps = OSSL_PARAM_BLD_to_param(bld);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    EVP_PKEY* pkey = nullptr;
    const bool ok = ps && ctx && EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pkey, selection, ps) == 1;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(ps);
    if (!ok) throw std::runtime_error("invalid RSA key");
    return pkey;
}

}  // namespace

RsaKey RsaKey::from_public(Bytes n, Bytes e) {
    Bn bn(n), be(e);
    auto impl = std::make_unique<Impl>();
    impl->pkey = build_rsa({{OSSL_PKEY_PARAM_RSA_N, bn.p}, {OSSL_PKEY_PARAM_RSA_E, be.p}}, EVP_PKEY_PUBLIC_KEY);
    return RsaKey(std::move(impl), false);
}

RsaKey RsaKey::from_private(Bytes n, Bytes e, Bytes d, Bytes p, Bytes q, Bytes iqmp) {
    Bn bn(n), be(e), bd(d), bp(p), bq(q), bi(iqmp);
    // OpenSSH stores no CRT exponents; derive d mod (p-1) and d mod (q-1).
    BnCtx ctx;
    BIGNUM* p1 = BN_secure_new();
    BIGNUM* q1 = BN_secure_new();
    BIGNUM* dmp1 = BN_secure_new();
    BIGNUM* dmq1 = BN_secure_new();
    const bool ok = ctx.p && p1 && q1 && dmp1 && dmq1 && BN_sub(p1, bp.p, BN_value_one()) &&
                    BN_sub(q1, bq.p, BN_value_one()) && BN_mod(dmp1, bd.p, p1, ctx.p) && BN_mod(dmq1, bd.p, q1, ctx.p);
    std::unique_ptr<Impl> impl;
    if (ok) {
        impl = std::make_unique<Impl>();
        try {
            impl->pkey = build_rsa({{OSSL_PKEY_PARAM_RSA_N, bn.p},
                                    {OSSL_PKEY_PARAM_RSA_E, be.p},
                                    {OSSL_PKEY_PARAM_RSA_D, bd.p},
                                    {OSSL_PKEY_PARAM_RSA_FACTOR1, bp.p},
                                    {OSSL_PKEY_PARAM_RSA_FACTOR2, bq.p},
                                    {OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1},
                                    {OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1},
                                    {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, bi.p}},
                                   EVP_PKEY_KEYPAIR);
        } catch (...) {
            impl.reset();
        }
    }
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(dmp1);
    BN_clear_free(dmq1);
    if (!impl) throw std::runtime_error("invalid RSA private key");
    return RsaKey(std::move(impl), true);
}

unsigned RsaKey::bits() const { return static_cast<unsigned>(EVP_PKEY_get_bits(impl_->pkey)); }

namespace {
struct PkeyCtx {
    EVP_PKEY_CTX* p;
    explicit PkeyCtx(EVP_PKEY* k) : p(EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr)) {
        if (!p) throw std::bad_alloc();
    }
    ~PkeyCtx() { EVP_PKEY_CTX_free(p); }
};

void set_oaep(EVP_PKEY_CTX* ctx, std::string_view label) {
    check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), "OAEP padding");
    check(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), "OAEP digest");
    check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), "MGF1 digest");
    // The context takes ownership of the label buffer, which must come from OPENSSL_malloc.
    auto* buf = static_cast<unsigned char*>(OPENSSL_malloc(label.size() + 1));
    if (!buf) throw std::bad_alloc();
    std::copy(label.begin(), label.end(), buf);
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, buf, as_int(label.size())) != 1) {
        OPENSSL_free(buf);
        throw std::runtime_error("OpenSSL: OAEP label failed");
    }
}
}  // namespace

std::string RsaKey::oaep_sha256_encrypt(std::string_view label, Bytes message) const {
    PkeyCtx ctx(impl_->pkey);
    check(EVP_PKEY_encrypt_init(ctx.p), "RSA encrypt init");
    set_oaep(ctx.p, label);
    std::size_t len = 0;
    check(EVP_PKEY_encrypt(ctx.p, nullptr, &len, message.data(), message.size()), "RSA encrypt size");
    std::string out(len, '\0');
    check(EVP_PKEY_encrypt(ctx.p, reinterpret_cast<unsigned char*>(out.data()), &len, message.data(), message.size()),
          "RSA encrypt");
    out.resize(len);
    return out;
}

std::optional<SecureBytes> RsaKey::oaep_sha256_decrypt(std::string_view label, Bytes ciphertext) const {
    PkeyCtx ctx(impl_->pkey);
    check(EVP_PKEY_decrypt_init(ctx.p), "RSA decrypt init");
    set_oaep(ctx.p, label);
    std::size_t len = 0;
    if (EVP_PKEY_decrypt(ctx.p, nullptr, &len, ciphertext.data(), ciphertext.size()) != 1) return std::nullopt;
    SecureBytes out(len);
    if (EVP_PKEY_decrypt(ctx.p, out.data(), &len, ciphertext.data(), ciphertext.size()) != 1) return std::nullopt;
    out.resize(len);
    return out;
}

}  // namespace gitsops::crypto
