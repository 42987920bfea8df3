#include "git/pktline.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace gitsops::git::pkt {

namespace {

int hex_value(std::uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;  // git's own reader accepts both cases
    return -1;
}

// The header as the user should see it in a message: printable bytes as-is, others as \xNN.
std::string shown(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t c : bytes) {
        if (c >= 0x20 && c < 0x7f) {
            s.push_back(static_cast<char>(c));
        } else {
            s.append("\\x").push_back(digits[c >> 4]);
            s.push_back(digits[c & 15]);
        }
    }
    return s;
}

Error input_error(std::string message) { return Error(std::move(message), exit_code::could_not_read_input); }

}  // namespace

std::size_t decode_length(std::span<const std::uint8_t, header_size> header) {
    std::size_t len = 0;
    for (std::uint8_t c : header) {
        int v = hex_value(c);
        if (v < 0) throw input_error("invalid pkt-line length '" + shown(header) + "' (expected 4 hex digits)");
        len = len * 16 + static_cast<std::size_t>(v);
    }
    if (len > 0 && len < header_size)
        throw input_error("unexpected special pkt-line '" + shown(header) +
                          "' (only flush '0000' and data packets belong to the filter protocol)");
    if (len > max_packet)
        throw input_error("pkt-line length " + std::to_string(len) + " ('" + shown(header) +
                          "') exceeds the maximum of " + std::to_string(max_packet));
    return len;
}

void encode_length(std::size_t payload, std::span<std::uint8_t, header_size> out) {
    static constexpr char digits[] = "0123456789abcdef";
    std::size_t len = payload + header_size;
    for (std::size_t i = header_size; i-- > 0;) {
        out[i] = static_cast<std::uint8_t>(digits[len & 15]);
        len >>= 4;
    }
}

// ---- Reader ----------------------------------------------------------------------------------

Reader::Reader(int fd, std::size_t buffer_size) : fd_(fd), buf_(std::max(buffer_size, max_packet)) {}

bool Reader::fill(std::size_t need) {
    if (end_ - begin_ >= need) return true;
    if (begin_ + need > buf_.size()) {  // not enough room behind the unread bytes: compact
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    while (end_ - begin_ < need) {
        ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw input_error(std::string("cannot read from git: ") + std::strerror(errno));
        }
        if (n == 0) return false;
        end_ += static_cast<std::size_t>(n);
    }
    return true;
}

Packet Reader::read() {
    if (!fill(header_size)) {
        if (end_ == begin_) return {Kind::eof, {}};
        throw input_error("unexpected end of input inside a pkt-line header (" + std::to_string(end_ - begin_) +
                          " of 4 bytes)");
    }
    std::span<const std::uint8_t, header_size> header(buf_.data() + begin_, header_size);
    const std::size_t len = decode_length(header);
    if (len == 0) {
        begin_ += header_size;
        return {Kind::flush, {}};
    }
    if (!fill(len))
        throw input_error("unexpected end of input inside a pkt-line (got " + std::to_string(end_ - begin_) + " of " +
                          std::to_string(len) + " bytes)");
    Packet p{Kind::data, {buf_.data() + begin_ + header_size, len - header_size}};
    begin_ += len;
    return p;
}

std::optional<std::string> Reader::read_text() {
    Packet p = read();
    if (p.kind == Kind::eof) throw input_error("unexpected end of input: git closed the pipe inside a message");
    if (p.kind == Kind::flush) return std::nullopt;
    std::string_view s = view_of(p.payload);
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return std::string(s);
}

// ---- Writer ----------------------------------------------------------------------------------

Writer::Writer(int fd, std::size_t buffer_size) : fd_(fd), buf_(std::max(buffer_size, max_packet)) {}

void Writer::packet(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    const std::size_t payload = a.size() + b.size();
    if (payload > max_payload)
        throw Error("pkt-line payload of " + std::to_string(payload) + " bytes exceeds the maximum of " +
                    std::to_string(max_payload));
    if (used_ + header_size + payload > buf_.size()) send();
    std::uint8_t* out = buf_.data() + used_;
    encode_length(payload, std::span<std::uint8_t, header_size>(out, header_size));
    if (!a.empty()) std::memcpy(out + header_size, a.data(), a.size());
    if (!b.empty()) std::memcpy(out + header_size + a.size(), b.data(), b.size());
    used_ += header_size + payload;
}

void Writer::text(std::string_view line) {
    static constexpr std::uint8_t lf[] = {'\n'};
    packet(bytes_of(line), lf);
}

void Writer::content(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), max_payload);
        packet(bytes.first(n));
        bytes = bytes.subspan(n);
    }
}

void Writer::flush_packet() {
    if (used_ + header_size > buf_.size()) send();
    std::memcpy(buf_.data() + used_, "0000", header_size);
    used_ += header_size;
}

void Writer::send() {
    write_out({buf_.data(), used_});
    used_ = 0;
}

void Writer::write_out(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(std::string("cannot write to git: ") + std::strerror(errno), exit_code::could_not_write_output);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

}  // namespace gitsops::git::pkt
