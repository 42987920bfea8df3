// `git sops init`: a cluster's age key, generated in memory, stored in the cluster's sops-age
// Secret and listed in .sops.yaml; the private key is printed once.
#include <memory>

#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

void add_init(CLI::App& app) {
    auto o = std::make_shared<lifecycle::InitOptions>();
    CLI::App* cmd = app.add_subcommand(
        "init", "Generate the cluster's age key, store it in the cluster and add it to .sops.yaml");
    cmd->footer(
        "The keypair is generated in memory. The private key goes to the Secret (default flux-system/sops-age,\n"
        "entry age.agekey) through kubectl's standard input, and is printed once: store it in your password\n"
        "manager. It is written to no file. The public key is added to the creation rule (comments and layout\n"
        "of .sops.yaml are kept; a new .sops.yaml gets a rule for Secrets). If the Secret exists already,\n"
        "nothing changes; --force replaces the key and re-encrypts the rule's files (see `git sops rotate`).");
    cmd->add_option("--rule", o->rule,
                    "The creation rule: its position (1 = first) or its path_regex; a new path_regex adds a rule");
    add_cluster_flags(cmd, o->cluster, true);
    cmd->add_flag("--force", o->force, "Replace an existing key: rotate it");
    cmd->callback([o] { lifecycle::init(*o); });
}

}  // namespace gitsops::cli
