// git-sops: one binary behind `git sops ...`, the filter driver and the hooks.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return gitsops::cli::run(argc, argv); }
