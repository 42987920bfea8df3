// The public age API: encryption, decryption with armor detection, and byte sources and sinks.
// The format pieces live beside this file: format (header), stream (payload), armor, and the
// recipient types (x25519, scrypt, and the SSH module); identity_file parses key files.
#include "age/age.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "age/armor.hpp"
#include "age/format.hpp"
#include "age/scrypt.hpp"
#include "age/stream.hpp"
#include "age/x25519.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::age {

// ---- errors -------------------------------------------------------------------------------------

const char* failure_name(Failure f) {
    switch (f) {
    case Failure::header: return "header failure";
    case Failure::no_match: return "no match";
    case Failure::hmac: return "HMAC failure";
    case Failure::payload: return "payload failure";
    case Failure::armor: return "armor failure";
    case Failure::usage: return "usage error";
    case Failure::io: return "I/O error";
    }
    return "unknown failure";
}

AgeError::AgeError(Failure f, std::string message)
    : Error(std::move(message), f == Failure::no_match ? exit_code::could_not_retrieve_key : exit_code::generic),
      failure_(f) {}

// ---- sources and sinks --------------------------------------------------------------------------

std::size_t FdSource::read(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::read(fd_, out.data() + done, out.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw AgeError(Failure::io, std::string("reading input: ") + std::strerror(errno));
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

void FdSink::write(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw AgeError(Failure::io, std::string("writing output: ") + std::strerror(errno));
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

std::size_t MemorySource::read(std::span<std::uint8_t> out) {
    const std::size_t n = std::min(out.size(), data_.size() - off_);
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(off_), n, out.begin());
    off_ += n;
    return n;
}

namespace {

// Bytes already read (while looking for armor), then the rest of the source.
class PrefixedSource : public Source {
public:
    PrefixedSource(std::span<const std::uint8_t> prefix, Source& rest) : prefix_(prefix), rest_(rest) {}
    std::size_t read(std::span<std::uint8_t> out) override {
        const std::size_t n = prefix_.read(out);
        // A short prefix read means the prefix is used up; the prefix itself was a short read
        // only if the source had already ended, in which case `rest_` just returns 0.
        return n == out.size() ? n : n + rest_.read(out.subspan(n));
    }

private:
    MemorySource prefix_;
    Source& rest_;
};

std::vector<std::uint8_t> read_all(Source& in, std::vector<std::uint8_t> data) {
    constexpr std::size_t kBlock = 64 * 1024;
    for (;;) {
        const std::size_t had = data.size();
        data.resize(had + kBlock);
        const std::size_t n = in.read(std::span<std::uint8_t>(data).subspan(had));
        data.resize(had + n);
        if (n < kBlock) return data;
    }
}

bool is_known_type(std::string_view type) {
    return type == kX25519Type || type == kScryptType || type == "ssh-ed25519" || type == "ssh-rsa";
}

bool is_grease(std::string_view type) { return type == "grease" || type.ends_with("-grease"); }

// "No match", naming the recipient types git-sops does not implement (post-quantum, tagged,
// plugins…) when the file uses any: then no key of ours could ever have matched.
std::string no_match_message(std::span<const Stanza> stanzas) {
    std::vector<std::string> unsupported;
    bool any_known = false;
    for (const auto& s : stanzas) {
        any_known = any_known || is_known_type(s.type);
        if (!is_known_type(s.type) && !is_grease(s.type) &&
            std::find(unsupported.begin(), unsupported.end(), s.type) == unsupported.end())
            unsupported.push_back(s.type);
    }
    std::string message = "no identity matched any of the file's recipients";
    if (unsupported.empty()) return message;
    std::string list;
    for (const auto& t : unsupported) list += (list.empty() ? "" : ", ") + t;
    if (!any_known) return "no identity matched: the file is encrypted only to unsupported recipient type " + list;
    return message + " (it is also encrypted to unsupported recipient type " + list + ")";
}

// Native identities first, keeping the caller's order otherwise; the first success wins.
FileKey unwrap_file_key(const Identities& identities, std::span<const Stanza> stanzas) {
    std::vector<const Identity*> order;
    for (const auto& id : identities)
        if (id->native()) order.push_back(id.get());
    for (const auto& id : identities)
        if (!id->native()) order.push_back(id.get());
    for (const Identity* id : order)
        if (auto key = id->unwrap(stanzas)) return std::move(*key);
    throw AgeError(Failure::no_match, no_match_message(stanzas));
}

void decrypt_binary(const Identities& identities, Source& in, Sink& out) {
    format::LineReader reader(in);
    const format::Header header = format::parse_header(reader);
    const FileKey file_key = unwrap_file_key(identities, header.stanzas);
    if (!format::verify_mac(file_key, header))
        throw AgeError(Failure::hmac, "age header MAC is wrong: the header was modified or the file is corrupt");
    stream::decrypt(file_key, reader, out);
}

// Go's CLI looks at this many bytes to tell armor from binary.
std::vector<std::uint8_t> peek(Source& in) {
    std::vector<std::uint8_t> head(armor::kMaxWhitespace + armor::kBegin.size());
    head.resize(in.read(head));
    return head;
}

void check_not_utf16(std::span<const std::uint8_t> head) {
    if (head.size() >= 2 && head[0] == 0xff && head[1] == 0xfe)
        throw AgeError(Failure::header, "the file is UTF-16 text, not an age file (was it converted by a PowerShell "
                                        "redirection?)");
}

}  // namespace

// ---- encryption and decryption ------------------------------------------------------------------

void encrypt(const Recipients& recipients, Source& in, Sink& out, bool armor) {
    if (recipients.empty()) throw AgeError(Failure::usage, "no recipients to encrypt to");
    for (const auto& r : recipients)
        if (r->must_be_alone() && recipients.size() > 1)
            throw AgeError(Failure::usage, "a passphrase (scrypt) cannot be combined with other recipients");
    FileKey file_key;
    crypto::random_bytes(file_key.span());
    std::vector<Stanza> stanzas;
    for (const auto& r : recipients)
        for (auto& s : r->wrap(file_key)) stanzas.push_back(std::move(s));
    if (stanzas.empty()) throw AgeError(Failure::usage, "the recipients produced no stanza");
    const std::string mac_input = format::mac_input(stanzas);
    const std::string header = format::serialise_header(stanzas, format::header_mac(file_key, mac_input));
    stream::Nonce nonce{};
    crypto::random_bytes(nonce);

    if (!armor) {
        out.write(bytes_of(header));
        stream::encrypt(file_key, nonce, in, out);
        return;
    }
    armor::Writer writer(out);
    writer.write(bytes_of(header));
    stream::encrypt(file_key, nonce, in, writer);
    writer.finish();
}

void decrypt(const Identities& identities, Source& in, Sink& out) {
    std::vector<std::uint8_t> head = peek(in);
    if (armor::looks_armored(head)) {
        // Armor is decoded whole, so that any armor error is reported as one, wherever it is.
        const std::vector<std::uint8_t> binary = armor::decode(read_all(in, std::move(head)));
        MemorySource source(binary);
        decrypt_binary(identities, source, out);
        return;
    }
    check_not_utf16(head);
    PrefixedSource source(head, in);
    decrypt_binary(identities, source, out);
}

std::string encrypt(const Recipients& recipients, std::span<const std::uint8_t> plaintext, bool armor) {
    MemorySource in(plaintext);
    MemorySink out;
    encrypt(recipients, in, out, armor);
    return std::string(view_of(out.data));
}

SecureBytes decrypt(const Identities& identities, std::span<const std::uint8_t> ciphertext) {
    MemorySource in(ciphertext);
    MemorySink out;
    decrypt(identities, in, out);
    return std::move(out.data);
}

std::vector<Stanza> read_stanzas(std::span<const std::uint8_t> ciphertext) {
    const std::size_t peeked = std::min(ciphertext.size(), armor::kMaxWhitespace + armor::kBegin.size());
    if (armor::looks_armored(ciphertext.first(peeked)))
        return format::parse_header(armor::decode(ciphertext)).stanzas;
    return format::parse_header(ciphertext).stanzas;
}

}  // namespace gitsops::age
