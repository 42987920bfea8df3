// The cluster's copy of an age key: the `sops-age` Secret Flux's kustomize-controller reads
// (namespace flux-system, one identity per `*.agekey` data entry), reached through `kubectl`.
//
// kubectl is started with an argument vector (no shell) and inherits KUBECONFIG; key material
// travels only through pipes: on kubectl's standard input when writing, on its standard output
// (`get secret -o json`, base64-decoded here in wiped memory) when reading. Never in argv, the
// environment or a file. kubectl's error lines are passed on only after any line that could
// echo key material is withheld.
//
// Changing entries of an existing Secret (rotation keeps the old key as a second entry) uses a
// JSON merge patch read from standard input (`kubectl patch --type=merge --patch-file=/dev/stdin`):
// it touches only the named entries and keeps labels and annotations. `kubectl apply -f -` is
// avoided on purpose: it would copy the whole manifest, private keys included, into the
// last-applied-configuration annotation, and cannot drop an entry of a Secret it did not create.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "age/age.hpp"
#include "base/secure.hpp"

namespace gitsops::keys {

// Where a cluster keeps its age key; defaults are Flux's convention.
struct ClusterSecret {
    std::string context;  // kubectl context; empty: kubectl's current context
    std::string namespace_name = "flux-system";
    std::string name = "sops-age";
};

// The entry holding the cluster's current key, and the one keeping the previous key during a
// rotation so that Flux decrypts commits made before and after it.
inline constexpr std::string_view kAgeKeyEntry = "age.agekey";
inline constexpr std::string_view kOldAgeKeyEntry = "age-old.agekey";

// A Secret's data entries, values decoded.
using SecretEntries = std::map<std::string, SecureBytes, std::less<>>;

class Cluster {
public:
    explicit Cluster(ClusterSecret secret, std::string kubectl = "kubectl");

    const ClusterSecret& secret() const { return secret_; }
    // The context kubectl uses: --context as given, else `kubectl config current-context`.
    // Error (one line, what to do) when kubectl is missing or no context is selected.
    const std::string& context();
    // "secret flux-system/sops-age (context kind-dev)".
    std::string describe();

    // The Secret's entries; nullopt when it does not exist.
    std::optional<SecretEntries> read();
    // Creates the Secret with one entry: `kubectl create secret generic NAME
    // --namespace=NS --from-file=ENTRY=/dev/stdin`, the value on standard input.
    void create(std::string_view entry, std::span<const std::uint8_t> value);
    // Sets (value) or removes (nullopt) entries of the existing Secret, leaving the others.
    struct EntryChange {
        std::string entry;
        std::optional<SecureBytes> value;
    };
    void update(const std::vector<EntryChange>& changes);

private:
    struct Result;
    Result kubectl(std::vector<std::string> args, std::span<const std::uint8_t> input, std::string_view verb,
                   std::span<const std::span<const std::uint8_t>> secrets = {});
    std::vector<std::string> base_args();

    ClusterSecret secret_;
    std::string kubectl_;
    std::optional<std::string> resolved_context_;
};

// Identities of every `*.agekey` entry, parsed as Flux imports them (one per line, `#` comments).
// A broken entry is an Error naming the entry (never its content).
age::Identities agekey_identities(const SecretEntries& entries);
// The public key (age1…) of each identity in one entry, in order.
std::vector<std::string> entry_recipients(const SecretEntries& entries, std::string_view entry);

namespace cluster_detail {
// The `.data` mapping of a `kubectl get secret -o json` document, values base64-decoded.
// Error when the document is not a JSON object or a value is not base64.
SecretEntries parse_secret_json(std::span<const std::uint8_t> json);
// The JSON merge patch `update` sends: {"data":{"ENTRY":"BASE64" or null,...}}.
SecureBytes merge_patch(const std::vector<Cluster::EntryChange>& changes);
// kubectl's standard error reduced to one line for the user: the first non-empty line, or
// "[withheld]" when it holds any of `secrets` (raw or base64) or an AGE-SECRET-KEY.
std::string error_line(std::string_view stderr_text, std::span<const std::span<const std::uint8_t>> secrets);
}  // namespace cluster_detail

}  // namespace gitsops::keys
