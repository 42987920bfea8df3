// The pkt-line reader of the filter protocol (src/git/pktline.hpp), on the bytes git would send.
// Properties: malformed framing is rejected with gitsops::Error only; a stream that reads to the
// end re-encodes (lowercase hex) to bytes that read back to the same packets; any content written
// by the Writer reads back byte for byte, split at max_payload, followed by the flush; text packets
// come back without their LF.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "git/pktline.hpp"

using namespace gitsops;
namespace pkt = gitsops::git::pkt;

namespace {

struct Read {
    pkt::Kind kind;
    std::vector<std::uint8_t> payload;
    bool operator==(const Read&) const = default;
};

// Every packet up to EOF; false when the reader threw (the packets before it are kept).
bool read_all(std::span<const std::uint8_t> bytes, std::vector<Read>& out) {
    fuzz::MemFd in(bytes);
    pkt::Reader reader(in.fd());
    try {
        for (;;) {
            pkt::Packet p = reader.read();
            if (p.kind == pkt::Kind::eof) return true;
            FUZZ_CHECK(p.kind == pkt::Kind::flush || p.payload.size() <= pkt::max_payload);
            FUZZ_CHECK(p.kind == pkt::Kind::data || p.payload.empty());
            out.push_back({p.kind, {p.payload.begin(), p.payload.end()}});
        }
    } catch (const Error&) {
        return false;
    }
}

// The canonical encoding of packets: lowercase hex headers, "0000" flushes.
std::vector<std::uint8_t> encode(const std::vector<Read>& packets) {
    std::vector<std::uint8_t> out;
    for (const Read& r : packets) {
        std::uint8_t header[pkt::header_size] = {'0', '0', '0', '0'};
        if (r.kind == pkt::Kind::data) pkt::encode_length(r.payload.size(), header);
        out.insert(out.end(), header, header + pkt::header_size);
        out.insert(out.end(), r.payload.begin(), r.payload.end());
    }
    return out;
}

void check_reencoding(std::span<const std::uint8_t> input) {
    std::vector<Read> packets;
    if (!read_all(input, packets)) return;
    const std::vector<std::uint8_t> again = encode(packets);
    FUZZ_CHECK(again.size() == input.size());  // only header digits' case may differ
    std::vector<Read> reread;
    FUZZ_CHECK(read_all(again, reread));
    FUZZ_CHECK(reread == packets);
}

void check_writer(std::span<const std::uint8_t> content) {
    fuzz::MemFd out;
    {
        pkt::Writer writer(out.fd(), 0);  // smallest buffer: content larger than it sends early
        writer.content(content);
        writer.flush_packet();
        writer.send();
    }
    out.rewind();
    pkt::Reader reader(out.fd());
    std::vector<std::uint8_t> back;
    for (;;) {
        pkt::Packet p = reader.read();
        FUZZ_CHECK(p.kind != pkt::Kind::eof);
        if (p.kind == pkt::Kind::flush) break;
        FUZZ_CHECK(!p.payload.empty());  // content never writes an empty packet
        back.insert(back.end(), p.payload.begin(), p.payload.end());
    }
    FUZZ_CHECK(reader.read().kind == pkt::Kind::eof);
    FUZZ_CHECK(std::equal(back.begin(), back.end(), content.begin(), content.end()));
}

// Each line of the input as one text packet.
void check_text(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t start = 0; start <= text.size();) {
        const std::size_t eol = std::min(text.find('\n', start), text.size());
        lines.push_back(text.substr(start, eol - start));
        start = eol + 1;
    }
    fuzz::MemFd out;
    {
        pkt::Writer writer(out.fd());
        for (std::string_view line : lines) writer.text(line);
        writer.flush_packet();
        writer.send();
    }
    out.rewind();
    pkt::Reader reader(out.fd());
    for (std::string_view line : lines) {
        std::optional<std::string> got = reader.read_text();
        FUZZ_CHECK(got.has_value() && *got == line);
    }
    FUZZ_CHECK(!reader.read_text().has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    check_reencoding(input);
    check_writer(input);
    if (size < pkt::max_payload) check_text(fuzz::text_of(data, size));
    return 0;
}
