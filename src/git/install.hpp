// `git sops install` / `git sops uninstall` for one repository.
//
// install adds, and records under <common git dir>/git-sops/installed what it added:
//   - local config: filter.sops.{process,clean,smudge,required}, diff.sops.textconv (never
//     cachetextconv: it would store plaintext under refs/notes/textconv), merge.sops.{name,driver},
//     and git-sops.decryptedWorktree with --decrypted-worktree;
//   - the block of filters/gitattributes at the end of the worktree's .gitattributes, unless the
//     file already routes those patterns to the sops driver (it is committed and shared);
//   - the hook shims of hooks/ (pre-commit, pre-receive) in core.hooksPath or the common git
//     dir's hooks/, keeping a hook that was there as <hook>.git-sops-chained, run first.
// Running it again changes nothing. uninstall undoes exactly what the record lists, leaves what
// the user changed since, and restores chained hooks and replaced config values.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "git/repo.hpp"

namespace gitsops::git {

struct InstallOptions {
    // Smudge decrypts into the worktree (plaintext files on disk, git-crypt style). Without it
    // the worktree keeps the stored SOPS files and secrets are edited with `git sops edit`.
    bool decrypted_worktree = false;
};

struct InstallReport {
    bool changed = false;
    std::vector<std::string> notes;  // one line each, for the user
};

InstallReport install(const Repository& repo, const InstallOptions& options);
InstallReport uninstall(const Repository& repo);

// What install chose for this repository (the smudge handler asks).
bool decrypted_worktree(const Repository& repo);

// Where hooks of this repository live: core.hooksPath (relative to the worktree top, where git
// runs hooks) or hooks/ in the common git dir, shared by linked worktrees.
std::filesystem::path hooks_dir(const Repository& repo);

// How config values and shims call git-sops: plain "git-sops" when that name on PATH is this
// very binary, so upgrades in place keep working and the repository does not pin a build
// folder; otherwise this binary's absolute path, shell-quoted, because git runs the drivers
// through the shell with its own PATH and would find another git-sops or none.
std::string git_sops_command();

namespace install_detail {

std::string_view attributes_template();          // filters/gitattributes, compiled in
std::string_view hook_template(std::string_view hook);  // hooks/<hook>, compiled in
inline constexpr std::string_view hooks[] = {"pre-commit", "pre-receive"};
inline constexpr std::string_view chained_suffix = ".git-sops-chained";

std::string shell_quote(std::string_view word);
std::string render_hook(std::string_view hook, std::string_view command);
bool is_shim(std::string_view content);

// The new .gitattributes text, or nullopt when `existing` already has our block or our lines.
std::optional<std::string> add_attributes_block(const std::optional<std::string>& existing);
// `text` without our block, or nullopt when it has none.
std::optional<std::string> remove_attributes_block(std::string_view text);

// Drops the headers of the given config sections (dotted like git's keys: "filter.sops" is
// [filter "sops"], "git-sops" is [git-sops]) when nothing but blank lines follows them before the
// next section: libgit2 leaves such empty headers behind when it deletes the last entry.
std::string prune_empty_sections(std::string_view config_text, std::span<const std::string> sections);

}  // namespace install_detail

}  // namespace gitsops::git
