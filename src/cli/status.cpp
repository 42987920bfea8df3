// `git sops status`: the state of every file a rule routes, of the installation and the cluster key.
#include <memory>

#include "base/error.hpp"
#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

void add_status(CLI::App& app) {
    auto o = std::make_shared<lifecycle::StatusOptions>();
    CLI::App* cmd = app.add_subcommand("status", "Show encryption, recipients and MAC of every file a rule routes");
    cmd->footer(
        "Per file: encrypted or not, recipients matching the rule or drifting, MAC verified when a key is at\n"
        "hand. Also whether the filter and hooks are installed. --cluster reads each recorded cluster's key and\n"
        "checks its rule lists it (what `... | base64 -d | age-keygen -y` and `grep age: .sops.yaml` check).\n"
        "Exit status 1 when something needs attention.");
    cmd->add_flag("--cluster", o->check_cluster, "Also check the key in the cluster against .sops.yaml");
    add_cluster_flags(cmd, o->cluster, false);
    cmd->callback([o] {
        if (!lifecycle::status(*o)) throw Error("some of the above needs attention");
    });
}

}  // namespace gitsops::cli
