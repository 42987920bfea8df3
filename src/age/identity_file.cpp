#include "age/identity_file.hpp"

#include <algorithm>
#include <cstdio>

#include "age/age.hpp"
#include "age/bech32.hpp"
#include "age/scrypt.hpp"
#include "age/ssh.hpp"
#include "age/x25519.hpp"

namespace gitsops::age {

namespace {

constexpr std::string_view kX25519IdentityPrefix = "AGE-SECRET-KEY-1";
constexpr std::string_view kPqIdentityPrefix = "AGE-SECRET-KEY-PQ-1";
constexpr std::string_view kPluginIdentityPrefix = "AGE-PLUGIN-";

[[noreturn]] void fail_at(std::string_view filename, std::size_t line, std::string_view what) {
    throw AgeError(Failure::usage, std::string(filename) + ": line " + std::to_string(line) + ": " + std::string(what));
}

void check_size(std::size_t size, std::string_view filename) {
    if (size > kMaxKeyFileSize) throw AgeError(Failure::usage, std::string(filename) + ": larger than 16 MiB");
}

// ---- recipients ---------------------------------------------------------------------------------

enum class RecipientKind { x25519, ssh, post_quantum, tag, plugin, identity, unknown };

// Dispatch by prefix, as Go does. Bech32 has no '1' in its alphabet, so a second '1' after
// "age1" means a plugin recipient "age1<name>1…".
RecipientKind classify(std::string_view text) {
    if (text.starts_with("age1tag1") || text.starts_with("age1tagpq1")) return RecipientKind::tag;
    if (text.starts_with("age1pq1")) return RecipientKind::post_quantum;
    if (text.starts_with("age1"))
        return std::count(text.begin(), text.end(), '1') > 1 ? RecipientKind::plugin : RecipientKind::x25519;
    if (text.starts_with("ssh-")) return RecipientKind::ssh;
    if (text.starts_with("AGE-")) return RecipientKind::identity;
    return RecipientKind::unknown;
}

// Throws AgeError(usage) with a reason that does not repeat `text`.
std::unique_ptr<Recipient> parse_kind(RecipientKind kind, std::string_view text) {
    switch (kind) {
    case RecipientKind::x25519:
        return X25519Recipient::parse(text);
    case RecipientKind::ssh:
        if (auto r = ssh::parse_recipient(text)) return r;
        throw AgeError(Failure::usage, "not an SSH public key line");
    case RecipientKind::post_quantum:
        throw AgeError(Failure::usage, "post-quantum (age1pq1…) recipients are not supported");
    case RecipientKind::tag:
        throw AgeError(Failure::usage, "tagged (age1tag1…) recipients are not supported");
    case RecipientKind::plugin:
        throw AgeError(Failure::usage, "plugin recipients are not supported");
    case RecipientKind::identity:
        throw AgeError(Failure::usage, "an identity (AGE-…) was given where a recipient was expected");
    case RecipientKind::unknown:
        break;
    }
    throw AgeError(Failure::usage, "unknown recipient type (expected age1… or an ssh- public key line)");
}

// ---- identities ---------------------------------------------------------------------------------

// What a valid-looking identity git-sops cannot use is, for the error when nothing else is left.
struct Unsupported {
    std::size_t line = 0;
    std::string what;
};

// Post-quantum and plugin identities are valid age identities that git-sops cannot use: they are
// checked (Bech32) and skipped, so that a key file mixing them with X25519 keys still works.
bool skip_unsupported(std::string_view text, std::size_t line, std::string_view filename, Unsupported& first) {
    std::string what;
    if (text.starts_with(kPqIdentityPrefix)) what = "a post-quantum (AGE-SECRET-KEY-PQ-1…) identity";
    else if (text.starts_with(kPluginIdentityPrefix)) what = "a plugin (AGE-PLUGIN-…) identity";
    else return false;
    try {
        (void)bech32::decode(text);
    } catch (const bech32::Error& e) {
        fail_at(filename, line, "malformed identity: " + std::string(e.what()));
    }
    if (first.line == 0) first = Unsupported{line, what};
    return true;
}

std::unique_ptr<Identity> parse_identity_line(std::string_view text, std::size_t line, std::string_view filename) {
    if (text.starts_with(kX25519IdentityPrefix)) {
        try {
            return X25519Identity::parse(text);
        } catch (const AgeError& e) {
            fail_at(filename, line, e.what());
        }
    }
    if (text.starts_with("age1")) fail_at(filename, line, "apparent recipient found in identities file");
    fail_at(filename, line, "malformed identity (expected AGE-SECRET-KEY-1…)");
}

// An age identity list. With `skip_unusable`, post-quantum and plugin identities are skipped
// while at least one usable identity remains; without it they are errors.
Identities parse_identity_list(std::string_view text, std::string_view filename, bool skip_unusable) {
    Identities out;
    Unsupported first;
    for (const KeyLine& l : key_lines(text)) {
        if (skip_unsupported(l.text, l.number, filename, first)) {
            if (!skip_unusable) fail_at(filename, l.number, first.what + " is not supported");
            continue;
        }
        out.push_back(parse_identity_line(l.text, l.number, filename));
    }
    if (out.empty() && first.line != 0) fail_at(filename, first.line, first.what + " is not supported");
    if (out.empty()) throw AgeError(Failure::usage, std::string(filename) + ": no identities found");
    return out;
}

// An identity file that is itself an age file encrypted to a passphrase (age -p keys.txt).
// It is decrypted here, when the file is read (Go waits until an identity is needed).
Identities parse_encrypted_identity_file(std::span<const std::uint8_t> text, std::string_view filename,
                                         const PassphraseFn& passphrase) {
    const std::vector<Stanza> stanzas = read_stanzas(text);
    const std::string file(filename);
    if (stanzas.size() != 1 || stanzas[0].type != kScryptType)
        throw AgeError(Failure::usage, file + ": identity file is encrypted with age but not with a passphrase");
    if (!passphrase)
        throw AgeError(Failure::usage, file + ": identity file is encrypted with a passphrase, and none can be asked");
    Identities unlock;
    unlock.push_back(scrypt_identity(passphrase("passphrase for identity file " + std::string(filename))));
    SecureBytes plain;
    try {
        plain = decrypt(unlock, text);
    } catch (const AgeError& e) {
        if (e.failure() != Failure::no_match) throw;
        throw AgeError(Failure::usage, std::string(filename) + ": incorrect passphrase");
    }
    return parse_identity_list(view_of(plain), filename, true);
}

bool starts_with(std::span<const std::uint8_t> text, std::string_view prefix) {
    return view_of(text).starts_with(prefix);
}

}  // namespace

std::vector<KeyLine> key_lines(std::string_view text) {
    std::vector<KeyLine> out;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const std::size_t lf = text.find('\n');
        std::string_view line = text.substr(0, lf);
        text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.empty() || line.starts_with('#')) continue;
        out.push_back(KeyLine{number, line});
    }
    return out;
}

std::unique_ptr<Recipient> parse_recipient(std::string_view text) {
    const RecipientKind kind = classify(text);
    try {
        return parse_kind(kind, text);
    } catch (const AgeError& e) {
        // age1… and ssh-… strings are public and worth quoting; anything else might be a secret.
        if (kind == RecipientKind::x25519 || kind == RecipientKind::ssh)
            throw AgeError(Failure::usage, "malformed recipient \"" + std::string(text) + "\": " + e.what());
        throw;
    }
}

Recipients parse_recipients_file(std::string_view text, std::string_view filename) {
    check_size(text.size(), filename);
    Recipients out;
    for (const KeyLine& l : key_lines(text)) {
        if (l.text.size() > kMaxRecipientLine) fail_at(filename, l.number, "line is longer than 8 KiB");
        const RecipientKind kind = classify(l.text);
        if (kind == RecipientKind::identity) fail_at(filename, l.number, "apparent identity found in recipients file");
        try {
            out.push_back(parse_kind(kind, l.text));
        } catch (const ssh::UnsupportedKeyType& e) {
            // A valid SSH key of a type age cannot encrypt to: skipped, as Go does, so that an
            // authorized_keys-style file with such keys still works.
            std::fprintf(stderr, "warning: %s: line %zu: ignoring unsupported SSH key type %s\n",
                         std::string(filename).c_str(), l.number, e.key_type().c_str());
        } catch (const AgeError& e) {
            fail_at(filename, l.number, "malformed recipient: " + std::string(e.what()));
        }
    }
    if (out.empty()) throw AgeError(Failure::usage, std::string(filename) + ": no recipients found");
    return out;
}

Identities parse_identity_file(std::span<const std::uint8_t> text, std::string_view filename, PassphraseFn passphrase) {
    check_size(text.size(), filename);
    if (starts_with(text, "age-encryption") || starts_with(text, "-----BEGIN AGE"))
        return parse_encrypted_identity_file(text, filename, passphrase);
    if (ssh::looks_like_private_key(text)) {
        Identities out;
        out.push_back(ssh::parse_identity(text, filename, std::move(passphrase)));
        return out;
    }
    return parse_identity_list(view_of(text), filename, true);
}

std::vector<std::string> identity_file_recipients(std::span<const std::uint8_t> text, std::string_view filename) {
    check_size(text.size(), filename);
    std::vector<std::string> out;
    for (const auto& identity : parse_identity_list(view_of(text), filename, false))
        out.push_back(identity->recipient()->to_string());
    return out;
}

}  // namespace gitsops::age
