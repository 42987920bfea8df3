#include "cli/passphrase.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "base/io.hpp"
#include "base/fd.hpp"

namespace gitsops::cli {

namespace {

constexpr std::size_t kMaxPassphrase = 64 * 1024;

// The terminal state to put back if the user interrupts a prompt; echo must not stay off.
int g_tty_fd = -1;
struct termios g_saved {};

extern "C" void restore_and_reraise(int sig) {
    if (g_tty_fd >= 0) ::tcsetattr(g_tty_fd, TCSANOW, &g_saved);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// Echo off for the lifetime of the object; canonical mode stays on, so the kernel handles
// backspace and the line ends at Enter. TCSANOW keeps anything typed ahead.
class EchoOff {
public:
    explicit EchoOff(int fd) : fd_(fd) {
        if (::tcgetattr(fd, &saved_) != 0) return;
        struct termios quiet = saved_;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        g_tty_fd = fd;
        g_saved = saved_;
        old_int_ = std::signal(SIGINT, restore_and_reraise);
        old_term_ = std::signal(SIGTERM, restore_and_reraise);
        active_ = ::tcsetattr(fd, TCSANOW, &quiet) == 0;
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;
    ~EchoOff() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
        if (g_tty_fd == fd_) {
            std::signal(SIGINT, old_int_);
            std::signal(SIGTERM, old_term_);
            g_tty_fd = -1;
        }
    }

private:
    int fd_;
    struct termios saved_ {};
    bool active_ = false;
    void (*old_int_)(int) = SIG_DFL;
    void (*old_term_)(int) = SIG_DFL;
};

SecureBytes read_line(int fd) {
    SecureBytes line;
    for (;;) {
        std::uint8_t c = 0;
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error("cannot read the passphrase from the terminal");
        if (n == 0 || c == '\n') break;
        if (c == '\r') continue;
        if (line.size() >= kMaxPassphrase) throw Error("passphrase too long");
        line.push_back(c);
    }
    return line;
}

SecureBytes ask_terminal(std::string_view prompt) {
    Fd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (tty.get() < 0)
        throw Error(std::string("cannot ask for a passphrase: no terminal (set ") + kPassphraseEnv + ")");
    std::string line(prompt);
    line += line.ends_with(':') ? " " : ": ";
    io::write_all(tty.get(), line);
    EchoOff quiet(tty.get());
    return read_line(tty.get());
}

}  // namespace

SecureBytes read_passphrase(std::string_view prompt) {
    if (const char* env = std::getenv(kPassphraseEnv)) return secure_copy(std::string_view(env));
    return ask_terminal(prompt);
}

SecureBytes read_new_passphrase() {
    SecureBytes first;
    if (const char* env = std::getenv(kPassphraseEnv)) {
        first = secure_copy(std::string_view(env));
    } else {
        first = ask_terminal("Enter passphrase");
        if (!first.empty() && ask_terminal("Confirm passphrase") != first) throw Error("passphrases didn't match");
    }
    if (first.empty()) throw Error("empty passphrase: refusing to encrypt with it");
    return first;
}

}  // namespace gitsops::cli
