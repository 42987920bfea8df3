// `git sops resolve FILE`: settle the conflicts the merge driver left in a sops file.
#include <memory>

#include "cli/commands.hpp"
#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

void add_resolve(CLI::App& app) {
    auto o = std::make_shared<lifecycle::ResolveOptions>();
    CLI::App* cmd = app.add_subcommand("resolve", "Settle the conflicts the merge driver left in a sops file");
    cmd->footer(
        "Merges the three staged versions of FILE again and opens the conflicting values, both sides, in your\n"
        "editor (a file on tmpfs); keep one per conflict, save and quit. The result is encrypted, staged and\n"
        "written to the worktree (plaintext in a decrypted worktree). --ours / --theirs take one side for\n"
        "every conflict without an editor.");
    cmd->add_option("file", o->file, "The conflicted file")->required();
    auto* ours = cmd->add_flag_callback("--ours", [o] { o->pick = lifecycle::ResolveOptions::Pick::ours; },
                                        "Take our value for every conflict");
    auto* theirs = cmd->add_flag_callback("--theirs", [o] { o->pick = lifecycle::ResolveOptions::Pick::theirs; },
                                          "Take their value for every conflict");
    ours->excludes(theirs);
    cmd->add_flag("--allow-disk", o->allow_disk,
                  "Use $TMPDIR on persistent disk when no memory-backed folder exists");
    cmd->callback([o] { lifecycle::resolve(*o); });
}

}  // namespace gitsops::cli
