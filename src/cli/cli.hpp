// The command line: builds the CLI11 app from one file per subcommand and maps errors to exit codes.
#pragma once

namespace gitsops::cli {

int run(int argc, char** argv);

}  // namespace gitsops::cli
