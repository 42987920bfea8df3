// The life of a cluster's age key in a GitOps repository: the one public header of the
// lifecycle module (above git/, keys/ and sops/; called by cli/).
//
//   init        new X25519 keypair in memory -> the cluster's `sops-age` Secret -> the public key
//               into the creation rule in .sops.yaml (a text edit keeping comments) -> the private
//               key printed once for the password manager
//   edit        create-or-edit one file: decrypt into a 0600 file on tmpfs, run the editor,
//               re-encrypt with the same data key and IVs of unchanged values, atomic write
//   rotate      new keypair; every file of the rule re-encrypted for it (new data keys); the
//               cluster keeps the old key beside the new one until `rotate --finish`; journaled,
//               so a crash at any step leaves files the old or the new key opens, and a rerun
//               resumes (or `--abort` rolls back)
//   updatekeys  re-wraps data keys for the recipients the rule lists now; values untouched
//   status      per file: encrypted, recipients vs rule, MAC; filter and hooks; the cluster key
//   resolve     a merge conflict in a sops file: both values per key path in the editor, the
//               chosen ones encrypted and staged
//
// Identities come from sops' own discovery (SOPS_AGE_KEY*, key files, ssh keys) first, then from
// the cluster recorded for the file's recipients or rule, read through kubectl into memory only.
// What is remembered lives under the git dir and never includes a private key (state.hpp).
//
// Test hook: GIT_SOPS_TEST_CRASH_AT=<step> makes the process kill itself with SIGKILL at that
// step, as a power cut would (rotate: planned, key-stored, file-<n> after the n-th file is
// written and before the journal records it, config, finish). Nothing else reads it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gitsops::lifecycle {

// Which cluster: flags override what init recorded for the rule; defaults are Flux's convention.
struct ClusterOptions {
    std::optional<std::string> context;         // --context (default: kubectl's current context)
    std::optional<std::string> namespace_name;  // --namespace (default flux-system)
    std::optional<std::string> secret;          // --secret (default sops-age)
    bool no_cluster = false;                    // --no-cluster: the key is kept by the user only
};

struct InitOptions {
    std::string rule;  // --rule: position (1 = first) or path_regex; a new path_regex adds a rule
    ClusterOptions cluster;
    bool force = false;  // replace an existing key: a rotation
};
void init(const InitOptions& options);

struct EditOptions {
    std::string file;
    bool allow_disk = false;  // accept a scratch folder on persistent disk when no tmpfs is found
    ClusterOptions cluster;
};
// Error(file_not_modified = 200) when the file was not changed (nothing written).
void edit(const EditOptions& options);

struct RotateOptions {
    std::string rule;
    ClusterOptions cluster;
    bool finish = false;  // drop the old key from the cluster once Flux applied the rotated files
    bool abort = false;   // roll an interrupted rotation back
};
void rotate(const RotateOptions& options);

struct UpdatekeysOptions {
    std::vector<std::string> files;
    bool all = false;  // every tracked file a rule routes
    bool yes = false;  // no confirmation
    ClusterOptions cluster;
};
void updatekeys(const UpdatekeysOptions& options);

struct ResolveOptions {
    std::string file;
    enum class Pick { ask, ours, theirs } pick = Pick::ask;  // --ours / --theirs: no editor
    bool allow_disk = false;
};
// `git sops resolve FILE` after a merge driver conflict: merges the three staged versions again,
// shows each conflicting value from both sides in the editor (a file on tmpfs) or takes one side,
// then stages the encrypted result and writes the worktree file in the worktree's mode.
void resolve(const ResolveOptions& options);

struct StatusOptions {
    bool check_cluster = false;  // --cluster: compare the cluster's key with the rule
    ClusterOptions cluster;
};
// Prints the report; returns false when something needs attention.
bool status(const StatusOptions& options);

}  // namespace gitsops::lifecycle
