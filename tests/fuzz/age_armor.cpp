// ASCII armor (src/age/armor.hpp).
// Properties: bad armor is rejected with gitsops::Error only; what decodes re-encodes to
// canonical armor that decodes to the same bytes, and canonical armor is a fixed point; any
// bytes encode (also through the streaming Writer, fed in uneven pieces) to armor that decodes
// back to them and looks armored; an age file encrypted with armor to a fixed identity decrypts
// (armor detected) back to the input.
#include <cstdint>
#include <string>
#include <vector>

#include "age/age.hpp"
#include "age/armor.hpp"
#include "base/error.hpp"
#include "fuzz_util.hpp"

using namespace gitsops;
using namespace gitsops::age;

namespace {

constexpr std::string_view kIdentity = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

const Identities& identities() {
    static const Identities ids = parse_identity_file(bytes_of(kIdentity), "fuzz identity");
    return ids;
}

bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void check_decode(std::span<const std::uint8_t> input) {
    (void)armor::looks_armored(input.first(std::min(input.size(), armor::kMaxWhitespace + armor::kBegin.size())));
    std::vector<std::uint8_t> decoded;
    try {
        decoded = armor::decode(input);
    } catch (const Error&) {
        return;
    }
    const std::string canonical = armor::encode(decoded);
    FUZZ_CHECK(equal(armor::decode(bytes_of(canonical)), decoded));
    FUZZ_CHECK(armor::encode(armor::decode(bytes_of(canonical))) == canonical);
}

void check_encode(std::span<const std::uint8_t> input) {
    const std::string text = armor::encode(input);
    FUZZ_CHECK(equal(armor::decode(bytes_of(text)), input));
    FUZZ_CHECK(armor::looks_armored(bytes_of(text).first(std::min(text.size(), armor::kMaxWhitespace))));

    // The streaming writer, fed in pieces whose sizes come from the input itself.
    MemorySink sink;
    armor::Writer writer(sink);
    for (std::size_t off = 0, i = 0; off < input.size(); ++i) {
        const std::size_t n = std::min<std::size_t>(input.size() - off, 1 + input[i % input.size()] % 97);
        writer.write(input.subspan(off, n));
        off += n;
    }
    writer.finish();
    FUZZ_CHECK(view_of(sink.data) == text);
}

void check_age(std::span<const std::uint8_t> input) {
    Recipients recipients;
    recipients.push_back(identities().front()->recipient());
    const std::string file = encrypt(recipients, input, true);
    FUZZ_CHECK(file.starts_with(armor::kBegin));
    FUZZ_CHECK(equal(decrypt(identities(), bytes_of(file)), input));
    try {
        (void)decrypt(identities(), input);
    } catch (const Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    check_decode(input);
    check_encode(input);
    check_age(input);
    return 0;
}
