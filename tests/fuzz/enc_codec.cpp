// The ENC[AES256_GCM,...] value codec (src/sops/cipher.hpp) under a fixed data key.
// Input: an optional AAD line (the key path sops authenticates, e.g. "data:password:") then the
// value text. Properties: a value that does not decrypt is rejected with gitsops::Error only;
// split_encrypted's fields are pieces of the value; a decrypted leaf re-encrypts (with the IV it
// was stashed with) to a value that decrypts to the same leaf, and, given the stash again, to
// the same text; under another AAD it never decrypts. The input's bytes as a leaf of each type
// (str, int, float, bool, comment) round-trip through encrypt -> decrypt.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "sops/cipher.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

// The data key of the flux kustomize-controller fixture (tests/unit/sops/engine_cipher_test.cpp):
// its ENC values in the seed corpus decrypt, so mutations start from real ciphertexts.
const DataKey& data_key() {
    static const DataKey key = [] {
        constexpr std::string_view hex = "558e95c88337865c839703a4e892c03eed324ae6bbcb65c2989558e1a55825bb";
        std::uint8_t raw[32];
        for (std::size_t i = 0; i < 32; ++i)
            raw[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
        return DataKey(std::span<const std::uint8_t>(raw));
    }();
    return key;
}

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Same type and same bytes (NaN compares unequal as a double, not as text).
bool same_leaf(const Node& a, const Node& b) {
    return a.type == b.type && leaf_bytes(a) == leaf_bytes(b);
}

bool decrypts(const ValueCipher& cipher, std::string_view value, std::string_view aad) {
    try {
        (void)cipher.decrypt(value, aad);
        return true;
    } catch (const Error&) {
        return false;
    }
}

void check_value(std::string_view value, std::string_view aad) {
    if (auto f = split_encrypted(value)) {
        FUZZ_CHECK(inside(f->data, value) && inside(f->iv, value) && inside(f->tag, value) && inside(f->type, value));
        FUZZ_CHECK(is_encrypted_value(value));
    }
    IvStash stash;
    const ValueCipher cipher(data_key(), &stash);
    Node leaf;
    try {
        leaf = cipher.decrypt(value, aad);
    } catch (const Error&) {
        return;
    }
    if (value.empty()) return;
    const std::string again = cipher.encrypt(leaf, aad);  // reuses the stashed IV
    if (again.empty()) {
        FUZZ_CHECK(leaf_bytes(leaf).empty());
        return;
    }
    FUZZ_CHECK(same_leaf(ValueCipher(data_key(), nullptr).decrypt(again, aad), leaf));
    IvStash stash2;
    const ValueCipher cipher2(data_key(), &stash2);
    (void)cipher2.decrypt(again, aad);
    FUZZ_CHECK(cipher2.encrypt(leaf, aad) == again);
    FUZZ_CHECK(!decrypts(cipher, value, std::string(aad) + "x"));
}

void round_trip(const Node& leaf, std::string_view aad) {
    const ValueCipher cipher(data_key(), nullptr);
    const std::string enc = cipher.encrypt(leaf, aad);
    if (enc.empty()) {  // sops leaves empty strings and comments unencrypted
        FUZZ_CHECK(leaf_bytes(leaf).empty());
        return;
    }
    FUZZ_CHECK(is_encrypted_value(enc));
    Node back = cipher.decrypt(enc, aad);
    FUZZ_CHECK(same_leaf(back, leaf));
    FUZZ_CHECK(!decrypts(cipher, enc, std::string(aad) + ":"));
}

template <class T>
T load(std::string_view bytes) {
    T v{};
    std::memcpy(&v, bytes.data(), std::min(sizeof v, bytes.size()));
    return v;
}

void check_leaves(std::string_view text, std::string_view aad) {
    round_trip(Node::string(text), aad);
    round_trip(Node::comment(text), aad);
    round_trip(Node::integer(load<std::int64_t>(text)), aad);
    round_trip(Node::floating(load<double>(text)), aad);
    round_trip(Node::boolean(!text.empty() && (text[0] & 1)), aad);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view value = fuzz::text_of(data, size);
    std::string_view aad;
    if (const std::size_t nl = value.find('\n'); nl != std::string_view::npos) {
        aad = value.substr(0, nl);
        value.remove_prefix(nl + 1);
    }
    check_value(value, aad);
    check_leaves(value, aad);
    return 0;
}
