// OpenSSH key formats for the ssh-ed25519 / ssh-rsa age recipient types (see openssh.hpp).
#include "age/openssh.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "crypto/crypto.hpp"
#include "crypto/pem.hpp"

namespace gitsops::age::openssh {

namespace {

// Names read from a file may hold anything; error messages show them escaped and bounded.
std::string quoted(std::string_view s) {
    constexpr std::size_t kMax = 64;
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    if (s.size() > kMax) out += "...";
    return out + "\"";
}

std::size_t bit_length(std::span<const std::uint8_t> magnitude) {
    if (magnitude.empty()) return 0;
    return (magnitude.size() - 1) * 8 + static_cast<std::size_t>(std::bit_width(magnitude[0]));
}

std::span<const std::uint8_t> strip_leading_zeros(std::span<const std::uint8_t> b) {
    std::size_t i = 0;
    while (i < b.size() && b[i] == 0) ++i;
    return b.subspan(i);
}

constexpr std::size_t kMaxRsaBits = 16384;

// Key formats OpenSSH and x/crypto know but age cannot use: parsed as "valid, unsupported".
bool known_unsupported_type(std::string_view type) {
    static constexpr std::string_view kTypes[] = {
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ssh-ed25519@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
        "ssh-dss-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
    };
    return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

void check_rsa_public(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e) {
    if (bit_length(e) > 24) throw KeyError("RSA exponent too large");
    std::uint32_t ev = 0;
    for (std::uint8_t b : e) ev = ev << 8 | b;
    if (ev < 3 || ev % 2 == 0) throw KeyError("incorrect RSA exponent (must be odd and at least 3)");
    if (n.empty()) throw KeyError("RSA modulus is zero");
    if (bit_length(n) > kMaxRsaBits) throw KeyError("RSA modulus larger than 16384 bits");
}

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::size_t find_blank(std::string_view s) {
    const std::size_t i = s.find_first_of(" \t");
    return i == std::string_view::npos ? s.size() : i;
}

// "blob [comment]" after the key type field.
AuthorizedKey parse_key_and_comment(std::string_view rest) {
    rest = trim_blanks(rest);
    const std::size_t end = find_blank(rest);
    auto blob = crypto::base64_decode(rest.substr(0, end), true);
    if (!blob || blob->empty()) throw KeyError("invalid base64 in the public key");
    return AuthorizedKey{parse_public_key(*blob), std::string(trim_blanks(rest.substr(end)))};
}

// "type blob [comment]": the textual type must match the one inside the blob.
AuthorizedKey parse_typed_key(std::string_view fields) {
    const std::size_t end = find_blank(fields);
    if (end == fields.size()) throw KeyError("missing key data after the key type");
    AuthorizedKey key = parse_key_and_comment(fields.substr(end));
    if (key.key.type != fields.substr(0, end))
        throw KeyError("key type " + quoted(fields.substr(0, end)) + " does not match the key data (" +
                       quoted(key.key.type) + ")");
    return key;
}

// Skips an authorized_keys options field: comma-separated, double quotes protect blanks.
std::optional<std::string_view> skip_options(std::string_view line) {
    bool in_quote = false;
    std::size_t i = 0;
    for (; i < line.size(); ++i) {
        const char c = line[i];
        if (!in_quote && is_blank(c)) break;
        if (c == '"' && (i == 0 || line[i - 1] != '\\')) in_quote = !in_quote;
    }
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i >= line.size()) return std::nullopt;  // no key after the options, or an unmatched quote
    return line.substr(i);
}

// The value of an RFC 1421 header inside the header lines of a PEM block.
bool header_contains(std::string_view headers, std::string_view name, std::string_view needle) {
    while (!headers.empty()) {
        const std::size_t nl = headers.find('\n');
        std::string_view line = headers.substr(0, nl);
        headers = nl == std::string_view::npos ? std::string_view{} : headers.substr(nl + 1);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && trim_blanks(line.substr(0, colon)) == name &&
            line.substr(colon + 1).find(needle) != std::string_view::npos)
            return true;
    }
    return false;
}

// Splits the inside of a PEM block into RFC 1421 headers ("Name: value" lines ended by an
// empty line) and the base64 body.
std::pair<std::string_view, std::string_view> split_headers(std::string_view inside) {
    if (inside.substr(0, inside.find('\n')).find(':') == std::string_view::npos) return {{}, inside};
    for (std::size_t pos = 0; pos < inside.size();) {
        std::size_t nl = inside.find('\n', pos);
        if (nl == std::string_view::npos) nl = inside.size();
        std::string_view line = inside.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim_blanks(line).empty()) return {inside.substr(0, pos), inside.substr(std::min(nl + 1, inside.size()))};
        pos = nl + 1;
    }
    return {inside, {}};
}

void check_padding(std::span<const std::uint8_t> pad) {
    for (std::size_t i = 0; i < pad.size(); ++i)
        if (pad[i] != static_cast<std::uint8_t>(i + 1)) throw KeyError("private key padding is not 1, 2, 3, ...");
}

SecureBytes secure_mpint(WireReader& r, std::string_view what) {
    auto m = r.mpint(what);
    if (m.empty()) throw KeyError(std::string(what) + " is zero");
    return secure_copy(m);
}

void read_ed25519_private(WireReader& r, PrivateKey& key) {
    const auto pub = r.string("Ed25519 public key");
    const auto priv = r.string("Ed25519 private key");
    if (pub.size() != 32) throw KeyError("Ed25519 public key is not 32 bytes");
    if (priv.size() != 64) throw KeyError("Ed25519 private key is not 64 bytes");
    key.pub = ed25519_public_key(pub);
    key.ed25519_seed = secure_copy(priv.first(32));
    // OpenSSH stores seed || public key; both copies, and the key the seed generates, must agree.
    const auto derived = crypto::ed25519_public_from_seed(key.ed25519_seed);
    if (!std::equal(pub.begin(), pub.end(), priv.begin() + 32) || !std::equal(pub.begin(), pub.end(), derived.begin()))
        throw KeyError("Ed25519 private key does not match its public key");
}

void read_rsa_private(WireReader& r, PrivateKey& key) {
    // Order in the private section: n, e, d, iqmp, p, q (the public blob has e before n).
    const auto n = r.mpint("RSA modulus");
    const auto e = r.mpint("RSA exponent");
    check_rsa_public(n, e);
    key.pub = rsa_public_key(n, e);
    key.rsa_d = secure_mpint(r, "RSA private exponent");
    key.rsa_iqmp = secure_mpint(r, "RSA CRT coefficient");
    key.rsa_p = secure_mpint(r, "RSA prime p");
    key.rsa_q = secure_mpint(r, "RSA prime q");
}

PrivateKey parse_private_section(std::span<const std::uint8_t> plain, bool encrypted) {
    WireReader r(plain);
    std::string type;
    try {
        const std::uint32_t check1 = r.u32("check integer");
        const std::uint32_t check2 = r.u32("check integer");
        if (check1 != check2) throw KeyError("check integers differ: the private key is corrupt");
        type = std::string(r.text("private key type"));
    } catch (const KeyError& e) {
        // Decrypting with the wrong key yields noise: it fails right here.
        if (encrypted) throw WrongPassphrase("incorrect passphrase");
        throw;
    }
    PrivateKey key;
    if (type == kEd25519) {
        read_ed25519_private(r, key);
    } else if (type == kRsa) {
        read_rsa_private(r, key);
    } else {
        throw KeyError("unsupported SSH key type " + quoted(type));
    }
    key.comment = std::string(r.text("comment"));
    check_padding(r.rest());
    return key;
}

SecureBytes decrypt_section(const OpensshFile& file, std::span<const std::uint8_t> passphrase) {
    if (file.kdf == "none" || file.cipher == "none")
        throw KeyError("inconsistent protection: cipher " + quoted(file.cipher) + " with KDF " + quoted(file.kdf));
    if (file.kdf != "bcrypt") throw KeyError("unsupported KDF " + quoted(file.kdf) + " (only bcrypt)");
    const bool ctr = file.cipher == "aes256-ctr";
    if (!ctr && file.cipher != "aes256-cbc")
        throw KeyError("unsupported cipher " + quoted(file.cipher) + " (only aes256-ctr and aes256-cbc)");
    WireReader opts(file.kdf_options);
    const auto salt = opts.string("bcrypt salt");
    const std::uint32_t rounds = opts.u32("bcrypt rounds");
    opts.expect_end("bcrypt KDF options");
    if (salt.empty() || salt.size() > (std::size_t{1} << 20)) throw KeyError("bcrypt salt length out of range");
    if (rounds == 0) throw KeyError("bcrypt rounds must be at least 1");
    if (passphrase.empty()) throw WrongPassphrase("empty passphrase");
    if (!ctr && file.private_section.size() % 16 != 0)
        throw KeyError("encrypted private key length is not a multiple of the AES block size");

    SecureBytes k(48);
    crypto::bcrypt_pbkdf(passphrase, salt, rounds, k);
    const std::span<const std::uint8_t> key(k.data(), 32), iv(k.data() + 32, 16);
    return ctr ? crypto::aes256ctr(key, iv, file.private_section)
               : crypto::aes256cbc_decrypt_nopad(key, iv, file.private_section);
}

constexpr std::string_view kMagic{"openssh-key-v1\0", 15};

}  // namespace

// ---- wire format -----------------------------------------------------------------------------

std::span<const std::uint8_t> WireReader::take(std::size_t n, std::string_view what) {
    if (n > in_.size() - off_) throw KeyError("truncated key data (reading " + std::string(what) + ")");
    auto out = in_.subspan(off_, n);
    off_ += n;
    return out;
}

std::uint32_t WireReader::u32(std::string_view what) {
    const auto b = take(4, what);
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | std::uint32_t{b[3]};
}

std::span<const std::uint8_t> WireReader::string(std::string_view what) { return take(u32(what), what); }

std::span<const std::uint8_t> WireReader::mpint(std::string_view what) {
    const auto b = string(what);
    if (!b.empty() && (b[0] & 0x80) != 0) throw KeyError(std::string(what) + " is negative");
    return strip_leading_zeros(b);
}

std::span<const std::uint8_t> WireReader::rest() { return take(in_.size() - off_, "rest"); }

void WireReader::expect_end(std::string_view what) const {
    if (!at_end()) throw KeyError("trailing data after " + std::string(what));
}

void WireWriter::u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
}

void WireWriter::string(std::span<const std::uint8_t> s) {
    if (s.size() > 0xffffffffu) throw std::length_error("SSH string too long");
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s);
}

void WireWriter::mpint(std::span<const std::uint8_t> magnitude) {
    magnitude = strip_leading_zeros(magnitude);
    const bool pad = !magnitude.empty() && (magnitude[0] & 0x80) != 0;  // keep it non-negative
    u32(static_cast<std::uint32_t>(magnitude.size() + (pad ? 1 : 0)));
    if (pad) out_.push_back(0);
    raw(magnitude);
}

// ---- public keys -----------------------------------------------------------------------------

PublicKey ed25519_public_key(std::span<const std::uint8_t> key32) {
    if (key32.size() != 32) throw KeyError("invalid size " + std::to_string(key32.size()) + " for an Ed25519 public key");
    PublicKey k;
    k.type = kEd25519;
    std::copy(key32.begin(), key32.end(), k.ed25519.begin());
    WireWriter w;
    w.string(kEd25519);
    w.string(key32);
    k.blob = w.bytes();
    return k;
}

PublicKey rsa_public_key(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e) {
    PublicKey k;
    k.type = kRsa;
    n = strip_leading_zeros(n);
    e = strip_leading_zeros(e);
    k.rsa_n.assign(n.begin(), n.end());
    k.rsa_e.assign(e.begin(), e.end());
    WireWriter w;
    w.string(kRsa);
    w.mpint(e);
    w.mpint(n);
    k.blob = w.bytes();
    return k;
}

PublicKey parse_public_key(std::span<const std::uint8_t> blob) {
    WireReader r(blob);
    const std::string type(r.text("public key type"));
    if (type == kEd25519) {
        const auto key = r.string("Ed25519 public key");
        r.expect_end("the public key");
        return ed25519_public_key(key);
    }
    if (type == kRsa) {
        const auto e = r.mpint("RSA exponent");
        const auto n = r.mpint("RSA modulus");
        r.expect_end("the public key");
        check_rsa_public(n, e);
        return rsa_public_key(n, e);
    }
    if (!known_unsupported_type(type)) throw KeyError("unknown SSH key algorithm " + quoted(type));
    PublicKey k;
    k.type = type;
    k.blob.assign(blob.begin(), blob.end());
    return k;
}

AuthorizedKey parse_authorized_key(std::string_view line) {
    // One line, optionally ended by a newline (as in a .pub file); it ends at the first CR.
    const std::size_t lf = line.find('\n');
    if (lf != std::string_view::npos) {
        if (line.find_first_not_of(" \t\r\n", lf) != std::string_view::npos) throw KeyError("more than one line");
        line = line.substr(0, lf);
    }
    line = line.substr(0, line.find('\r'));
    line = trim_blanks(line);
    if (line.empty() || line.front() == '#') throw KeyError("no key found");
    try {
        return parse_typed_key(line);
    } catch (const KeyError&) {
        // Perhaps the line starts with an options field (`from="...",no-pty ssh-ed25519 ...`).
        // When the first field already names a key type, its error is the one worth reporting.
        const std::string_view first = line.substr(0, find_blank(line));
        const auto after = skip_options(line);
        if (!after || first == kEd25519 || first == kRsa || known_unsupported_type(first)) throw;
        return parse_typed_key(*after);
    }
}

// ---- PEM -------------------------------------------------------------------------------------

std::optional<PemBlock> find_pem_block(std::string_view text) {
    constexpr std::string_view kBegin = "-----BEGIN ", kDashes = "-----";
    std::size_t begin = text.starts_with(kBegin) ? 0 : text.find(std::string("\n").append(kBegin));
    if (begin == std::string_view::npos) return std::nullopt;
    if (text[begin] == '\n') ++begin;
    std::size_t eol = text.find('\n', begin);
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view first = text.substr(begin + kBegin.size(), eol - begin - kBegin.size());
    while (!first.empty() && (first.back() == '\r' || is_blank(first.back()))) first.remove_suffix(1);
    if (!first.ends_with(kDashes)) return std::nullopt;
    PemBlock block;
    block.type = first.substr(0, first.size() - kDashes.size());

    const std::string end_line = std::string("-----END ").append(block.type).append(kDashes);
    // Searching from the BEGIN line's own newline also finds the END line of an empty body.
    const std::size_t end = text.find(std::string("\n").append(end_line), eol);
    if (end == std::string_view::npos) return std::nullopt;
    const std::size_t inside_start = eol + 1;
    const std::string_view inside = inside_start <= end ? text.substr(inside_start, end - inside_start) : std::string_view{};
    const auto [headers, body] = split_headers(inside);
    block.body = body;
    block.encrypted = header_contains(headers, "Proc-Type", "ENCRYPTED");
    std::size_t stop = text.find('\n', end + 1);
    stop = stop == std::string_view::npos ? text.size() : stop + 1;
    block.text = text.substr(begin, stop - begin);
    return block;
}

SecureBytes decode_pem_body(std::string_view body) {
    auto decoded = crypto::base64_decode_lenient(body);
    if (!decoded) throw KeyError("invalid base64 in the PEM block");
    return std::move(*decoded);
}

// ---- openssh-key-v1 --------------------------------------------------------------------------

OpensshFile parse_openssh_file(std::span<const std::uint8_t> decoded) {
    if (decoded.size() < kMagic.size() || view_of(decoded.first(kMagic.size())) != kMagic)
        throw KeyError("not an openssh-key-v1 key (bad magic)");
    WireReader r(decoded.subspan(kMagic.size()));
    OpensshFile f;
    f.cipher = std::string(r.text("cipher name"));
    f.kdf = std::string(r.text("KDF name"));
    const auto opts = r.string("KDF options");
    f.kdf_options.assign(opts.begin(), opts.end());
    const std::uint32_t count = r.u32("number of keys");
    if (count != 1) throw KeyError("files holding " + std::to_string(count) + " keys are not supported (exactly one)");
    const auto pub = r.string("public key");
    f.private_section = secure_copy(r.string("private key section"));
    r.expect_end("the private key section");
    f.public_key = parse_public_key(pub);
    if (!f.encrypted() && !f.kdf_options.empty()) throw KeyError("KDF options given for an unencrypted key");
    return f;
}

PrivateKey decrypt_private_key(const OpensshFile& file, std::span<const std::uint8_t> passphrase) {
    if (!file.encrypted()) return parse_private_section(file.private_section, false);
    const SecureBytes plain = decrypt_section(file, passphrase);
    return parse_private_section(plain, true);
}

}  // namespace gitsops::age::openssh
