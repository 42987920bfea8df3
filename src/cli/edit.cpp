// `git sops edit FILE`: create or edit an encrypted file in $EDITOR; the plaintext stays in
// memory and in a private folder on tmpfs.
#include <memory>

#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

void add_edit(CLI::App& app) {
    auto o = std::make_shared<lifecycle::EditOptions>();
    CLI::App* cmd = app.add_subcommand("edit", "Create or edit an encrypted file in your editor");
    cmd->footer(
        "An existing file is decrypted into a 0600 file in a fresh private folder on tmpfs ($XDG_RUNTIME_DIR or\n"
        "/dev/shm), opened in $SOPS_EDITOR, $EDITOR, vim, nano or vi, and re-encrypted with the same data key;\n"
        "values you did not change keep their ciphertext. A missing file starts as a Kubernetes Secret and is\n"
        "encrypted by its .sops.yaml rule. Keys come from SOPS_AGE_KEY, key files or ssh keys as sops finds\n"
        "them, else from the cluster recorded by `git sops init` (held in memory only).\n"
        "Exit status 200: the file was not changed (nothing written).");
    cmd->add_option("file", o->file, "The file to edit or create")->required();
    cmd->add_flag("--allow-disk", o->allow_disk,
                  "Use $TMPDIR on persistent disk for the plaintext when no memory-backed folder exists");
    add_cluster_flags(cmd, o->cluster, false);
    cmd->callback([o] { lifecycle::edit(*o); });
}

}  // namespace gitsops::cli
