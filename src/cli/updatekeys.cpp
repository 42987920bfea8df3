// `git sops updatekeys`: re-wrap files' data keys for the recipients their rules list now.
#include <memory>

#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

void add_updatekeys(CLI::App& app) {
    auto o = std::make_shared<lifecycle::UpdatekeysOptions>();
    CLI::App* cmd = app.add_subcommand(
        "updatekeys", "Re-wrap files' data keys for the recipients their .sops.yaml rules list now");
    cmd->footer(
        "As `sops updatekeys`: the values, lastmodified and mac stay as they are; only the key entries change.\n"
        "The recipients added and removed are shown first, and confirmed on the terminal unless -y is given.");
    auto* files = cmd->add_option("files", o->files, "The files to update");
    auto* all = cmd->add_flag("--all", o->all, "Every tracked file a creation rule routes");
    files->excludes(all);
    cmd->add_flag("-y,--yes", o->yes, "Do not ask for confirmation");
    add_cluster_flags(cmd, o->cluster, false);
    cmd->callback([o] { lifecycle::updatekeys(*o); });
}

}  // namespace gitsops::cli
