// Internal to the scans (scan.cpp): the Scanner that reads trees and blobs through libgit2 and
// classifies each (blob, .sops.yaml, path) triple once, and the assembly of what it found (the
// refs a push names, then its commits) into a ScanResult.
//
// Cost model, for the 5 s pre-receive budget and whole histories: commits are diffed against
// their parents by `git diff-tree` (history.hpp), which skips identical subtrees by id, so a
// commit costs the trees on the paths it changed plus the blobs it changed; blobs are read by
// `git cat-file` only for triples not classified yet.
#pragma once

#include <git2.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "git/history.hpp"
#include "git/repo.hpp"
#include "git/scan.hpp"
#include "sops/sops.hpp"

namespace gitsops::git::scanning {

using detail::Handle;

inline constexpr const char* kConfigName = ".sops.yaml";

[[noreturn]] void throw_git(std::string_view action);
void check(int rc, std::string_view action);
std::string hex(const git_oid& id);
std::string_view raw_bytes(const git_oid& id);
// Regular files only: symlinks hold a target path and gitlinks a commit of another repository.
bool is_file_mode(std::uint32_t mode);
Handle<git_tree> lookup_tree(git_repository* repo, const git_oid& id);
// The id of the tree's top-level .sops.yaml blob; all zeros when it has none.
git_oid config_id_of(const git_tree* tree);

// Where findings come from: a commit, or (empty) the index or a single tree.
struct Origin {
    std::string commit, summary;
};

struct Change {
    std::string path;
    git_oid blob;
};

// What one (blob, config, path) triple holds, and the oldest commit found to have it.
struct Verdict {
    std::size_t rank;  // walk position of `origin` (the walk goes newest first); SIZE_MAX: none
    Origin origin;
    std::vector<policy::Finding> findings;
};

// Everything one Scanner found, verdicts in the order they were first reached.
struct Part {
    std::vector<std::pair<std::string, Verdict>> verdicts;  // keyed by triple
    std::vector<std::string> notes;
    std::size_t commits = 0;
};

class Scanner {
public:
    Scanner(git_repository* repo, const ScanOptions& options);

    // Every file of a tree, against the tree's own .sops.yaml.
    void check_tree(const git_tree* tree, const Origin& origin);
    void check_changes(const std::vector<Change>& changes, const git_oid& config, const Origin& origin);
    void check_blob(const git_oid& blob, std::string_view path, const git_oid& config_id, const Origin& origin,
                    std::size_t rank = SIZE_MAX);
    // Commits in walk order (children first); `first_position` is the walk position of ids[0].
    void check_commits(std::span<const git_oid> ids, std::size_t first_position);
    Part take() { return std::move(part_); }

    // What a history walk needs of a commit (read with libgit2 before git diffs them).
    struct Commit {
        git_oid id, tree;
        std::vector<git_oid> parents;
        std::string summary;
    };

private:
    // A triple not seen before, waiting for its blob's bytes.
    struct Pending {
        std::size_t verdict;  // index in part_.verdicts
        git_oid blob;
        const sops::Config* config;
    };

    Commit read_commit(const git_oid& id);
    void check_commit(const Commit& commit, std::size_t position, DiffStream& diffs, BlobReader& blobs);
    // The index of a new verdict for the triple, or nullopt when it was seen (then it moves to
    // `rank` if that is older).
    std::optional<std::size_t> claim(const git_oid& blob, std::string_view path, const git_oid& config_id,
                                     const Origin& origin, std::size_t rank);
    // Classifies the oldest pending triple with its blob's answer from `blobs`.
    void classify_next(BlobReader& blobs);
    const sops::Config* config(const git_oid& id, const Origin& origin);

    git_repository* repo_;
    std::string git_dir_;
    ScanOptions options_;
    Part part_;
    std::unordered_map<std::string, std::size_t> seen_;  // triple -> index in part_
    std::unordered_map<std::string, std::optional<sops::Config>> configs_;
    std::deque<Pending> pending_;  // in the order their blobs were requested
    std::vector<RawChange> raw_;  // one diff section, reused
};

// One result from the parts: each triple once, at its oldest commit; findings in
// history order (without a commit first, then oldest commit first); notes without repeats.
ScanResult assemble(std::vector<Part> parts);

// Process-wide libgit2 settings for reading many objects once each.
void tune_libgit2_for_scans();


}  // namespace gitsops::git::scanning
