// pkt-line framing (gitprotocol-common "pkt-line Format") over raw file descriptors, as the
// long-running filter protocol uses it: 4 hex digits giving the total length (digits included),
// then the payload; "0000" is a flush. Both sides buffer, because one `git add` of 10,000 files
// is tens of thousands of packets: the reader pulls large chunks per read(2), the writer sends a
// whole response with as few write(2) calls as its size allows.
//
// Buffers are SecureBytes: filter content is plaintext on the way in (clean) and out (smudge).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/secure.hpp"

namespace gitsops::git::pkt {

inline constexpr std::size_t max_packet = 65520;   // LARGE_PACKET_MAX in git
inline constexpr std::size_t header_size = 4;
inline constexpr std::size_t max_payload = max_packet - header_size;  // 65516

// What a read produced. `data` may be empty: "0004" is an empty data packet, which the spec
// says must not be confused with a flush.
enum class Kind { data, flush, eof };

struct Packet {
    Kind kind = Kind::eof;
    std::span<const std::uint8_t> payload;  // valid until the next read on the same Reader
};

// Decodes the 4-digit length header. Returns the total packet length (0 for flush, >= 4 for
// data) or throws Error naming the offending bytes: non-hex digits, the special packets
// 0001-0003 (not part of the filter protocol), or a length beyond max_packet.
std::size_t decode_length(std::span<const std::uint8_t, header_size> header);

// Writes the 4-digit header for a packet with `payload` bytes (payload <= max_payload).
void encode_length(std::size_t payload, std::span<std::uint8_t, header_size> out);

class Reader {
public:
    // The fd is borrowed, not closed. The buffer is at least one maximal packet.
    explicit Reader(int fd, std::size_t buffer_size = 256 * 1024);

    // One packet. End of input exactly between packets gives Kind::eof; end of input inside a
    // packet, or a malformed header, throws Error.
    Packet read();

    // A text packet: the payload without its one optional trailing LF; std::nullopt at flush.
    // Throws at end of input (a text list must end with a flush).
    std::optional<std::string> read_text();

private:
    bool fill(std::size_t need);  // false at EOF before `need` bytes are buffered

    int fd_;
    SecureBytes buf_;
    std::size_t begin_ = 0;  // first unread byte
    std::size_t end_ = 0;    // one past the last buffered byte
};

class Writer {
public:
    // The fd is borrowed. Bytes are queued until send() or until the queue is full.
    explicit Writer(int fd, std::size_t buffer_size = 256 * 1024);

    // One text packet: `line` plus LF. Throws if it does not fit in one packet.
    void text(std::string_view line);
    // Content of any size, split into full packets; nothing at all for empty content
    // (never an empty "0004" packet).
    void content(std::span<const std::uint8_t> bytes);
    void flush_packet();
    // Writes everything queued. Call at the end of each message git waits for.
    void send();

private:
    void packet(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b = {});
    void write_out(std::span<const std::uint8_t> bytes);

    int fd_;
    SecureBytes buf_;
    std::size_t used_ = 0;
};

}  // namespace gitsops::git::pkt
