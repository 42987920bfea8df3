// An owned file descriptor for the cli/ commands: closed when it goes out of scope.
// (base/io.cpp keeps an identical class private; this one can move there once io.hpp exports it.)
#pragma once

#include <unistd.h>

namespace gitsops::cli {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_ = -1;
};

}  // namespace gitsops::cli
