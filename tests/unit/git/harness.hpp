// Helpers for the git module's tests: pipes fed or drained by a thread, temporary repositories
// built with the real git command, and scoped environment variables.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace testgit {

namespace fs = std::filesystem;

inline void write_fully(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the reader went away; the test will see what it got
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

inline std::string read_fully(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

// A pipe whose write end a thread fills with `bytes`, `chunk` bytes per write(2), then closes.
class Feed {
public:
    explicit Feed(std::string bytes, std::size_t chunk = 1 << 20) {
        int fds[2];
        if (::pipe(fds) != 0) throw std::runtime_error("pipe");
        read_ = fds[0];
        writer_ = std::thread([w = fds[1], b = std::move(bytes), chunk] {
            std::string_view rest = b;
            while (!rest.empty()) {
                const std::size_t n = std::min(chunk, rest.size());
                write_fully(w, rest.substr(0, n));
                rest.remove_prefix(n);
            }
            ::close(w);
        });
    }
    Feed(const Feed&) = delete;
    Feed& operator=(const Feed&) = delete;
    ~Feed() {
        ::close(read_);  // unblocks the writer if the reader stopped early
        writer_.join();
    }
    int fd() const { return read_; }

private:
    int read_ = -1;
    std::thread writer_;
};

// A pipe whose read end a thread drains; text() after close_write() gives everything written.
class Sink {
public:
    Sink() {
        int fds[2];
        if (::pipe(fds) != 0) throw std::runtime_error("pipe");
        write_ = fds[1];
        reader_ = std::thread([r = fds[0], this] {
            text_ = read_fully(r);
            ::close(r);
        });
    }
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;
    ~Sink() {
        close_write();
        if (reader_.joinable()) reader_.join();
    }
    int fd() const { return write_; }
    void close_write() {
        if (write_ >= 0) ::close(write_);
        write_ = -1;
    }
    const std::string& text() {
        close_write();
        if (reader_.joinable()) reader_.join();
        return text_;
    }

private:
    int write_ = -1;
    std::thread reader_;
    std::string text_;
};

// Sets (or with nullopt unsets) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value->c_str(), 1);
        else
            ::unsetenv(name);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

// Runs a shell command line in `dir`; throws with the command when it fails.
inline std::string sh(const fs::path& dir, const std::string& command) {
    const std::string full = "cd '" + dir.string() + "' && " + command;
    FILE* p = ::popen(full.c_str(), "r");
    if (!p) throw std::runtime_error("popen: " + command);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    if (status != 0) throw std::runtime_error("command failed: " + command + "\n" + out);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

// A scratch folder removed at the end of the test, with a git identity that needs no HOME.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "git-sops-unit.XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
        path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& s) const { return path_ / s; }

private:
    fs::path path_;
};

inline constexpr const char* git = "git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main "
                                   "-c core.hooksPath=/dev/null";

// A fresh repository at `dir` (created if needed).
inline void git_init(const fs::path& dir) {
    fs::create_directories(dir);
    sh(dir, std::string(git) + " init -q .");
}

inline void write_text(const fs::path& file, std::string_view text) {
    fs::create_directories(file.parent_path());
    FILE* f = std::fopen(file.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + file.string());
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
}

inline std::string read_text(const fs::path& file) {
    FILE* f = std::fopen(file.c_str(), "rb");
    if (!f) throw std::runtime_error("cannot read " + file.string());
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
    return out;
}

}  // namespace testgit
