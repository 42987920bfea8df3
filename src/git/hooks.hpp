// The hooks git-sops installs (hooks/pre-commit, hooks/pre-receive call these through
// `git sops hook <name>`): run a scan, print what it found where the pusher or committer sees it,
// and say whether git may go on.
#pragma once

#include <ostream>
#include <string_view>


namespace gitsops::git {

struct HookOptions {
    bool strict = false;  // also from `git config git-sops.strict true`
};

// Both open the repository as git's environment describes it (GIT_INDEX_FILE for a commit's
// possibly temporary index, GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES for a
// push's quarantine) and return the hook's exit status.

// Checks the staged files of the commit being made: 0 lets the commit go on, 1 stops it.
// Findings go to `err`.
int run_pre_commit(const HookOptions& options, std::ostream& err);

// Checks what a push adds. `updates` is the hook's standard input. Rejects (1) on any error
// finding, on a push to refs/notes/textconv/* (git's cached textconv output is plaintext), and
// on anything it cannot check (fail closed). Under GitLab (GL_ID / GL_REPOSITORY set) every line
// starts with "GL-HOOK-ERR: " so the web UI and the pusher see the reason.
int run_pre_receive(std::string_view updates, const HookOptions& options, std::ostream& err);

}  // namespace gitsops::git
