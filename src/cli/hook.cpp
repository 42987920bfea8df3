// `git sops hook pre-commit` and `git sops hook pre-receive`: what the shims in hooks/ run.
// Both print their findings on stderr (git shows a hook's output to the committer or pusher)
// and exit 1 to stop the commit or reject the push.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "base/io.hpp"
#include "cli/commands.hpp"
#include "git/hooks.hpp"

namespace gitsops::cli {

namespace {

void exit_with(int code) {
    if (code != 0) throw CLI::RuntimeError(code);
}

}  // namespace

void add_hook(CLI::App& app) {
    auto* hook = app.add_subcommand("hook", "Run the check of a git hook (the shims `git sops install` puts in "
                                            "the hooks folder call these)");
    hook->require_subcommand(1);
    auto options = std::make_shared<git::HookOptions>();
    const std::string strict_help =
        "Recipient drift is an error too (also: git config git-sops.strict true)";

    auto* pre_commit = hook->add_subcommand(
        "pre-commit", "Stop a commit whose staged files hold a plaintext secret (reads the index, never the worktree)");
    pre_commit->add_flag("--strict", options->strict, strict_help);
    // The pre-commit framework passes the staged file names; the index is what counts.
    pre_commit->allow_extras();
    pre_commit->callback([options] { exit_with(git::run_pre_commit(*options, std::cerr)); });

    auto* pre_receive = hook->add_subcommand(
        "pre-receive", "Reject a push that adds a plaintext secret (reads '<old> <new> <ref>' lines on stdin)");
    pre_receive->add_flag("--strict", options->strict, strict_help);
    pre_receive->callback([options] {
        const std::string updates = io::read_stream(STDIN_FILENO);
        exit_with(git::run_pre_receive(updates, *options, std::cerr));
    });
}

}  // namespace gitsops::cli
