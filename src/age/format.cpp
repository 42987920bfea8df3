#include "age/format.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"

namespace gitsops::age::format {

namespace {

constexpr std::size_t kReadBlock = 16 * 1024;
constexpr std::string_view kStanzaPrefix = "->";
constexpr std::string_view kMacPrefix = "---";

[[noreturn]] void fail(std::size_t line, std::string_view what) {
    throw AgeError(Failure::header, "age header, line " + std::to_string(line) + ": " + std::string(what));
}

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> fields;
    for (;;) {
        const std::size_t sp = line.find(' ');
        fields.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) return fields;
        line.remove_prefix(sp + 1);
    }
}

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

std::string to_string(std::span<const std::uint8_t> b) { return std::string(view_of(b)); }

// Reads the header one line at a time, keeping count for error messages and the bytes the MAC
// covers.
class Parser {
public:
    explicit Parser(LineReader& in) : in_(in) {}

    Header run() {
        version_line();
        for (;;) {
            std::string line = next_line();
            if (line.starts_with(kMacPrefix)) {
                mac_line(line);
                return std::move(header_);
            }
            header_.mac_input.append(line).push_back('\n');
            header_.stanzas.push_back(stanza(line));
        }
    }

private:
    // The next line without its LF. Every header line must end in LF and hold no CR.
    std::string next_line() {
        ++line_no_;
        const std::size_t room = kMaxHeaderSize - std::min(kMaxHeaderSize, header_.size);
        std::string line = in_.read_line(room);
        header_.size += line.size();
        if (line.empty() || line.back() != '\n') {
            if (header_.size >= kMaxHeaderSize) fail(line_no_, "header is larger than 16 MiB");
            if (line.empty()) fail(line_no_, line_no_ == 1 ? "the file is empty" : "unexpected end of file");
            fail(line_no_, "unexpected end of file in the middle of a line");
        }
        line.pop_back();
        if (line.find('\r') != std::string::npos)
            fail(line_no_, "carriage return in the header (CRLF line endings are not valid in age files; was the "
                           "file converted to text, for example by a PowerShell redirection?)");
        return line;
    }

    void version_line() {
        const std::string line = next_line();
        if (line != kVersionLine) {
            if (line.starts_with("age-encryption.org/")) fail(line_no_, "unsupported age format version");
            fail(line_no_, "not an age file: the first line must be \"age-encryption.org/v1\"");
        }
        header_.mac_input.append(line).push_back('\n');
    }

    Stanza stanza(std::string_view line) {
        const auto fields = split_spaces(line);
        if (fields[0] != kStanzaPrefix)
            fail(line_no_, "expected a recipient stanza (\"-> \") or the MAC line (\"--- \")");
        if (fields.size() < 2) fail(line_no_, "recipient stanza has no type");
        for (std::string_view f : fields)
            if (f.empty()) fail(line_no_, "empty stanza argument (two spaces in a row or a trailing space)");
        for (std::string_view f : fields)
            if (!printable_ascii(f)) fail(line_no_, "stanza argument holds a byte outside printable ASCII");
        Stanza s;
        s.type = fields[1];
        s.args.assign(fields.begin() + 2, fields.end());
        s.body = body();
        return s;
    }

    // Body lines of 64 columns, ended by the first shorter (possibly empty) line.
    std::string body() {
        std::string out;
        for (;;) {
            const std::string line = next_line();
            header_.mac_input.append(line).push_back('\n');
            if (line.size() > kBodyColumns) fail(line_no_, "stanza body line is longer than 64 columns");
            const auto bytes = crypto::base64_decode(line, false);
            if (!bytes) {
                if (line.starts_with(kStanzaPrefix) || line.starts_with(kMacPrefix))
                    fail(line_no_, "stanza body is missing its final line (a body whose length is a multiple "
                                   "of 48 bytes, or empty, ends with an empty line)");
                fail(line_no_, "stanza body line is not canonical unpadded base64");
            }
            out += to_string(*bytes);
            if (bytes->size() < kBodyLineBytes) return out;
        }
    }

    void mac_line(std::string_view line) {
        header_.mac_input.append(kMacPrefix);
        if (header_.stanzas.empty()) fail(line_no_, "header has no recipient stanza");
        const auto fields = split_spaces(line);
        if (fields.size() != 2 || fields[0] != kMacPrefix)
            fail(line_no_, "MAC line must be \"---\", one space and the MAC");
        const auto mac = crypto::base64_decode(fields[1], false);
        if (!mac || mac->size() != kMacSize) fail(line_no_, "MAC is not 32 bytes of canonical unpadded base64");
        std::copy(mac->begin(), mac->end(), header_.mac.begin());
    }

    LineReader& in_;
    Header header_;
    std::size_t line_no_ = 0;
};

}  // namespace

// ---- LineReader ---------------------------------------------------------------------------------

bool LineReader::fill() {
    if (eof_) return false;
    if (pos_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    const std::size_t had = buf_.size();
    buf_.resize(had + kReadBlock);
    const std::size_t got = in_.read(std::span<std::uint8_t>(buf_).subspan(had));
    buf_.resize(had + got);
    if (got < kReadBlock) eof_ = true;
    return got > 0;
}

std::string LineReader::read_line(std::size_t max) {
    std::size_t scanned = 0;
    for (;;) {
        const auto begin = buf_.begin() + static_cast<std::ptrdiff_t>(pos_);
        const auto lf = std::find(begin + static_cast<std::ptrdiff_t>(scanned), buf_.end(), std::uint8_t{'\n'});
        const std::size_t available = static_cast<std::size_t>(buf_.end() - begin);
        const std::size_t through = lf == buf_.end() ? available : static_cast<std::size_t>(lf - begin) + 1;
        if (lf != buf_.end() || through >= max || !fill()) {
            const std::size_t n = std::min({through, max, available});
            std::string line(reinterpret_cast<const char*>(buf_.data() + pos_), n);
            pos_ += n;
            return line;
        }
        scanned = available;
    }
}

std::size_t LineReader::read(std::span<std::uint8_t> out) {
    const std::size_t buffered = std::min(out.size(), buf_.size() - pos_);
    std::copy_n(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), buffered, out.begin());
    pos_ += buffered;
    if (buffered == out.size() || eof_) return buffered;
    return buffered + in_.read(out.subspan(buffered));
}

// ---- parsing and writing ------------------------------------------------------------------------

Header parse_header(LineReader& in) { return Parser(in).run(); }

Header parse_header(std::span<const std::uint8_t> file) {
    MemorySource source(file);
    LineReader reader(source);
    return parse_header(reader);
}

std::string encode_stanza(const Stanza& stanza) {
    std::string out(kStanzaPrefix);
    out.append(" ").append(stanza.type);
    for (const auto& arg : stanza.args) out.append(" ").append(arg);
    out.push_back('\n');
    const std::string body = crypto::base64_encode(bytes_of(stanza.body), false);
    // Full 64-column lines, then one shorter line, empty when the body fills its last line.
    std::size_t at = 0;
    for (; body.size() - at >= kBodyColumns; at += kBodyColumns) out.append(body, at, kBodyColumns).push_back('\n');
    out.append(body, at).push_back('\n');
    return out;
}

std::string mac_input(std::span<const Stanza> stanzas) {
    std::string out(kVersionLine);
    out.push_back('\n');
    for (const auto& s : stanzas) out += encode_stanza(s);
    out += kMacPrefix;
    return out;
}

std::string serialise_header(std::span<const Stanza> stanzas, const Mac& mac) {
    return mac_input(stanzas) + " " + crypto::base64_encode(mac, false) + "\n";
}

void stanza_error(std::size_t index, std::string_view type, std::string_view what) {
    throw AgeError(Failure::header, "age header, stanza " + std::to_string(index + 1) + " (" + std::string(type) +
                                        "): " + std::string(what));
}

std::string seal_file_key(std::span<const std::uint8_t> wrap_key, const FileKey& file_key) {
    static_assert(kWrappedKeySize == kFileKeySize + crypto::kChaChaTag);
    std::string body(kWrappedKeySize, '\0');
    const std::array<std::uint8_t, 12> zero_nonce{};
    crypto::chacha20poly1305_seal(wrap_key, zero_nonce, file_key.span(),
                                  std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(body.data()), body.size()));
    return body;
}

std::optional<FileKey> open_file_key(std::span<const std::uint8_t> wrap_key, std::string_view body) {
    const std::array<std::uint8_t, 12> zero_nonce{};
    FileKey key;
    if (!crypto::chacha20poly1305_open(wrap_key, zero_nonce, bytes_of(body), key.span())) return std::nullopt;
    return key;
}

Mac header_mac(const FileKey& file_key, std::string_view input) {
    FixedSecret<32> key;
    crypto::hkdf_sha256(file_key.span(), {}, "header", key.span());
    return crypto::hmac_sha256(key.span(), bytes_of(input));
}

bool verify_mac(const FileKey& file_key, const Header& header) {
    return crypto::equal_ct(header_mac(file_key, header.mac_input), header.mac);
}

}  // namespace gitsops::age::format
