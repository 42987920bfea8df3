#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "git/harness.hpp"
#include "git/pktline.hpp"

using namespace gitsops;
using namespace gitsops::git;
using testgit::Feed;
using testgit::Sink;

namespace {

std::size_t decode(std::string_view h) {
    return pkt::decode_length(std::span<const std::uint8_t, 4>(bytes_of(h).data(), 4));
}

std::string encode(std::size_t payload) {
    std::uint8_t out[4];
    pkt::encode_length(payload, out);
    return std::string(view_of(out));
}

std::string packet(std::string_view payload) { return encode(payload.size()) + std::string(payload); }

// Every packet of `bytes` as text: payloads as they are, flushes as "0000".
std::vector<std::string> packets(const std::string& bytes, std::size_t chunk = 1 << 20) {
    Feed feed(bytes, chunk);
    pkt::Reader r(feed.fd());
    std::vector<std::string> out;
    for (;;) {
        auto p = r.read();
        if (p.kind == pkt::Kind::eof) return out;
        out.push_back(p.kind == pkt::Kind::flush ? "0000" : std::string(view_of(p.payload)));
    }
}

std::string packets_text(const std::vector<std::string>& payloads) {
    std::string out;
    for (const auto& p : payloads) out += packet(p);
    return out;
}

std::string error_of(const std::string& bytes) {
    try {
        packets(bytes);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("pkt-line lengths: 4 hex digits counting themselves") {
    CHECK(encode(0) == "0004");
    CHECK(encode(2) == "0006");
    CHECK(encode(pkt::max_payload) == "fff0");
    CHECK(pkt::max_payload == 65516);
    CHECK(decode("0000") == 0);
    CHECK(decode("0004") == 4);
    CHECK(decode("fff0") == 65520);
    CHECK(decode("FFF0") == 65520);  // git's reader takes upper case too
    CHECK(decode("00aB") == 0xab);
}

TEST_CASE("pkt-line lengths: malformed headers are rejected with the bytes shown") {
    CHECK_THROWS_WITH(decode("00zz"), Catch::Contains("invalid pkt-line length '00zz'"));
    CHECK_THROWS_WITH(decode("-001"), Catch::Contains("'-001'"));
    CHECK_THROWS_WITH(decode(std::string_view("\x01\x02" "00", 4)), Catch::Contains("\\x01\\x02"));
    for (const char* special : {"0001", "0002", "0003"})
        CHECK_THROWS_WITH(decode(special), Catch::Contains("unexpected special pkt-line"));
    CHECK_THROWS_WITH(decode("fff1"), Catch::Contains("exceeds the maximum of 65520"));
    CHECK_THROWS_WITH(decode("ffff"), Catch::Contains("65535"));
}

TEST_CASE("pkt-line reader: data, flush, empty data packet and end of input") {
    auto got = packets("0006a\n" "0000" "0004" "0005b" "0000");
    CHECK(got == std::vector<std::string>{"a\n", "0000", "", "b", "0000"});
    CHECK(packets("").empty());
}

TEST_CASE("pkt-line reader: text packets with or without LF") {
    Feed feed("000ccommand\n" "0009hello" "0005\n" "0000");
    pkt::Reader r(feed.fd());
    CHECK(r.read_text() == "command");
    CHECK(r.read_text() == "hello");
    CHECK(r.read_text() == "");
    CHECK(r.read_text() == std::nullopt);
    CHECK_THROWS_WITH(r.read_text(), Catch::Contains("unexpected end of input"));
}

TEST_CASE("pkt-line reader: truncation and bad lengths mid-stream are errors, never a wait") {
    CHECK_THROWS_WITH(packets("0008ab"), Catch::Contains("got 6 of 8 bytes"));
    CHECK_THROWS_WITH(packets("00"), Catch::Contains("inside a pkt-line header (2 of 4 bytes)"));
    CHECK_THROWS_WITH(packets("0006a\n00zz"), Catch::Contains("invalid pkt-line length '00zz'"));
    CHECK_THROWS_WITH(packets("0006a\n0003"), Catch::Contains("unexpected special pkt-line '0003'"));
    CHECK_THROWS_WITH(packets("fff1" + std::string(65517, 'x')), Catch::Contains("exceeds the maximum"));
    CHECK(error_of(packets_text({"ok"}) + "0010short") != "");
}

TEST_CASE("pkt-line reader: a maximal packet and packets split across reads and buffer refills") {
    const std::string big(pkt::max_payload, 'q');
    std::string stream;
    std::vector<std::string> want;
    for (int i = 0; i < 40; ++i) {  // about 2.6 MB: the 256 KiB buffer is refilled and compacted
        const std::string small = "line " + std::to_string(i) + "\n";
        stream += packet(big) + packet(small) + "0000";
        want.insert(want.end(), {big, small, "0000"});
    }
    CHECK(packets(stream) == want);
    CHECK(packets(stream, 7) == want);  // the writer dribbles: every header straddles reads
}

TEST_CASE("pkt-line writer: text, flush, and content split into maximal packets") {
    Sink sink;
    pkt::Writer w(sink.fd());
    w.text("git-filter-server");
    w.flush_packet();
    std::string content(3 * pkt::max_payload + 3452, 'z');
    content[0] = 'A';
    content.back() = 'Z';
    w.content(bytes_of(content));
    w.content({});  // empty content: no packet at all, never "0004"
    w.flush_packet();
    w.send();
    const std::string out = sink.text();
    CHECK(out.substr(0, 26) == "0016git-filter-server\n0000");
    auto got = packets(out);
    REQUIRE(got.size() == 7);
    CHECK(got[2].size() == pkt::max_payload);
    CHECK(got[3].size() == pkt::max_payload);
    CHECK(got[4].size() == pkt::max_payload);
    CHECK(got[5].size() == 3452);
    CHECK(got[2] + got[3] + got[4] + got[5] == content);
    CHECK(got[6] == "0000");
}

TEST_CASE("pkt-line writer: a text line that does not fit one packet is refused") {
    Sink sink;
    pkt::Writer w(sink.fd());
    w.text(std::string(pkt::max_payload - 1, 'a'));  // plus LF: exactly the maximum
    CHECK_THROWS_WITH(w.text(std::string(pkt::max_payload, 'a')), Catch::Contains("exceeds the maximum of 65516"));
    w.send();
    CHECK(sink.text().size() == pkt::max_packet);
}

TEST_CASE("pkt-line writer: more than the buffer holds goes out in order") {
    Sink sink;
    pkt::Writer w(sink.fd(), 1);  // the buffer is still one maximal packet
    std::vector<std::string> want;
    for (int i = 0; i < 100; ++i) {  // 100 kB of packets through a 64 kB buffer
        const std::string line = "entry=" + std::to_string(i) + std::string(1000, '.');
        w.text(line);
        want.push_back(line + "\n");
    }
    w.send();
    CHECK(packets(sink.text()) == want);
}
