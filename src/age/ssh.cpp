// The ssh-ed25519 and ssh-rsa recipient types (age-format.md §7.2-§7.4, §7.7).
#include "age/ssh.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <stdexcept>
#include <utility>

#include "age/format.hpp"
#include "age/openssh.hpp"
#include "base/io.hpp"
#include "crypto/crypto.hpp"
#include "crypto/pem.hpp"

namespace gitsops::age::ssh {

namespace {

using openssh::KeyError;
using openssh::PublicKey;

AgeError header_error(std::string_view type, std::string_view why) {
    return AgeError(Failure::header, std::string(type).append(" stanza: ").append(why));
}

std::string in_quotes(std::string_view s) { return std::string("\"").append(s).append("\""); }

// "type base64 [comment]", the canonical form of an OpenSSH public key line.
std::string key_line(const PublicKey& key, std::string_view comment) {
    std::string s = key.type + " " + crypto::base64_encode(key.blob, true);
    if (!comment.empty()) s.append(" ").append(comment);
    return s;
}

// The ssh-ed25519 tweak: HKDF with an empty IKM and the public key blob as the salt (§7.3).
std::array<std::uint8_t, 32> ed25519_tweak(std::span<const std::uint8_t> blob) {
    std::array<std::uint8_t, 32> t{};
    crypto::hkdf_sha256({}, blob, kEd25519Label, t);
    return t;
}

// key = HKDF(ikm = X25519(tweak, dh), salt = share || recipient, info = label); empty when the
// tweaked secret is all zero.
std::optional<FixedSecret<32>> ed25519_wrapping_key(const FixedSecret<32>& dh, std::span<const std::uint8_t> tweak,
                                                    std::span<const std::uint8_t> share,
                                                    std::span<const std::uint8_t> recipient) {
    if (share.size() != 32 || recipient.size() != 32) throw std::invalid_argument("X25519 keys are 32 bytes");
    auto ss = crypto::x25519(tweak, dh.span());
    if (!ss) return std::nullopt;
    std::array<std::uint8_t, 64> salt{};
    std::copy(share.begin(), share.end(), salt.begin());
    std::copy(recipient.begin(), recipient.end(), salt.begin() + 32);
    FixedSecret<32> key;
    crypto::hkdf_sha256(ss->span(), salt, kEd25519Label, key.span());
    return key;
}

// ---- recipients ------------------------------------------------------------------------------

class Ed25519Recipient final : public Recipient {
public:
    Ed25519Recipient(PublicKey key, std::string_view comment)
        : key_(std::move(key)), text_(key_line(key_, comment)), tag_(key_tag(key_.blob)), tweak_(ed25519_tweak(key_.blob)) {
        // libsodium refuses small-order and non-canonical points that Go would accept; such keys
        // cannot belong to an honest OpenSSH user.
        auto x = crypto::ed25519_pk_to_x25519(key_.ed25519);
        if (!x) throw AgeError(Failure::usage, "invalid ssh-ed25519 public key: not a usable curve point");
        montgomery_ = *x;
    }

    std::vector<Stanza> wrap(const FileKey& file_key) const override {
        FixedSecret<32> ephemeral;
        crypto::random_bytes(ephemeral.span());
        const auto share = crypto::x25519_base(ephemeral.span());
        const auto dh = crypto::x25519(ephemeral.span(), montgomery_);
        const auto key = dh ? ed25519_wrapping_key(*dh, tweak_, share, montgomery_) : std::nullopt;
        if (!key) throw AgeError(Failure::usage, "ssh-ed25519 recipient produced an all-zero shared secret");
        return {Stanza{std::string(openssh::kEd25519), {tag_, crypto::base64_encode(share, false)},
                       format::seal_file_key(key->span(), file_key)}};
    }

    std::string to_string() const override { return text_; }

private:
    PublicKey key_;
    std::string text_;
    std::string tag_;
    std::array<std::uint8_t, 32> tweak_;
    std::array<std::uint8_t, 32> montgomery_{};
};

crypto::RsaKey rsa_public(const PublicKey& key) {
    try {
        return crypto::RsaKey::from_public(key.rsa_n, key.rsa_e);
    } catch (const std::exception& e) {
        throw AgeError(Failure::usage, std::string("invalid ssh-rsa public key: ") + e.what());
    }
}

class RsaRecipient final : public Recipient {
public:
    RsaRecipient(PublicKey key, std::string_view comment)
        : key_(std::move(key)), rsa_(rsa_public(key_)), text_(key_line(key_, comment)), tag_(key_tag(key_.blob)) {}

    std::vector<Stanza> wrap(const FileKey& file_key) const override {
        check_size();
        return {Stanza{std::string(openssh::kRsa), {tag_}, rsa_.oaep_sha256_encrypt(kRsaLabel, file_key.span())}};
    }

    std::string to_string() const override { return text_; }

    void check_size() const {
        if (rsa_.bits() < kMinRsaBits)
            throw AgeError(Failure::usage, "RSA key size is too small: " + std::to_string(rsa_.bits()) +
                                               " bits (age needs at least " + std::to_string(kMinRsaBits) + ")");
    }

private:
    PublicKey key_;
    crypto::RsaKey rsa_;
    std::string text_;
    std::string tag_;
};

std::unique_ptr<Recipient> recipient_for(const PublicKey& key, std::string_view comment) {
    if (key.type == openssh::kEd25519) return std::make_unique<Ed25519Recipient>(key, comment);
    if (key.type == openssh::kRsa) return std::make_unique<RsaRecipient>(key, comment);
    throw UnsupportedKeyType(key.type);
}

// ---- identities ------------------------------------------------------------------------------

// SSH identities know their public key, so that a decrypted key can be checked against the
// public key an encrypted file announced.
class SshIdentity : public Identity {
public:
    explicit SshIdentity(PublicKey pub) : pub_(std::move(pub)), tag_(key_tag(pub_.blob)) {}
    bool native() const override { return false; }
    std::unique_ptr<Recipient> recipient() const override { return recipient_for(pub_, {}); }
    const PublicKey& public_key() const { return pub_; }

protected:
    const std::string& tag() const { return tag_; }

private:
    PublicKey pub_;
    std::string tag_;
};

class Ed25519Identity final : public SshIdentity {
public:
    Ed25519Identity(PublicKey pub, std::span<const std::uint8_t> seed)
        : SshIdentity(std::move(pub)),
          scalar_(crypto::ed25519_seed_to_x25519(seed)),
          // Our own X25519 public key comes from the scalar, as in Go (§7.3).
          montgomery_(crypto::x25519_base(scalar_.span())),
          tweak_(ed25519_tweak(public_key().blob)) {}

    std::optional<FileKey> unwrap(std::span<const Stanza> stanzas) const override {
        for (const Stanza& s : stanzas) {
            if (s.type != openssh::kEd25519) continue;
            if (s.args.size() != 2) throw header_error(s.type, "wrong number of arguments");
            const auto share = crypto::base64_decode(s.args[1], false);
            if (!share || share->size() != 32) throw header_error(s.type, "invalid ephemeral share");
            if (s.args[0] != tag()) continue;
            return unwrap_matching(s, *share);
        }
        return std::nullopt;
    }

private:
    // The tag says the stanza is ours: from here on every failure is fatal.
    FileKey unwrap_matching(const Stanza& s, std::span<const std::uint8_t> share) const {
        if (s.body.size() != format::kWrappedKeySize) throw header_error(s.type, "body is not 32 bytes");
        const auto dh = crypto::x25519(scalar_.span(), share);
        if (!dh) throw header_error(s.type, "ephemeral share is a low-order point");
        const auto key = ed25519_wrapping_key(*dh, tweak_, share, montgomery_);
        if (!key) throw header_error(s.type, "tweaked shared secret is all zero");
        auto file_key = format::open_file_key(key->span(), s.body);
        if (!file_key) throw header_error(s.type, "failed to decrypt the file key although the key tag matched");
        return std::move(*file_key);
    }

    FixedSecret<32> scalar_;
    std::array<std::uint8_t, 32> montgomery_;
    std::array<std::uint8_t, 32> tweak_;
};

class RsaIdentity final : public SshIdentity {
public:
    RsaIdentity(PublicKey pub, crypto::RsaKey key) : SshIdentity(std::move(pub)), rsa_(std::move(key)) {}

    std::optional<FileKey> unwrap(std::span<const Stanza> stanzas) const override {
        for (const Stanza& s : stanzas) {
            if (s.type != openssh::kRsa) continue;
            if (s.args.size() != 1) throw header_error(s.type, "wrong number of arguments");
            if (s.args[0] != tag()) continue;
            const auto plain = rsa_.oaep_sha256_decrypt(kRsaLabel, bytes_of(s.body));
            if (!plain) throw header_error(s.type, "failed to decrypt the file key although the key tag matched");
            if (plain->size() != kFileKeySize) throw header_error(s.type, "decrypted file key is not 16 bytes");
            return FileKey(*plain);
        }
        return std::nullopt;
    }

private:
    crypto::RsaKey rsa_;
};

std::unique_ptr<SshIdentity> ed25519_identity_of(PublicKey pub, std::span<const std::uint8_t> seed) {
    if (seed.size() != 32) throw KeyError("Ed25519 seed is not 32 bytes");
    return std::make_unique<Ed25519Identity>(std::move(pub), seed);
}

// Builds the key, then proves that it decrypts what its public half encrypts: inconsistent
// components fail here with a clear message instead of at the first stanza.
std::unique_ptr<SshIdentity> rsa_identity_of(PublicKey pub, std::span<const std::uint8_t> d,
                                             std::span<const std::uint8_t> p, std::span<const std::uint8_t> q,
                                             std::span<const std::uint8_t> iqmp) {
    try {
        auto key = crypto::RsaKey::from_private(pub.rsa_n, pub.rsa_e, d, p, q, iqmp);
        FileKey probe;
        crypto::random_bytes(probe.span());
        const auto back = key.oaep_sha256_decrypt(kRsaLabel, bytes_of(key.oaep_sha256_encrypt(kRsaLabel, probe.span())));
        if (!back || !crypto::equal_ct(*back, probe.span())) throw KeyError("RSA private key is inconsistent");
        return std::make_unique<RsaIdentity>(std::move(pub), std::move(key));
    } catch (const KeyError&) {
        throw;
    } catch (const std::exception& e) {
        throw KeyError(std::string("invalid RSA private key (") + e.what() + ")");
    }
}

std::unique_ptr<SshIdentity> identity_of(const openssh::PrivateKey& k) {
    if (k.pub.type == openssh::kEd25519) return ed25519_identity_of(k.pub, k.ed25519_seed);
    return rsa_identity_of(k.pub, k.rsa_d, k.rsa_p, k.rsa_q, k.rsa_iqmp);
}

std::unique_ptr<SshIdentity> identity_of(const crypto::PemPrivateKey& k) {
    if (k.type == crypto::PemPrivateKey::Type::ed25519)
        return ed25519_identity_of(openssh::ed25519_public_key(k.ed25519_public), k.ed25519_seed);
    return rsa_identity_of(openssh::rsa_public_key(k.rsa_n, k.rsa_e), k.rsa_d, k.rsa_p, k.rsa_q, k.rsa_iqmp);
}

// A passphrase-protected key: the public key is known up front; the private key is decrypted
// the first time a stanza carries this key's type and tag, and kept from then on.
class EncryptedIdentity final : public Identity {
public:
    using Decryptor = std::function<std::unique_ptr<SshIdentity>(std::span<const std::uint8_t> passphrase)>;

    EncryptedIdentity(PublicKey pub, std::string filename, PassphraseFn ask, Decryptor decrypt)
        : pub_(std::move(pub)), tag_(key_tag(pub_.blob)), filename_(std::move(filename)), ask_(std::move(ask)),
          decrypt_(std::move(decrypt)) {}

    bool native() const override { return false; }
    std::unique_ptr<Recipient> recipient() const override { return recipient_for(pub_, {}); }

    // Not thread-safe: the first matching call decrypts and caches the key.
    std::optional<FileKey> unwrap(std::span<const Stanza> stanzas) const override {
        if (!decrypted_) {
            const bool ours = std::any_of(stanzas.begin(), stanzas.end(), [&](const Stanza& s) {
                return s.type == pub_.type && !s.args.empty() && s.args[0] == tag_;
            });
            if (!ours) return std::nullopt;
            decrypted_ = decrypt();
        }
        return decrypted_->unwrap(stanzas);
    }

private:
    std::unique_ptr<SshIdentity> decrypt() const {
        if (!ask_)
            throw AgeError(Failure::usage,
                           "SSH key " + in_quotes(filename_) + " is passphrase-protected and no passphrase can be asked for");
        const SecureBytes passphrase = ask_("Enter passphrase for " + in_quotes(filename_) + ":");
        std::unique_ptr<SshIdentity> id;
        try {
            id = decrypt_(passphrase);
        } catch (const KeyError& e) {  // including WrongPassphrase
            throw AgeError(Failure::usage, "failed to decrypt SSH key file " + in_quotes(filename_) + ": " + e.what());
        } catch (const crypto::PemError& e) {
            throw AgeError(Failure::usage, "failed to decrypt SSH key file " + in_quotes(filename_) + ": " + e.what());
        }
        if (id->public_key().blob != pub_.blob)
            throw AgeError(Failure::usage, "mismatched private and public SSH key in " + in_quotes(filename_));
        return id;
    }

    PublicKey pub_;
    std::string tag_;
    std::string filename_;
    PassphraseFn ask_;
    Decryptor decrypt_;
    mutable std::unique_ptr<SshIdentity> decrypted_;
};

void require_supported(const PublicKey& key) {
    if (!key.supported()) throw KeyError("unsupported SSH identity type " + in_quotes(key.type));
}

std::unique_ptr<Identity> openssh_identity(const openssh::PemBlock& block, std::string_view filename,
                                           PassphraseFn passphrase) {
    auto file = std::make_shared<const openssh::OpensshFile>(openssh::parse_openssh_file(openssh::decode_pem_body(block.body)));
    require_supported(file->public_key);
    if (!file->encrypted()) {
        auto id = identity_of(openssh::decrypt_private_key(*file, {}));
        if (id->public_key().blob != file->public_key.blob) throw KeyError("mismatched private and public SSH key");
        return id;
    }
    return std::make_unique<EncryptedIdentity>(
        file->public_key, std::string(filename), std::move(passphrase),
        [file](std::span<const std::uint8_t> pass) { return identity_of(openssh::decrypt_private_key(*file, pass)); });
}

// The first key line of a .pub file (blank lines and # comments skipped).
std::string_view first_key_line(std::string_view text) {
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        const std::size_t start = line.find_first_not_of(" \t\r");
        if (start != std::string_view::npos && line[start] != '#') return line;
    }
    return {};
}

// Legacy encrypted PEM keeps no public key in the clear: age reads it from `<file>.pub`.
PublicKey read_pub_file(std::string_view filename) {
    const std::string pub_name = std::string(filename) + ".pub";
    const std::string hint = "; ensure " + in_quotes(pub_name) + " exists, or convert the private key " + in_quotes(filename) +
                             " to a modern format with \"ssh-keygen -p -m RFC4716\"";
    if (filename.empty() || filename == "-")
        throw AgeError(Failure::usage, "failed to obtain the public key of a passphrase-protected PEM key read from "
                                       "standard input" + hint);
    std::string text;
    try {
        text = io::read_file(pub_name);
    } catch (const Error& e) {
        throw AgeError(Failure::usage, "failed to obtain the public key for SSH key " + in_quotes(filename) + ": " +
                                           e.what() + hint);
    }
    try {
        return openssh::parse_authorized_key(first_key_line(text)).key;
    } catch (const KeyError& e) {
        throw AgeError(Failure::usage, "failed to parse " + in_quotes(pub_name) + ": " + e.what());
    }
}

std::unique_ptr<Identity> pem_identity(const openssh::PemBlock& block, std::string_view filename,
                                       PassphraseFn passphrase) {
    if (!block.encrypted) return identity_of(crypto::load_pem_private_key(block.text, {}));
    if (block.type != "RSA PRIVATE KEY") throw KeyError("unsupported encrypted PEM key type " + in_quotes(block.type));
    PublicKey pub = read_pub_file(filename);
    require_supported(pub);
    auto pem = std::make_shared<const SecureBytes>(secure_copy(block.text));
    return std::make_unique<EncryptedIdentity>(
        std::move(pub), std::string(filename), std::move(passphrase), [pem](std::span<const std::uint8_t> pass) {
            return identity_of(crypto::load_pem_private_key(view_of(*pem), pass));
        });
}

std::unique_ptr<Identity> identity_from_block(const openssh::PemBlock& block, std::string_view filename,
                                              PassphraseFn passphrase) {
    if (block.type == "OPENSSH PRIVATE KEY") return openssh_identity(block, filename, std::move(passphrase));
    if (block.type == "RSA PRIVATE KEY" || block.type == "PRIVATE KEY")
        return pem_identity(block, filename, std::move(passphrase));
    if (block.type == "EC PRIVATE KEY" || block.type == "DSA PRIVATE KEY")
        throw KeyError("unsupported SSH identity type " + in_quotes(block.type));
    throw KeyError("unsupported key type " + in_quotes(block.type));
}

}  // namespace

UnsupportedKeyType::UnsupportedKeyType(std::string key_type)
    : AgeError(Failure::usage, "unsupported SSH key type " + in_quotes(key_type)), key_type_(std::move(key_type)) {}

std::string key_tag(std::span<const std::uint8_t> blob) {
    const crypto::Sha256 h = crypto::sha256(blob);
    return crypto::base64_encode(std::span(h).first(4), false);
}

std::unique_ptr<Recipient> parse_recipient(std::string_view line) {
    if (!line.starts_with("ssh-")) return nullptr;
    openssh::AuthorizedKey key;
    try {
        key = openssh::parse_authorized_key(line);
    } catch (const KeyError& e) {
        throw AgeError(Failure::usage, std::string("malformed SSH recipient: ") + e.what());
    }
    if (key.key.type == openssh::kRsa) {  // only encryption refuses small keys; identities may use them
        auto r = std::make_unique<RsaRecipient>(key.key, key.comment);
        r->check_size();
        return r;
    }
    return recipient_for(key.key, key.comment);
}

bool looks_like_private_key(std::span<const std::uint8_t> text) {
    const std::string_view s = view_of(text);
    return s.starts_with("-----BEGIN") && !s.starts_with("-----BEGIN AGE");
}

std::unique_ptr<Identity> parse_identity(std::span<const std::uint8_t> text, std::string_view filename,
                                         PassphraseFn passphrase) {
    // age reads SSH keys through a 16 KiB window and calls a file that fills it too long.
    if (text.size() >= kMaxPrivateKeySize)
        throw AgeError(Failure::usage, "failed to read " + in_quotes(filename) + ": file too long for an SSH key");
    try {
        const auto block = openssh::find_pem_block(view_of(text));
        if (!block) throw KeyError("no PEM block found");
        return identity_from_block(*block, filename, std::move(passphrase));
    } catch (const KeyError& e) {
        throw AgeError(Failure::usage, "malformed SSH identity in " + in_quotes(filename) + ": " + e.what());
    } catch (const crypto::PemError& e) {
        throw AgeError(Failure::usage, "malformed SSH identity in " + in_quotes(filename) + ": " + e.what());
    }
}

std::unique_ptr<Identity> ed25519_identity(std::span<const std::uint8_t> seed) {
    if (seed.size() != 32) throw AgeError(Failure::usage, "an Ed25519 seed must be 32 bytes");
    return ed25519_identity_of(openssh::ed25519_public_key(crypto::ed25519_public_from_seed(seed)), seed);
}

std::unique_ptr<Recipient> ed25519_recipient(std::span<const std::uint8_t> public_key) {
    if (public_key.size() != 32) throw AgeError(Failure::usage, "an Ed25519 public key must be 32 bytes");
    return std::make_unique<Ed25519Recipient>(openssh::ed25519_public_key(public_key), std::string_view{});
}

}  // namespace gitsops::age::ssh
