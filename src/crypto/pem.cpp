// PEM private keys and Ed25519 key derivation through OpenSSL (see pem.hpp).
#include "crypto/pem.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <memory>
#include <string>

namespace gitsops::crypto {

namespace {

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct BnClearFree {
    void operator()(BIGNUM* b) const noexcept { BN_clear_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The most recent OpenSSL error as text, clearing the queue so it cannot leak into later calls.
std::string take_openssl_error() {
    const unsigned long e = ERR_peek_last_error();
    const char* reason = e ? ERR_reason_error_string(e) : nullptr;
    std::string s = reason ? reason : "unknown error";
    ERR_clear_error();
    return s;
}

struct PassphraseSource {
    std::span<const std::uint8_t> bytes;
    bool asked = false;
};

// OpenSSL's pem_password_cb: copies the passphrase into OpenSSL's buffer.
int supply_passphrase(char* buf, int size, int /*rwflag*/, void* user) {
    auto* src = static_cast<PassphraseSource*>(user);
    src->asked = true;
    if (src->bytes.empty() || size < 0 || src->bytes.size() > static_cast<std::size_t>(size)) return -1;
    std::memcpy(buf, src->bytes.data(), src->bytes.size());
    return static_cast<int>(src->bytes.size());
}

PkeyPtr read_pem(std::string_view pem_block, std::span<const std::uint8_t> passphrase) {
    if (pem_block.size() > 0x7fffffff) throw PemError("PEM key too large");
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem_block.data(), static_cast<int>(pem_block.size())));
    if (!bio) throw std::bad_alloc();
    PassphraseSource src{passphrase};
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, supply_passphrase, &src));
    if (!key) {
        const std::string why = take_openssl_error();
        if (src.asked) throw PemError("cannot decrypt the PEM key (incorrect passphrase?): " + why);
        throw PemError("cannot parse the PEM key: " + why);
    }
    ERR_clear_error();
    return key;
}

template <class Out>
Out bn_param(const EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
        ERR_clear_error();
        throw PemError(std::string("RSA key lacks its ") + name + " component");
    }
    std::unique_ptr<BIGNUM, BnClearFree> bn(raw);
    Out out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), out.data());
    return out;
}

bool has_bn_param(const EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    const bool present = EVP_PKEY_get_bn_param(key, name, &raw) == 1;
    BN_clear_free(raw);
    ERR_clear_error();
    return present;
}

PemPrivateKey rsa_components(const EVP_PKEY* key) {
    // OpenSSH and age know two-prime RSA only; a third factor would be silently dropped.
    if (has_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR3)) throw PemError("multi-prime RSA keys are not supported");
    PemPrivateKey out;
    out.type = PemPrivateKey::Type::rsa;
    out.rsa_n = bn_param<std::vector<std::uint8_t>>(key, OSSL_PKEY_PARAM_RSA_N);
    out.rsa_e = bn_param<std::vector<std::uint8_t>>(key, OSSL_PKEY_PARAM_RSA_E);
    out.rsa_d = bn_param<SecureBytes>(key, OSSL_PKEY_PARAM_RSA_D);
    out.rsa_p = bn_param<SecureBytes>(key, OSSL_PKEY_PARAM_RSA_FACTOR1);
    out.rsa_q = bn_param<SecureBytes>(key, OSSL_PKEY_PARAM_RSA_FACTOR2);
    out.rsa_iqmp = bn_param<SecureBytes>(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    return out;
}

std::array<std::uint8_t, 32> raw_public_ed25519(const EVP_PKEY* key) {
    std::array<std::uint8_t, 32> pub{};
    std::size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size()) {
        ERR_clear_error();
        throw PemError("cannot read the Ed25519 public key");
    }
    return pub;
}

PemPrivateKey ed25519_components(const EVP_PKEY* key) {
    PemPrivateKey out;
    out.type = PemPrivateKey::Type::ed25519;
    out.ed25519_seed.resize(32);
    std::size_t len = out.ed25519_seed.size();
    if (EVP_PKEY_get_raw_private_key(key, out.ed25519_seed.data(), &len) != 1 || len != 32) {
        ERR_clear_error();
        throw PemError("cannot read the Ed25519 private key");
    }
    out.ed25519_public = raw_public_ed25519(key);
    return out;
}

}  // namespace

PemPrivateKey load_pem_private_key(std::string_view pem_block, std::span<const std::uint8_t> passphrase) {
    PkeyPtr key = read_pem(pem_block, passphrase);
    // EVP_PKEY_is_a distinguishes plain RSA from RSA-PSS, which has no place in SSH.
    if (EVP_PKEY_is_a(key.get(), "RSA")) return rsa_components(key.get());
    if (EVP_PKEY_is_a(key.get(), "ED25519")) return ed25519_components(key.get());
    const char* name = EVP_PKEY_get0_type_name(key.get());
    throw PemError(std::string("unsupported PEM key algorithm ") + (name ? name : "(unknown)"));
}

std::array<std::uint8_t, 32> ed25519_public_from_seed(std::span<const std::uint8_t> seed) {
    if (seed.size() != 32) throw std::invalid_argument("Ed25519 seed must be 32 bytes");
    PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
    if (!key) {
        take_openssl_error();
        throw PemError("cannot load the Ed25519 seed");
    }
    return raw_public_ed25519(key.get());
}

}  // namespace gitsops::crypto
