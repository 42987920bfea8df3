// Internal to src/policy/: the pieces classify() is built from. Each works on bytes or on parsed
// documents and appends findings; none of them ever copies a value into a message.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.hpp"
#include "sops/sops.hpp"

namespace gitsops::policy::detail {

// ---- bytes (markers.cpp) ---------------------------------------------------------------------

// The words whose absence proves a blob harmless (apart from creation rules).
inline constexpr std::string_view kSecretMarker = "Secret";
inline constexpr std::string_view kSopsMarker = "sops";
inline constexpr std::string_view kAgeKeyMarker = "AGE-SECRET-KEY-";
inline constexpr std::string_view kPemKeyMarker = "PRIVATE KEY";

inline bool contains(std::string_view text, std::string_view word) { return text.find(word) != std::string_view::npos; }
// `word` standing alone: no letter, digit or '_' right before or after it. `kind: Secret` and
// `"kind":"Secret"` have it; imagePullSecrets, secretKeyRef and SealedSecret do not, which
// spares most Deployments a parse.
bool contains_word(std::string_view text, std::string_view word);
// The blob may name a Secret: the word, kustomize's `secretGenerator`, or a backslash, because YAML double-quoted and JSON
// strings can spell it with escapes ("\u0053ecret", "Secr\x65t", an escaped line break) that
// only a parse reveals.
bool may_name_secret(std::string_view text);
// The bytes declare a Secret as a manifest writes it: `kind: Secret`, `"kind": "Secret"`, quoted
// or not. For files that do not parse, where no tree can say it.
bool declares_secret_kind(std::string_view text);
// A Helm, Go or Jinja template (`{{`, `{%`): its values come from elsewhere at render time, and
// it is not meant to parse as it stands.
bool looks_templated(std::string_view text);
// git's heuristic: a NUL byte in the first 8000 bytes makes a blob binary.
bool looks_binary(std::string_view bytes);

struct KeyHit {
    std::string what;        // "age secret key", "OpenSSH private key", "PEM private key (RSA)", ...
    std::size_t line = 0;    // 1-based line of the marker in the blob
};
// Private key material in text: a marker followed by enough key body to be a real key, so
// documentation that only names the markers does not count.
std::vector<KeyHit> find_private_keys(std::string_view text);

// ---- documents -------------------------------------------------------------------------------

// A key path for messages: `stringData.password`, `items[2].data.token`.
class KeyPath {
public:
    void push_key(std::string_view key);
    void push_index(std::size_t index);
    void pop();
    const std::string& str() const { return text_; }

private:
    std::string text_;
    std::vector<std::size_t> marks_;
};

// Calls `visit(leaf, path)` for every leaf below `node` (scalars and comments; nulls skipped).
template <class Visit>
void for_each_leaf(const sops::Node& node, KeyPath& path, Visit& visit) {
    using T = sops::Node::Type;
    if (node.type == T::mapping) {
        for (const auto& item : node.items) {
            if (item.is_comment()) {
                visit(item.key, path);
                continue;
            }
            path.push_key(sops::sv(item.key.text));
            for_each_leaf(item.value, path, visit);
            path.pop();
        }
    } else if (node.type == T::sequence) {
        for (std::size_t i = 0; i < node.elements.size(); ++i) {
            path.push_index(i);
            for_each_leaf(node.elements[i], path, visit);
            path.pop();
        }
    } else if (node.type != T::null) {
        visit(node, path);
    }
}

inline bool is_enc(const sops::Node& leaf) {
    return leaf.type == sops::Node::Type::string && sops::sv(leaf.text).starts_with("ENC[");
}
// An empty string carries nothing, and sops leaves it unencrypted.
inline bool is_empty_string(const sops::Node& leaf) {
    return leaf.type == sops::Node::Type::string && leaf.text.empty();
}

// A blob parsed as far as the policy needs it.
struct ParsedFile {
    sops::Documents documents;
    std::optional<sops::Node> metadata;  // the raw `sops` mapping, when the file has one
    bool parsed = false;                 // false: the bytes do not parse in the path's format
    std::string parse_error;             // why, without quoting the content
};
ParsedFile parse_file(std::string_view text, sops::Format format, const sops::StoreConfig& stores);

// Where classify() collects findings for one blob.
class Findings {
public:
    explicit Findings(std::string_view path) : path_(path) {}
    void add(FindingKind kind, Severity severity, int document, std::string key_path, std::string message,
             std::string fix, int line = 0);
    bool has(FindingKind kind, int document, std::string_view key_path) const;
    // Drops `kind` findings at places where `over` already reports something.
    void drop_shadowed(FindingKind kind, FindingKind over);
    std::vector<Finding> take() { return std::move(items_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::vector<Finding> items_;
};

// ---- the checks (secrets.cpp, sopsfile.cpp, keys.cpp) ------------------------------------------

// Finding kind 1 for every Secret (also inside `*List` items) in the documents.
void check_kubernetes_secrets(const sops::Documents& documents, Findings& out);
// Finding kind 1 for a manifest that declares a Secret but does not parse: nothing can show its
// values are sealed, so it is refused rather than passed unchecked (kubectl could not apply it
// either). Templates are left alone.
void check_unparsed_secret(std::string_view text, const ParsedFile& file, sops::Format format, Findings& out);

// Finding kinds 3 and 5 for a file that carries sops metadata. `rule` is the creation rule for
// its path, if any (drift is only defined against one).
void check_sops_file(const ParsedFile& file, const std::optional<sops::CreationRule>& rule, bool strict,
                     Findings& out);

// Finding kind 4: one finding per key found in the bytes, placed at its key path when the
// parsed documents show where it sits.
void report_private_keys(const std::vector<KeyHit>& hits, const ParsedFile* file, Findings& out);

}  // namespace gitsops::policy::detail
