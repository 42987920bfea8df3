// Internal to cli/: each subcommand lives in its own file and adds itself to the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace gitsops::cli {




}  // namespace gitsops::cli
