// Scratch folder on tmpfs with signal-safe removal, the editor, and /dev/tty questions.
#include "lifecycle/editor.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <vector>

#include "base/error.hpp"
#include "base/io.hpp"
#include "base/process.hpp"
#include "keys/keys.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// ---- removal from a signal handler ----------------------------------------------------------------
// The handler may run at any moment, so it touches only these preallocated globals and makes
// only system calls (getdents64, unlinkat, rmdir, sigaction, raise).

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
char g_folder[PATH_MAX];
volatile sig_atomic_t g_folder_fd = -1;
struct sigaction g_previous[sizeof kSignals / sizeof kSignals[0]];

void remove_folder_async_safe() {
    int fd = g_folder_fd;
    if (fd < 0) return;
    g_folder_fd = -1;
    alignas(8) char buf[4096];
    for (int pass = 0; pass < 4; ++pass) {  // a few passes: entries may move while we read
        ::lseek(fd, 0, SEEK_SET);
        long n;
        bool any = false;
        while ((n = ::syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                auto* d = reinterpret_cast<struct dirent64*>(buf + off);
                off += d->d_reclen;
                const char* name = d->d_name;
                if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
                if (::unlinkat(fd, name, 0) != 0) ::unlinkat(fd, name, AT_REMOVEDIR);
                any = true;
            }
        }
        if (!any) break;
    }
    ::close(fd);
    ::rmdir(g_folder);
}

void on_fatal_signal(int sig) {
    remove_folder_async_safe();
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);
    ::raise(sig);  // delivered when this handler returns: the process dies of the signal it got
}

void install_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : kSignals) sigaddset(&sa.sa_mask, s);  // one handler at a time
    // No SA_RESTART: waitpid on the editor returns EINTR rather than hiding the signal.
    for (std::size_t i = 0; i < std::size(kSignals); ++i) {
        ::sigaction(kSignals[i], &sa, &g_previous[i]);
        // A signal ignored when we started (e.g. SIGINT of a background job) stays ignored.
        if (g_previous[i].sa_handler == SIG_IGN) ::sigaction(kSignals[i], &g_previous[i], nullptr);
    }
}

void restore_handlers() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
}

// ---- removal after SIGKILL ----------------------------------------------------------------------
// No handler runs on SIGKILL or a crash, so a forked guardian holding the read end of a pipe
// waits for end-of-file, which comes when this process dies in whatever way, and removes the
// folder then. The guardian makes the folder itself and reports its path: a kill at any moment
// after the fork finds a guardian that knows the folder, and before the fork there is no folder.
// It makes only system calls, like the signal handler.
pid_t g_guardian_pid = -1;
int g_guardian_fd = -1;  // the write end, CLOEXEC so the editor does not hold it

void stop_guardian() {
    if (g_guardian_fd < 0) return;
    ::close(g_guardian_fd);
    g_guardian_fd = -1;
    while (::waitpid(g_guardian_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    g_guardian_pid = -1;
}

[[noreturn]] void guardian(char* templ, int life, int report) {
    for (int fd = 0; fd <= 2; ++fd) ::close(fd);  // holds no terminal or pipe of our caller open
    // Ctrl-C reaches the whole process group: the guardian outlives it to clean up after us.
    for (int s : kSignals) ::signal(s, SIG_IGN);
    if (::mkdtemp(templ) == nullptr) {
        const int e = errno;
        (void)!::write(report, &e, sizeof e);
        ::_exit(1);
    }
    std::strncpy(g_folder, templ, sizeof g_folder - 1);
    g_folder_fd = ::open(templ, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int ok = 0;
    (void)!::write(report, &ok, sizeof ok);
    (void)!::write(report, templ, std::strlen(templ));  // the name mkdtemp chose, for the parent
    ::close(report);
    char c;
    while (::read(life, &c, 1) < 0 && errno == EINTR) {
    }
    remove_folder_async_safe();  // finds the folder already gone after a normal exit
    ::rmdir(templ);              // (in case it could not be opened above)
    ::_exit(0);
}

// Starts the guardian, which creates the folder from `templ` (rewritten in place by mkdtemp).
void start_guardian(std::string& templ) {
    int life[2], report[2];
    if (::pipe2(life, O_CLOEXEC) != 0) throw Error("cannot create a pipe: " + errno_text(errno));
    if (::pipe2(report, O_CLOEXEC) != 0) {
        const int e = errno;
        ::close(life[0]);
        ::close(life[1]);
        throw Error("cannot create a pipe: " + errno_text(e));
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(life[1]);
        ::close(report[0]);
        guardian(templ.data(), life[0], report[1]);
    }
    const int fork_errno = errno;
    ::close(life[0]);
    ::close(report[1]);
    if (pid < 0) {
        ::close(life[1]);
        ::close(report[0]);
        throw Error("cannot start the scratch folder's guardian: " + errno_text(fork_errno));
    }
    g_guardian_pid = pid;
    g_guardian_fd = life[1];
    // The guardian's answer: an errno (0: created), then the folder's name up to end-of-file.
    std::string answer;
    try {
        answer = io::read_stream(report[0]);
    } catch (const Error&) {
    }
    ::close(report[0]);
    int status = EIO;
    if (answer.size() >= sizeof status) std::memcpy(&status, answer.data(), sizeof status);
    const std::string name = answer.size() > sizeof status ? answer.substr(sizeof status) : std::string();
    if (status != 0 || name.size() != templ.size()) {
        stop_guardian();
        throw Error(fs::path(templ).parent_path().string(),
                    "cannot create a private folder: " + errno_text(status != 0 ? status : EIO));
    }
    templ = name;
}


std::optional<fs::path> memory_base() {
    for (const char* var : {"XDG_RUNTIME_DIR"}) {
        auto v = io::getenv(var);
        if (v && !v->empty() && is_memory_backed(*v)) return fs::path(*v);
    }
    if (is_memory_backed("/dev/shm")) return fs::path("/dev/shm");
    return std::nullopt;
}

std::optional<std::string> find_on_path(std::string_view name) {
    auto path = io::getenv("PATH");
    std::string_view rest = path ? std::string_view(*path) : std::string_view("/usr/bin:/bin");
    while (true) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + std::string(name);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) return std::nullopt;
        rest.remove_prefix(colon + 1);
    }
}

std::vector<std::string> editor_command() {
    for (const char* var : {"SOPS_EDITOR", "EDITOR"}) {
        auto v = io::getenv(var);
        if (!v || v->empty()) continue;
        auto words = keys::split_command(*v);
        if (words.empty()) continue;
        return words;
    }
    for (const char* name : {"vim", "nano", "vi"})
        if (find_on_path(name)) return {name};
    throw Error("no editor found: set SOPS_EDITOR or EDITOR, or install vim, nano or vi", exit_code::no_editor);
}

}  // namespace

bool is_memory_backed(const fs::path& dir) {
    struct statfs st {};
    if (::statfs(dir.c_str(), &st) != 0) return false;
    auto type = static_cast<unsigned long>(st.f_type);
    return type == TMPFS_MAGIC || type == RAMFS_MAGIC;
}

// ---- Scratch -------------------------------------------------------------------------------------------

Scratch::Scratch(std::string_view basename, bool allow_disk) {
    if (g_folder_fd >= 0) throw Error("internal: one scratch folder at a time");
    fs::path base;
    if (auto mem = memory_base()) {
        base = *mem;
    } else if (allow_disk) {
        auto tmp = io::getenv("TMPDIR");
        base = tmp && !tmp->empty() ? fs::path(*tmp) : fs::path("/tmp");
        memory_backed_ = false;
    } else {
        throw Error(
            "no memory-backed folder for the plaintext: neither $XDG_RUNTIME_DIR nor /dev/shm is tmpfs. Mount one, "
            "or pass --allow-disk to accept the plaintext on persistent disk in $TMPDIR while you edit");
    }
    std::string templ = (base / "git-sops-edit.XXXXXX").string();
    if (templ.size() >= PATH_MAX) throw Error(base.string(), "path too long");
    start_guardian(templ);  // creates the folder: from now on a SIGKILL leaves nothing behind
    folder_ = templ;
    file_ = folder_ / std::string(basename);
    int fd = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        stop_guardian();  // the guardian removes the folder
        throw Error(folder_.string(), "cannot open: " + errno_text(e));
    }
    std::strncpy(g_folder, folder_.c_str(), sizeof g_folder - 1);
    g_folder_fd = fd;
    install_handlers();
}

Scratch::~Scratch() {
    // Overwrite what the file holds now (the editor may have replaced it) before removing it:
    // tmpfs pages are not cleared when freed.
    int fd = ::open(file_.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            std::vector<char> zeros(4096, 0);
            for (off_t left = st.st_size; left > 0;) {
                ssize_t w = ::write(fd, zeros.data(), static_cast<std::size_t>(std::min<off_t>(left, 4096)));
                if (w <= 0) break;
                left -= w;
            }
            ::fsync(fd);
        }
        ::close(fd);
    }
    // Block the signals while the handler's state is torn down, so it never sees half of it.
    sigset_t block, old;
    sigemptyset(&block);
    for (int s : kSignals) sigaddset(&block, s);
    ::sigprocmask(SIG_BLOCK, &block, &old);
    remove_folder_async_safe();
    std::error_code ec;
    fs::remove_all(folder_, ec);
    restore_handlers();
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    stop_guardian();
}

void Scratch::write(std::span<const std::uint8_t> bytes) const {
    int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(file_.string(), "cannot create: " + errno_text(errno));
    try {
        io::write_all(fd, bytes);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

SecureBytes Scratch::read() const { return io::read_file_secure(file_); }

// ---- editor and terminal ------------------------------------------------------------------------

void run_editor(const fs::path& file) {
    std::vector<std::string> argv = editor_command();
    argv.push_back(file.string());
    // The editor gets our environment without SOPS_AGE_KEY: it has no use for keys.
    int spawn_errno = 0;
    const pid_t pid = process::spawn(argv, process::environment({"SOPS_AGE_KEY"}), {}, &spawn_errno);
    if (pid < 0)
        throw Error("cannot start the editor '" + argv[0] + "': " + errno_text(spawn_errno), exit_code::no_editor);
    const process::ExitStatus status = process::wait(pid);
    if (status.signaled())
        throw Error("the editor '" + argv[0] + "' was killed by signal " + std::to_string(status.signal()));
    if (!status.ok()) throw Error("the editor '" + argv[0] + "' exited with " + status.describe());
}

std::optional<bool> ask_tty(std::string_view question, bool default_yes) {
    int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string prompt = std::string(question) + (default_yes ? " [Y/n] " : " [y/N] ");
    try {
        io::write_all(fd, prompt);
    } catch (const Error&) {
        ::close(fd);
        return std::nullopt;
    }
    std::string answer;
    char c;
    for (;;) {
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n' || c == '\r') break;
        answer += c;
    }
    ::close(fd);
    while (!answer.empty() && answer.back() == ' ') answer.pop_back();
    while (!answer.empty() && answer.front() == ' ') answer.erase(0, 1);
    if (answer.empty()) return default_yes;
    return answer[0] == 'y' || answer[0] == 'Y';
}

}  // namespace gitsops::lifecycle
