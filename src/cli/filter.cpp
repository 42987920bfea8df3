// The filter driver's entry points: `git sops filter-process` (filter.sops.process, one process
// per git command), `clean -- <path>` and `smudge -- <path>` (single-shot filter.sops.clean and
// .smudge), `textconv -- <file>` (diff.sops.textconv). All four share one FilterHandler.
// The handler is git::SopsFilter (src/git/clean.hpp, smudge.hpp): encrypt by .sops.yaml rule,
// refuse plaintext Secrets, stable re-encryption against the staged blob, decrypt on smudge in
// a decrypted worktree.
#include <unistd.h>

#include <string>

#include "cli/commands.hpp"
#include "git/filter_protocol.hpp"
#include "git/filter_single.hpp"
#include "git/smudge.hpp"

namespace gitsops::cli {

namespace {

// The transports print their own one-line diagnostics; only the exit code is left to pass on.
void exit_with(int code) {
    if (code != 0) throw CLI::RuntimeError(code);
}

void add_single_shot(CLI::App& app, const std::string& command, const std::string& help) {
    auto path = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(command, help);
    cmd->add_option("path", *path, "The file's path relative to the top of the worktree (git's %f)");
    cmd->callback([command, path] {
        git::SopsFilter handler;
        exit_with(git::run_filter_single(handler, command, *path, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO));
    });
}

}  // namespace

void add_filter(CLI::App& app) {
    auto* process = app.add_subcommand(
        "filter-process", "Serve git's long-running filter protocol on stdin/stdout (filter.sops.process)");
    process->callback([] {
        git::SopsFilter handler;
        exit_with(git::run_filter_process(handler, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO));
    });

    add_single_shot(app, "clean", "Filter one file from stdin to stdout as git stores it (filter.sops.clean)");
    add_single_shot(app, "smudge", "Filter one stored file from stdin to stdout for the worktree (filter.sops.smudge)");

    auto file = std::make_shared<std::string>();
    auto* textconv = app.add_subcommand("textconv", "Print a file as text for git diff (diff.sops.textconv)");
    textconv->add_option("file", *file, "The file git passes")->required();
    textconv->callback([file] {
        git::SopsFilter handler;
        exit_with(git::run_textconv(handler, *file, STDOUT_FILENO, STDERR_FILENO));
    });
}

}  // namespace gitsops::cli
