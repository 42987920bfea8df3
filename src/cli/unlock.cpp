// `git sops unlock` / `git sops lock`: switch the worktree between decrypted files (smudge
// decrypts, like an unlocked git-crypt repository) and the stored sops files (the default).
// Both check the concerned files out again, so nothing shows as modified afterwards.
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "git/repo.hpp"
#include "git/smudge.hpp"

namespace gitsops::cli {

namespace {

void report(const git::WorktreeSwitch& r, bool decrypted) {
    std::cout << "git-sops: " << (decrypted ? "decrypted worktree" : "encrypted worktree") << "; "
              << r.rewritten << " file(s) checked out again";
    if (decrypted && r.still_encrypted > 0)
        std::cout << ", " << r.still_encrypted << " of them still encrypted (no key opens them)";
    std::cout << '\n';
    if (r.left_modified.empty()) return;
    std::cout << "git-sops: left " << r.left_modified.size()
              << " file(s) with uncommitted changes as they are; commit or stash them and run `git sops "
              << (decrypted ? "unlock" : "lock") << "` again:\n";
    for (const auto& path : r.left_modified) std::cout << "  " << path << '\n';
}

void run(bool decrypted) {
    const auto result = git::switch_worktree(git::Repository::open_from_env(), decrypted);
    report(result, decrypted);
}

}  // namespace

void add_unlock(CLI::App& app) {
    auto* unlock = app.add_subcommand(
        "unlock", "Decrypt the files .sops.yaml covers into the worktree (sets git-sops.decryptedWorktree)");
    unlock->footer(
        "Smudge then decrypts on every checkout; git add encrypts again, reusing the stored ciphertext\n"
        "for unchanged files. Files nobody's key opens stay encrypted. `git sops lock` undoes it.");
    unlock->callback([] { run(true); });

    auto* lock = app.add_subcommand(
        "lock", "Put the stored (encrypted) files back into the worktree (git-sops.decryptedWorktree=false)");
    lock->footer("Files with uncommitted changes are left as they are and listed.");
    lock->callback([] { run(false); });
}

}  // namespace gitsops::cli
