#include "base/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

extern char** environ;

namespace gitsops::process {

namespace {

std::string_view name_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// posix_spawn's C view of a vector of strings (which must outlive it).
std::vector<char*> c_array(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

class FileActions {
public:
    FileActions() { posix_spawn_file_actions_init(&actions_); }
    ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;

    void dup_to(int fd, int target) {
        if (fd != Stdio::inherit) posix_spawn_file_actions_adddup2(&actions_, fd, target);
    }
    void dev_null_to(int target) { posix_spawn_file_actions_addopen(&actions_, target, "/dev/null", O_RDONLY, 0); }
    const posix_spawn_file_actions_t* get() const { return &actions_; }

private:
    posix_spawn_file_actions_t actions_;
};

}  // namespace

Pipe::Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    read = Fd(p[0]);
    write = Fd(p[1]);
}

std::vector<std::string> environment(std::initializer_list<std::string_view> drop, const std::vector<std::string>& set) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string_view entry(*e), name = name_of(entry);
        bool skip = false;
        for (std::string_view d : drop) skip = skip || name == d;
        for (const auto& s : set) skip = skip || name == name_of(s);
        if (!skip) env.emplace_back(entry);
    }
    env.insert(env.end(), set.begin(), set.end());
    return env;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const Stdio& stdio,
            int* spawn_errno) {
    if (argv.empty()) throw Error("cannot start a program: empty command");
    std::vector<std::string> args_copy = argv, env_copy = env;
    std::vector<char*> args = c_array(args_copy), envp = c_array(env_copy);
    FileActions actions;
    if (stdio.in_from_dev_null) actions.dev_null_to(0);
    else actions.dup_to(stdio.in, 0);
    actions.dup_to(stdio.out, 1);
    actions.dup_to(stdio.err, 2);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], actions.get(), nullptr, args.data(), envp.data());
    if (rc == 0) return pid;
    if (spawn_errno) {
        *spawn_errno = rc;
        return -1;
    }
    throw Error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

bool ExitStatus::ok() const { return WIFEXITED(raw) && WEXITSTATUS(raw) == 0; }
bool ExitStatus::signaled() const { return WIFSIGNALED(raw); }
int ExitStatus::code() const { return WIFEXITED(raw) ? WEXITSTATUS(raw) : 0; }
int ExitStatus::signal() const { return WIFSIGNALED(raw) ? WTERMSIG(raw) : 0; }

std::string ExitStatus::describe() const {
    if (signaled()) return "killed by signal " + std::to_string(signal());
    return "exit status " + std::to_string(code());
}

ExitStatus wait(pid_t pid) {
    ExitStatus status;
    while (::waitpid(pid, &status.raw, 0) < 0) {
        if (errno != EINTR) throw Error(std::string("waiting for a child process: ") + std::strerror(errno));
    }
    return status;
}

}  // namespace gitsops::process
