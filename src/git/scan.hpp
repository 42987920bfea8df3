// Scans: which blobs of a repository the policy classifier looks at, and against which
// `.sops.yaml`. Shared by the pre-commit and pre-receive hooks and `git sops check`.
//
// Every blob is judged against the `.sops.yaml` of the same revision (a blob, never the file in
// the worktree). Histories are walked commit by commit and each commit is diffed against its
// parents, so only the blobs it changes are read; a (blob, path, config) triple is classified
// once per scan. When a commit changes `.sops.yaml`, rules may now cover files it did not touch,
// so that commit's whole tree is checked. History walks need the whole history: in a shallow
// clone they throw (libgit2 1.5 cannot walk one); index and tree scans work anywhere.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "git/repo.hpp"
#include "policy/report.hpp"

namespace gitsops::git {

struct ScanOptions {
    bool strict = false;  // recipient drift is an error
};

struct ScanResult {
    std::vector<policy::Occurrence> findings;  // in walk order, oldest commit first
    std::vector<std::string> notes;            // what the scan had to work around (one line each)
    std::size_t commits = 0;                   // commits diffed
    std::size_t blobs = 0;                     // blobs classified
    bool has_errors() const;
};

// The index (honouring GIT_INDEX_FILE) against HEAD, or every staged file when HEAD is unborn:
// added, modified and type-changed files, against the staged `.sops.yaml`.
ScanResult scan_index(const Repository& repo, const ScanOptions& options);
// Every file of the tree of `rev` (a commit or a tree) against that tree's `.sops.yaml`.
ScanResult scan_tree(const Repository& repo, std::string_view rev, const ScanOptions& options);
// The commits of `A..B` (reachable from B, not from A).
ScanResult scan_range(const Repository& repo, std::string_view range, const ScanOptions& options);
// Every commit reachable from any ref or HEAD.
ScanResult scan_all(const Repository& repo, const ScanOptions& options);

// One line of a pre-receive hook's input: "<old-id> <new-id> <ref>".
struct RefUpdate {
    std::string old_id, new_id, ref;
    bool deletes() const;
    bool creates() const;
};
// Object ids are 40 (SHA-1) or 64 (SHA-256) hex digits; an all-zero id is "no object".
// Error naming the line for anything else.
std::vector<RefUpdate> parse_ref_updates(std::string_view text);
bool is_zero_id(std::string_view hex);

// What a push adds: the commits reachable from the new tips and from no existing ref (so new
// branches, force pushes and tags are handled alike, and commits the server has are not read
// again). A tag or ref naming a tree or a blob has that tree or blob checked.
ScanResult scan_push(const Repository& repo, std::span<const RefUpdate> updates, const ScanOptions& options);

}  // namespace gitsops::git
