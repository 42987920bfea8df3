#include "age/scrypt.hpp"

#include <algorithm>
#include <array>

#include "age/format.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::age {

namespace {

constexpr std::string_view kLabel = "age-encryption.org/v1/scrypt";

[[noreturn]] void fail(std::size_t stanza_index, std::string_view what) {
    format::stanza_error(stanza_index, kScryptType, what);
}
constexpr std::size_t kSaltSize = 16;
constexpr int kMaxLogN = 30;  // the range Go's API accepts when encrypting
constexpr std::uint32_t kR = 8, kP = 1;

FixedSecret<32> derive(std::span<const std::uint8_t> passphrase, std::span<const std::uint8_t> salt, int log_n) {
    std::array<std::uint8_t, kLabel.size() + kSaltSize> full_salt{};
    std::copy(kLabel.begin(), kLabel.end(), full_salt.begin());
    std::copy(salt.begin(), salt.end(), full_salt.begin() + kLabel.size());
    FixedSecret<32> key;
    crypto::scrypt(passphrase, full_salt, std::uint64_t{1} << log_n, kR, kP, key.span());
    return key;
}

// The work factor as written: decimal, no sign, no leading zero (`^[1-9][0-9]*$`). Its length
// is checked before converting, so that a huge number cannot overflow; nullopt when malformed.
std::optional<int> parse_log_n(std::string_view text) {
    if (text.empty() || text[0] < '1' || text[0] > '9') return std::nullopt;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    if (text.size() > 2) return kMaxLogN + 1;  // certainly above any cap
    int value = 0;
    for (char c : text) value = value * 10 + (c - '0');
    return value;
}

}  // namespace

// ---- recipient ----------------------------------------------------------------------------------

ScryptRecipient::ScryptRecipient(std::span<const std::uint8_t> passphrase, int log_n)
    : passphrase_(secure_copy(passphrase)), log_n_(log_n) {
    if (passphrase_.empty()) throw AgeError(Failure::usage, "empty passphrase");
    if (log_n < 1 || log_n > kMaxLogN) throw AgeError(Failure::usage, "scrypt work factor must be between 1 and 30");
}

std::vector<Stanza> ScryptRecipient::wrap(const FileKey& key) const {
    std::array<std::uint8_t, kSaltSize> salt{};
    crypto::random_bytes(salt);
    const FixedSecret<32> k = derive(passphrase_, salt, log_n_);
    return {Stanza{std::string(kScryptType), {crypto::base64_encode(salt, false), std::to_string(log_n_)},
                   format::seal_file_key(k.span(), key)}};
}

// ---- identity -----------------------------------------------------------------------------------

ScryptIdentity::ScryptIdentity(std::span<const std::uint8_t> passphrase, int max_log_n)
    : passphrase_(secure_copy(passphrase)), max_log_n_(max_log_n) {
    if (max_log_n < 1 || max_log_n > kMaxLogN)
        throw AgeError(Failure::usage, "scrypt maximum work factor must be between 1 and 30");
}

std::optional<FileKey> ScryptIdentity::unwrap(std::span<const Stanza> stanzas) const {
    // Checked before deriving anything: a passphrase file has exactly one stanza, so that
    // nobody holding another recipient's key can learn or replace the passphrase's file key.
    for (std::size_t i = 0; i < stanzas.size(); ++i)
        if (stanzas[i].type == kScryptType && stanzas.size() != 1)
            fail(i, "an scrypt stanza must be the only stanza in the header");
    return format::first_unwrapped(stanzas, [this](const Stanza& s, std::size_t i) { return unwrap_one(s, i); });
}

std::optional<FileKey> ScryptIdentity::unwrap_one(const Stanza& stanza, std::size_t index) const {
    if (stanza.type != kScryptType) return std::nullopt;
    if (stanza.args.size() != 2) fail(index, "expected exactly two arguments, the salt and the work factor");
    const auto salt = crypto::base64_decode(stanza.args[0], false);
    if (!salt || salt->size() != kSaltSize) fail(index, "salt is not 16 bytes of canonical unpadded base64");
    const auto log_n = parse_log_n(stanza.args[1]);
    if (!log_n) fail(index, "work factor is not a positive decimal number without leading zeros");
    if (*log_n > max_log_n_)
        fail(index, "work factor 2^" + stanza.args[1] + " is larger than the maximum 2^" + std::to_string(max_log_n_));
    // Checked before running scrypt, which is the expensive part; Go checks it just after.
    if (stanza.body.size() != format::kWrappedKeySize) fail(index, "wrapped file key is not 16 bytes");
    const FixedSecret<32> k = derive(passphrase_, *salt, *log_n);
    return format::open_file_key(k.span(), stanza.body);  // a wrong passphrase is "not mine"
}

// ---- public constructors ------------------------------------------------------------------------

std::unique_ptr<Recipient> scrypt_recipient(std::span<const std::uint8_t> passphrase, int log_n) {
    return std::make_unique<ScryptRecipient>(passphrase, log_n);
}

std::unique_ptr<Identity> scrypt_identity(std::span<const std::uint8_t> passphrase, int max_log_n) {
    return std::make_unique<ScryptIdentity>(passphrase, max_log_n);
}

}  // namespace gitsops::age
