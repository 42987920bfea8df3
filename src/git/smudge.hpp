// Smudge (checkout), textconv (git diff) and the worktree mode, plus the FilterHandler that serves
// clean, smudge and textconv from one FilterContext per git command.
//
// By default the worktree keeps the stored sops files and smudge passes blobs through. With a
// decrypted worktree (`git sops install --decrypted-worktree`, `git sops unlock`), smudge
// decrypts files that a creation rule covers, like git-crypt, and remembers in the clean cache
// which blob each plaintext came from, so clean maps it back to that very blob even without a
// key. Smudge never fails a checkout: without a usable key (or for a damaged file) it passes the
// stored bytes through and prints one warning line per process.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "git/clean.hpp"
#include "git/filter_protocol.hpp"

namespace gitsops::git {

SecureBytes smudge(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content);

// Decrypts a sops file for `git diff` when a key opens it; anything else (plaintext, no key, a
// damaged file) comes back unchanged. Path rules are ignored: git passes temporary files.
SecureBytes textconv(FilterContext& context, std::string_view file, std::span<const std::uint8_t> content);

class SopsFilter final : public FilterHandler {
public:
    SecureBytes clean(const FilterRequest& request) override;
    SecureBytes smudge(const FilterRequest& request) override;
    SecureBytes textconv(const FilterRequest& request) override;
    void idle() override;

private:
    FilterContext context_;
};

// `git sops unlock` / `git sops lock`: sets git-sops.decryptedWorktree and checks out again the
// files it concerns (tracked, routed to the sops filter, covered by a creation rule), so they
// switch to plaintext or back to ciphertext without showing as modified. Files with uncommitted
// changes are left alone and listed: checking them out would lose the changes.
struct WorktreeSwitch {
    std::size_t rewritten = 0;                // files checked out again
    std::size_t still_encrypted = 0;          // unlock: files no key opened
    std::vector<std::string> left_modified;  // files with uncommitted changes, not touched
};
WorktreeSwitch switch_worktree(Repository repo, bool decrypted);

}  // namespace gitsops::git
