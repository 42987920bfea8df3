// Single-shot transports: `filter.sops.clean = git-sops clean -- %f`, `filter.sops.smudge`, and
// `diff.sops.textconv = git-sops textconv --`. Git runs them once per file (through the shell)
// when the long-running process is not configured or not understood, e.g. by older tools.
// They go through the same FilterHandler and dispatch() as the process server.
#pragma once

#include <filesystem>
#include <string_view>

#include "git/filter_protocol.hpp"

namespace gitsops::git {

// clean/smudge: content on `in_fd`, result on `out_fd`. Returns 0, or prints one
// "git-sops: <pathname>: <message>" line on `err_fd` and returns nonzero (git then reports the
// filter as failed, and with filter.sops.required stops).
int run_filter_single(FilterHandler& handler, std::string_view command, std::string_view pathname, int in_fd,
                      int out_fd, int err_fd = 2);

// textconv: git passes a file (a worktree file or a temporary copy of a blob) as the argument.
int run_textconv(FilterHandler& handler, const std::filesystem::path& file, int out_fd, int err_fd = 2);

}  // namespace gitsops::git
