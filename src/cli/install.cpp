// `git sops install [--decrypted-worktree]` and `git sops uninstall`: wire git-sops into the
// current repository (config, .gitattributes, hook shims) and take it out again.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "git/install.hpp"
#include "git/repo.hpp"

namespace gitsops::cli {

namespace {

void print(const git::InstallReport& report) {
    for (const auto& note : report.notes) std::cout << "git-sops: " << note << '\n';
}

}  // namespace

void add_install(CLI::App& app) {
    auto options = std::make_shared<git::InstallOptions>();
    auto* install = app.add_subcommand(
        "install", "Set up the sops filter, diff and merge drivers, .gitattributes and hooks in this repository");
    install->add_flag("--decrypted-worktree", options->decrypted_worktree,
                      "Decrypt secrets into the worktree on checkout (plaintext files on disk); by default "
                      "the worktree keeps the encrypted files");
    install->callback([options] { print(git::install(git::Repository::open_from_env(), *options)); });

    auto* uninstall = app.add_subcommand(
        "uninstall", "Remove exactly what `git sops install` added to this repository, restoring chained hooks");
    uninstall->callback([] { print(git::uninstall(git::Repository::open_from_env())); });
}

}  // namespace gitsops::cli
