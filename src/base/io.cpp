#include "base/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <sodium.h>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace gitsops::io {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

template <class Buffer>
Buffer read_fd(int fd, const std::string& what) {
    Buffer out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        out.reserve(static_cast<std::size_t>(st.st_size));
    std::uint8_t chunk[65536];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(what, "cannot read: " + errno_text(errno), exit_code::could_not_read_input);
        }
        if (n == 0) break;
        out.insert(out.end(), chunk, chunk + n);
    }
    sodium_memzero(chunk, sizeof chunk);
    return out;
}

template <class Buffer>
Buffer read_path(const std::filesystem::path& path) {
    if (path == "-") return read_fd<Buffer>(0, "standard input");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        throw Error(path.string(), errno_text(e), e == ENOENT ? exit_code::no_file : exit_code::could_not_read_input);
    }
    Fd guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        throw Error(path.string(), "is a directory", exit_code::could_not_read_input);
    return read_fd<Buffer>(fd, path.string());
}

}  // namespace

std::string read_file(const std::filesystem::path& path) { return read_path<std::string>(path); }
SecureBytes read_file_secure(const std::filesystem::path& path) { return read_path<SecureBytes>(path); }
std::string read_stream(int fd) { return read_fd<std::string>(fd, "input"); }
SecureBytes read_stream_secure(int fd) { return read_fd<SecureBytes>(fd, "input"); }

namespace {

// `what` names the destination in the error (a full disk must say which file it could not write).
void write_fd(int fd, std::span<const std::uint8_t> bytes, std::string_view what) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(what, "cannot write: " + errno_text(errno), exit_code::could_not_write_output);
        }
        off += static_cast<std::size_t>(n);
    }
}

// The temporary file is the caller's; root replacing another user's file gives it back, as an
// in-place write would have kept it. Without the privilege (or on a file system without owners)
// fchown fails and the file stays the caller's, which is no error.
void keep_owner(int fd, uid_t uid, gid_t gid) {
    if (::fchown(fd, uid, gid) != 0) errno = 0;
}

}  // namespace

void write_all(int fd, std::span<const std::uint8_t> bytes) { write_fd(fd, bytes, "output"); }

void atomic_write(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                  std::optional<unsigned> mode) {
    namespace fs = std::filesystem;
    init_sodium();
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    unsigned final_mode = 0;
    std::optional<std::pair<uid_t, gid_t>> owner;  // of the file replaced, kept as its mode is
    if (mode) {
        final_mode = *mode;
    } else {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) {
            final_mode = st.st_mode & 07777;
            owner.emplace(st.st_uid, st.st_gid);
        } else {
            mode_t um = ::umask(0);
            ::umask(um);
            final_mode = 0666 & ~um;
        }
    }

    std::string tmp_name;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
        char suffix[17];
        std::snprintf(suffix, sizeof suffix, "%08x%08x", randombytes_random(), randombytes_random());
        std::string leaf = ".";
        leaf.append(path.filename().string()).append(".git-sops-").append(suffix).append(".tmp");
        tmp_name = (dir / leaf).string();
        // 0600 while the contents are written; the final mode is applied just before rename.
        fd = ::open(tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            throw Error(path.string(), "cannot create temporary file: " + errno_text(errno),
                        exit_code::could_not_write_output);
    }
    if (fd < 0) throw Error(path.string(), "cannot create temporary file", exit_code::could_not_write_output);

    Fd guard(fd);
    try {
        write_fd(fd, bytes, path.string());
        if (owner) keep_owner(fd, owner->first, owner->second);
        if (::fchmod(fd, static_cast<mode_t>(final_mode)) != 0 || ::fsync(fd) != 0)
            throw Error(path.string(), "cannot write: " + errno_text(errno), exit_code::could_not_write_output);
        if (::close(guard.release()) != 0)
            throw Error(path.string(), "cannot write: " + errno_text(errno), exit_code::could_not_write_output);
        if (::rename(tmp_name.c_str(), path.c_str()) != 0)
            throw Error(path.string(), "cannot replace: " + errno_text(errno), exit_code::could_not_write_output);
    } catch (const Error& e) {
        ::unlink(tmp_name.c_str());
        throw Error(e.what(), exit_code::could_not_write_output);
    }
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::optional<std::string> getenv(const char* name) {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
}

}  // namespace gitsops::io
