// The plaintext-secret policy: the one public header of the policy module.
//
// One classifier, shared by the clean filter (refuse to stage), the pre-commit and pre-receive
// hooks and `git sops check`. It works on blob bytes, the blob's path and the `.sops.yaml` of the
// same revision; it never needs a private key and never puts a secret value in a message.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sops/sops.hpp"

namespace gitsops::policy {

enum class Severity : std::uint8_t { error, warning };

enum class FindingKind : std::uint8_t {
    plaintext_secret,    // a Kubernetes Secret whose data/stringData holds a value that is not ENC[
    rule_not_encrypted,  // the path matches a creation rule but the content is not a complete sops file
    partly_plaintext,    // a sops file with a value its selectors require encrypted left in clear,
                         // no mac/version, or an ENC[ value that does not parse
    private_key,         // AGE-SECRET-KEY-1…, OpenSSH or PEM private key material
    recipient_drift,     // a sops file whose age recipients differ from its creation rule's
};
const char* kind_name(FindingKind kind);  // "plaintext-secret", "rule-not-encrypted", ...

struct Finding {
    FindingKind kind;
    Severity severity;
    std::string path;      // the blob's path in the repository
    int document = -1;     // 0-based document index in a multi-document file, -1 when not applicable
    std::string key_path;  // e.g. "stringData.password"; empty when not applicable
    std::string message;   // one line, never a secret value
    std::string fix;       // one line: what the user should do
    int line = 0;          // 1-based line in the blob when known (private keys), else 0
};

struct Context {
    // The `.sops.yaml` of the revision being checked (at the repository root); nullopt when the
    // revision has none.
    const sops::Config* config = nullptr;
    bool strict = false;  // recipient drift becomes an error
};

// Everything the policy finds in one blob. Unknown formats and binary blobs return quickly.
std::vector<Finding> classify(std::span<const std::uint8_t> blob, std::string_view path, const Context& context);

// Only the plaintext-Secret check (finding kind 1), for the clean filter on paths no rule covers.
std::vector<Finding> plaintext_secrets(std::span<const std::uint8_t> blob, std::string_view path);

// Cheap prefilter: false when no finding is possible (binary, or text with no `Secret` standing
// as a word, no `sops` and no key marker; and no rule for the path), so callers can skip parsing.
bool may_have_findings(std::span<const std::uint8_t> blob, std::string_view path, const Context& context);

// One line for a terminal: "path[:doc N][: key]: message (fix)".
std::string format_text(const Finding& finding);

}  // namespace gitsops::policy
