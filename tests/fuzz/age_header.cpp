// The age v1 header and stanza parser (src/age/format.hpp) and, behind it, decryption.
// Properties: a bad header is rejected with gitsops::Error only; a parsed header is canonical
// (re-serialising its stanzas and MAC gives back exactly the bytes it was read from, and the MAC
// input it recorded) and parses again to the same stanzas; the payload read through the LineReader
// continues right after the header; decrypting with a fixed identity either fails with an Error or succeeds;
// encrypting the input to that identity decrypts back to the input.
#include <cstdint>
#include <string>
#include <vector>

#include "age/age.hpp"
#include "age/format.hpp"
#include "base/error.hpp"
#include "fuzz_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

// The identity of most CCTV vectors: seeds built from them decrypt, so mutations reach the payload.
constexpr std::string_view kIdentity = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

const Identities& identities() {
    static const Identities ids = parse_identity_file(bytes_of(kIdentity), "fuzz identity");
    return ids;
}

void check_header(std::span<const std::uint8_t> input) {
    format::Header h;
    try {
        h = format::parse_header(input);
    } catch (const Error&) {
        return;
    }
    FUZZ_CHECK(h.size <= input.size());
    const std::string text = format::serialise_header(h.stanzas, h.mac);
    FUZZ_CHECK(text == fuzz::text_of(input.data(), h.size));
    FUZZ_CHECK(format::mac_input(h.stanzas) == h.mac_input);
    for (const Stanza& s : h.stanzas) FUZZ_CHECK(!s.type.empty());

    const format::Header again = format::parse_header(bytes_of(text));
    FUZZ_CHECK(again.stanzas == h.stanzas && again.mac == h.mac && again.size == h.size);

    MemorySource source(input);
    format::LineReader reader(source);
    const format::Header streamed = format::parse_header(reader);
    FUZZ_CHECK(streamed.stanzas == h.stanzas && streamed.mac == h.mac && streamed.size == h.size);
    // The payload continues right after the header.
    std::vector<std::uint8_t> rest(input.size() - h.size + 1);
    std::size_t got = 0;
    while (std::size_t n = reader.read(std::span(rest).subspan(got))) got += n;
    FUZZ_CHECK(got == input.size() - h.size);
    FUZZ_CHECK(std::equal(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(got), input.begin() + static_cast<std::ptrdiff_t>(h.size)));
}

void check_decrypt(std::span<const std::uint8_t> input) {
    try {
        (void)decrypt(identities(), input);
    } catch (const Error&) {
    }
}

void check_round_trip(std::span<const std::uint8_t> plaintext) {
    Recipients recipients;
    recipients.push_back(identities().front()->recipient());
    const std::string file = encrypt(recipients, plaintext, false);
    const SecureBytes back = decrypt(identities(), bytes_of(file));
    FUZZ_CHECK(std::equal(back.begin(), back.end(), plaintext.begin(), plaintext.end()));
    FUZZ_CHECK(read_stanzas(bytes_of(file)).size() == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    check_header(input);
    check_decrypt(input);
    check_round_trip(input);
    return 0;
}
