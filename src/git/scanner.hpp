// Internal to the scans (scan.cpp): the Scanner that reads trees and blobs through libgit2 and
// classifies each (blob, .sops.yaml, path) triple once, and the assembly of what it found (the
// refs a push names, then its commits) into a ScanResult.
//
// Cost model, for the 5 s pre-receive budget and whole histories: commits are diffed against
// their parents tree by tree, skipping identical subtrees by id, so a commit costs the trees on
// the paths it changed plus the blobs it changed.
#pragma once

#include <git2.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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

// The trees the last two commit diffs read. History is walked newest first, so on a linear
// history the trees a diff needs on the parent's side are those the previous diff read on the
// child's side: each tree is then read from the pack once. (libgit2's own cache caps its size and
// evicts at random; it is turned off for scans.)
class TreeCache {
public:
    explicit TreeCache(git_repository* repo) : repo_(repo) {}
    // Borrowed: valid until next_commit() has been called twice.
    const git_tree* get(const git_oid& id);
    void next_commit();

private:
    git_repository* repo_;
    std::unordered_map<std::string, Handle<git_tree>> current_, previous_;
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

private:
    void check_commit(git_commit* commit, std::size_t position);
    Handle<git_commit> load_commit(const git_oid& id);
    std::vector<const git_tree*> parent_trees(git_commit* commit, const Origin& origin);
    const sops::Config* config(const git_oid& id, const Origin& origin);

    git_repository* repo_;
    ScanOptions options_;
    TreeCache trees_;
    Part part_;
    std::unordered_map<std::string, std::size_t> seen_;                   // triple -> index in part_
    std::unordered_map<std::string, Handle<git_commit>> loaded_parents_;  // read, not yet walked
    std::unordered_map<std::string, std::optional<sops::Config>> configs_;
};

// One result from the parts: each triple once, at its oldest commit; findings in
// history order (without a commit first, then oldest commit first); notes without repeats.
ScanResult assemble(std::vector<Part> parts);

// Process-wide libgit2 settings for reading many objects once each.
void tune_libgit2_for_scans();


}  // namespace gitsops::git::scanning
