// Shared by the fuzz harnesses: property checks that abort (so libFuzzer records the input and
// the replay test fails), and an in-memory file descriptor for the fd-based readers.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

// A broken property is a finding like a crash: say which one, then abort.
#define FUZZ_CHECK(cond)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)

namespace fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// An anonymous in-memory file: written, rewound, then read through its fd like a pipe from git
// (but with no second thread and no size limit).
class MemFd {
public:
    MemFd() : fd_(::memfd_create("fuzz", MFD_CLOEXEC)) {
        if (fd_ < 0) std::abort();
    }
    explicit MemFd(std::span<const std::uint8_t> contents) : MemFd() {
        write_all(contents);
        rewind();
    }
    MemFd(const MemFd&) = delete;
    MemFd& operator=(const MemFd&) = delete;
    ~MemFd() { ::close(fd_); }

    int fd() const { return fd_; }
    void rewind() {
        if (::lseek(fd_, 0, SEEK_SET) != 0) std::abort();
    }

private:
    void write_all(std::span<const std::uint8_t> bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n <= 0) std::abort();
            bytes = bytes.subspan(static_cast<std::size_t>(n));
        }
    }
    int fd_;
};

}  // namespace fuzz
