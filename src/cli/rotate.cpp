// `git sops rotate`: replace a cluster's age key and re-encrypt the files of its rule.
#include <memory>

#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "lifecycle/lifecycle.hpp"

namespace gitsops::cli {

void add_rotate(CLI::App& app) {
    auto o = std::make_shared<lifecycle::RotateOptions>();
    CLI::App* cmd = app.add_subcommand("rotate", "Replace a cluster's age key and re-encrypt its rule's files");
    cmd->footer(
        "A new keypair is generated; the cluster's Secret gets it as age.agekey and keeps the old key as\n"
        "age-old.agekey, so Flux decrypts commits from before and after the rotation. Every tracked file of\n"
        "the rule is re-encrypted with a new data key for the new key (the rule's other recipients kept), and\n"
        ".sops.yaml lists the new key. The new private key is printed once. Progress is journaled under the\n"
        "git dir (no private key in it): after an interruption, rerun to resume or pass --abort to roll back.\n"
        "Once the pushed files are applied by Flux, `git sops rotate --finish` drops the old key.");
    cmd->add_option("--rule", o->rule, "The creation rule: its position (1 = first) or its path_regex");
    add_cluster_flags(cmd, o->cluster, true);
    auto* finish = cmd->add_flag("--finish", o->finish, "Remove the old key (age-old.agekey) from the cluster");
    auto* abort = cmd->add_flag("--abort", o->abort, "Roll back an interrupted rotation");
    finish->excludes(abort);
    cmd->callback([o] { lifecycle::rotate(*o); });
}

}  // namespace gitsops::cli
