// Child processes: started from an argument vector (never through a shell, so no argument is
// ever re-parsed), with an explicit environment, waited for with EINTR handled. The one place
// that calls posix_spawnp; kubectl, $EDITOR and SOPS_AGE_KEY_CMD all go through it.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.hpp"

namespace gitsops::process {

// A pipe whose ends are closed on exec (a child gets only what Stdio hands it).
struct Pipe {
    Fd read, write;
    Pipe();
};

// Our environment without the variables named in `drop`, with `set` ("NAME=value") replacing
// or adding variables. Children that have no use for a key get SOPS_AGE_KEY dropped.
std::vector<std::string> environment(std::initializer_list<std::string_view> drop = {},
                                     const std::vector<std::string>& set = {});

// The child's standard streams: a descriptor to duplicate, or `inherit` (ours).
struct Stdio {
    static constexpr int inherit = -1;
    int in = inherit;
    int out = inherit;
    int err = inherit;
    bool in_from_dev_null = false;  // stdin from /dev/null (overrides `in`)
};

// Starts argv[0] (searched on PATH) with exactly `env`. When it cannot start: with `spawn_errno`
// the error number is stored there and -1 returned, without it Error("cannot start ...") is thrown.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const Stdio& stdio = {},
            int* spawn_errno = nullptr);

struct ExitStatus {
    int raw = 0;  // as waitpid(2) gives it
    bool ok() const;
    bool signaled() const;
    int code() const;    // exit code; 0 when signaled
    int signal() const;  // signal number; 0 when it exited
    // "exit status 3" or "killed by signal 9"
    std::string describe() const;
};

// Waits for `pid` (retrying on EINTR). Throws Error when waitpid itself fails.
ExitStatus wait(pid_t pid);

}  // namespace gitsops::process
