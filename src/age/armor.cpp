#include "age/armor.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"

namespace gitsops::age::armor {

namespace {

constexpr std::size_t kColumns = 64;
constexpr std::size_t kLineBytes = 48;
constexpr std::string_view kBinaryStart = "age-encryption.org/";

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

bool all_space(std::span<const std::uint8_t> b) { return std::all_of(b.begin(), b.end(), is_space); }

[[noreturn]] void fail(std::size_t line, std::string_view what) {
    throw AgeError(Failure::armor, "age armor, line " + std::to_string(line) + ": " + std::string(what));
}

// Walks the armored text line by line: LF ends a line, one CR before it is dropped, and the
// last line may lack its LF.
class Lines {
public:
    explicit Lines(std::span<const std::uint8_t> text) : text_(text) {}

    bool at_end() const { return pos_ == text_.size(); }
    std::size_t number() const { return number_; }
    std::size_t position() const { return pos_; }

    // The next line without its LF and CR.
    std::string_view next() {
        ++number_;
        const auto rest = text_.subspan(pos_);
        const auto lf = std::find(rest.begin(), rest.end(), std::uint8_t{'\n'});
        const std::size_t len = static_cast<std::size_t>(lf - rest.begin());
        pos_ += len + (lf == rest.end() ? 0 : 1);
        std::string_view line = view_of(rest.first(len));
        if (line.ends_with('\r')) line.remove_suffix(1);
        return line;
    }

    std::span<const std::uint8_t> rest() const { return text_.subspan(pos_); }

private:
    std::span<const std::uint8_t> text_;
    std::size_t pos_ = 0;
    std::size_t number_ = 0;
};

void skip_leading_space(Lines& lines) {
    std::size_t skipped = 0;
    for (;;) {
        if (lines.at_end()) fail(lines.number() + 1, "no \"" + std::string(kBegin) + "\" line");
        const std::size_t start = lines.position();
        const std::string_view line = lines.next();
        if (!all_space(bytes_of(line))) {
            if (line != kBegin) fail(lines.number(), "expected \"" + std::string(kBegin) + "\"");
            return;
        }
        skipped += lines.position() - start;
        if (skipped > kMaxWhitespace) fail(lines.number(), "more than 1024 bytes of whitespace before the armor");
    }
}

// After END: only whitespace, less than kMaxWhitespace bytes of it.
void check_trailing(const Lines& lines) {
    const auto rest = lines.rest();
    if (!all_space(rest)) fail(lines.number() + 1, "data after the END line");
    if (rest.size() >= kMaxWhitespace) fail(lines.number() + 1, "1024 or more bytes of whitespace after the armor");
}

}  // namespace

Writer::Writer(Sink& out) : out_(out) {
    const std::string begin = std::string(kBegin) + "\n";
    out_.write(bytes_of(begin));
}

void Writer::emit_line(std::span<const std::uint8_t> bytes) {
    const std::string line = crypto::base64_encode(bytes, true) + "\n";
    out_.write(bytes_of(line));
}

void Writer::write(std::span<const std::uint8_t> bytes) {
    if (!pending_.empty()) {
        const std::size_t take = std::min(bytes.size(), kLineBytes - pending_.size());
        pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
        bytes = bytes.subspan(take);
        if (pending_.size() < kLineBytes) return;
        emit_line(pending_);
        pending_.clear();
    }
    for (; bytes.size() >= kLineBytes; bytes = bytes.subspan(kLineBytes)) emit_line(bytes.first(kLineBytes));
    pending_.assign(bytes.begin(), bytes.end());
}

void Writer::finish() {
    if (!pending_.empty()) emit_line(pending_);
    pending_.clear();
    const std::string end = std::string(kEnd) + "\n";
    out_.write(bytes_of(end));
}

std::string encode(std::span<const std::uint8_t> binary) {
    MemorySink sink;
    Writer writer(sink);
    writer.write(binary);
    writer.finish();
    return std::string(view_of(sink.data));
}

std::vector<std::uint8_t> decode(std::span<const std::uint8_t> armored) {
    Lines lines(armored);
    skip_leading_space(lines);
    std::vector<std::uint8_t> out;
    for (;;) {
        if (lines.at_end()) fail(lines.number() + 1, "no \"" + std::string(kEnd) + "\" line");
        const std::string_view line = lines.next();
        if (line == kEnd) break;
        if (line.empty()) fail(lines.number(), "empty line");
        if (line.size() > kColumns) fail(lines.number(), "line is longer than 64 columns");
        const auto bytes = crypto::base64_decode(line, true);
        if (!bytes) fail(lines.number(), "not canonical padded base64");
        out.insert(out.end(), bytes->begin(), bytes->end());
        if (bytes->size() < kLineBytes) {
            // A short line is the last one: END must follow.
            if (lines.at_end() || lines.next() != kEnd)
                fail(lines.number(), "expected \"" + std::string(kEnd) + "\" after the last, short line");
            break;
        }
    }
    check_trailing(lines);
    return out;
}

bool looks_armored(std::span<const std::uint8_t> prefix) {
    const std::string_view text = view_of(prefix);
    if (text.starts_with(kBinaryStart)) return false;
    const auto start = std::find_if_not(prefix.begin(), prefix.end(), is_space);
    const std::string_view trimmed = text.substr(static_cast<std::size_t>(start - prefix.begin()));
    // Broader than Go's "BEGIN after whitespace", so that a damaged BEGIN line (wrong label or
    // case, garbage before it) is reported as an armor failure rather than a header failure.
    return trimmed.starts_with("-----") || text.find(kBegin) != std::string_view::npos;
}

}  // namespace gitsops::age::armor
