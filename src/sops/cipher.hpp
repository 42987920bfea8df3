// The value codec: ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<type>] (sops aes/cipher.go).
// Internal to src/sops/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sops/sops.hpp"

namespace gitsops::sops {

// sops' type tag of a leaf: "str", "int", "float", "bool", "time" or "comment".
std::string_view type_tag(const Node& leaf);
// The bytes sops encrypts and hashes for a leaf (sops.go ToBytes): strings raw, ints decimal,
// floats Go 'f' -1, bools True/False, times RFC 3339 with nanoseconds, comments their text.
SString leaf_bytes(const Node& leaf);

// The four base64/text fields of an ENC[...] string, with the reader regex's semantics
// (`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`: anchored at the start only,
// greedy groups, `.` never matching a newline).
struct EncryptedFields {
    std::string_view data, iv, tag, type;
};
std::optional<EncryptedFields> split_encrypted(std::string_view text);
inline bool is_encrypted_value(std::string_view text) { return split_encrypted(text).has_value(); }

// Why a value did not decrypt; never contains the value.
class CipherError : public Error {
public:
    explicit CipherError(std::string what) : Error(std::move(what), exit_code::error_decrypting_tree) {}
};

class ValueCipher {
public:
    ValueCipher(const DataKey& key, IvStash* stash) : key_(key), stash_(stash) {}

    // The ENC[...] string of a leaf; "" for an empty string or comment (sops leaves those as
    // they are). Reuses a stashed IV for the same (type, plaintext, AAD), else a random one.
    std::string encrypt(const Node& leaf, std::string_view aad) const;
    // Encrypts raw text as type str (the MAC).
    std::string encrypt_text(std::string_view text, std::string_view aad) const;
    // The typed leaf of an ENC[...] string; "" gives an empty string. Comments come back
    // non-inline, as sops' cipher returns them. Records the IV in the stash. Throws CipherError.
    Node decrypt(std::string_view text, std::string_view aad) const;

private:
    std::string seal(std::string_view type, std::span<const std::uint8_t> plaintext, std::string_view aad) const;

    const DataKey& key_;
    IvStash* stash_;
};

}  // namespace gitsops::sops
