// Internal to cli/: each subcommand lives in its own file and adds itself to the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace gitsops::cli {

void add_keygen(CLI::App& app);
void add_age(CLI::App& app);
void add_filter(CLI::App& app);   // filter-process, clean, smudge, textconv
void add_install(CLI::App& app);  // install, uninstall
void add_encrypt(CLI::App& app);
void add_decrypt(CLI::App& app);
void add_filestatus(CLI::App& app);
void add_unlock(CLI::App& app);  // unlock, lock
void add_init(CLI::App& app);
void add_edit(CLI::App& app);
void add_rotate(CLI::App& app);
void add_updatekeys(CLI::App& app);
void add_status(CLI::App& app);
void add_hook(CLI::App& app);   // hook pre-commit, hook pre-receive
void add_check(CLI::App& app);  // check --staged|--range|--all|--tree, text/json/sarif
void add_merge(CLI::App& app);  // the merge driver
void add_resolve(CLI::App& app);


}  // namespace gitsops::cli
