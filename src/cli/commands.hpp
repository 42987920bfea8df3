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



}  // namespace gitsops::cli
