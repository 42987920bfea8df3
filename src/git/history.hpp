// Internal to the scans (scanner.cpp): a history's tree diffs and blobs, streamed by git itself.
//
// Why git and not libgit2 for this: libgit2 1.5 spent ~55% of `check --all` reading and parsing
// the tree versions of a history (an allocation per entry, a zlib stream per object), which
// `git diff-tree` walks several times faster. So the walk asks one `git diff-tree --stdin` for
// every (commit, parent) diff and one `git cat-file --batch` for the blobs worth classifying;
// libgit2 still picks the commits (its revwalk), reads commits and root trees, and does the
// rest of the scans.
//
// Both children are started from an argument vector (base/process.hpp, no shell), with our
// environment minus the age key variables, so a pre-receive hook's quarantine variables reach
// them. Plaintext blobs travel only through the pipes, never through argv or a file.
#pragma once

#include <git2.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/fd.hpp"

namespace gitsops::git::scanning {

// Buffered reads from a descriptor; throws when the stream ends in the middle of something.
class Reader {
public:
    Reader(int fd, std::string_view what) : fd_(fd), what_(what) {}
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    // The next byte without taking it; -1 at the end of the stream.
    int peek();
    // Whether peek() would return without waiting.
    bool available();
    // The bytes up to `delimiter` (taken, not returned).
    void until(char delimiter, std::string& out);
    void exactly(std::span<std::uint8_t> out);

private:
    bool fill();
    int fd_;
    std::string what_;
    std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(1 << 16);
    std::size_t begin_ = 0, end_ = 0;
};

// A git process with piped standard input and output (standard error is ours).
class GitChild {
public:
    GitChild(std::string_view git_dir, std::vector<std::string> args);
    ~GitChild();
    GitChild(const GitChild&) = delete;
    GitChild& operator=(const GitChild&) = delete;

    Fd& in() { return in_; }
    Fd& out() { return out_; }
    // Waits for the exit; throws unless it was a success.
    void finish();

private:
    void reap() noexcept;
    std::string name_;
    Fd in_, out_;
    pid_t pid_ = -1;
};

// One line of `git diff-tree --raw`: a path whose entry differs between the two trees.
struct RawChange {
    std::uint32_t old_mode = 0, new_mode = 0;  // 0: no entry on that side
    git_oid old_id{}, new_id{};
    std::string path;
};

// `git diff-tree --stdin -r --raw --root`, fed by a thread: for each request (a commit and one
// of its parents, or a root commit alone), one section in request order.
class DiffStream {
public:
    struct Request {
        git_oid commit;
        const git_oid* parent;  // null: a root commit, diffed against the empty tree
    };
    DiffStream(std::string_view git_dir, std::vector<Request> requests);
    ~DiffStream();
    DiffStream(const DiffStream&) = delete;
    DiffStream& operator=(const DiffStream&) = delete;

    // The next section, which must be that of `commit`; `out` is replaced by its entries.
    void next(const git_oid& commit, std::vector<RawChange>& out);
    // After the last section: the process ended well.
    void finish();

private:
    void stop() noexcept;
    GitChild git_;
    Reader reader_;
    std::thread writer_;
    std::string token_;
};

// `git cat-file --batch`: blobs by id, answered in request order. Requests go to cat-file
// through a thread, so that it works ahead of us instead of waiting for a round trip per
// batch (which, on a busy machine, costs a scheduler time slice each).
class BlobReader {
public:
    explicit BlobReader(std::string_view git_dir);
    ~BlobReader();
    BlobReader(const BlobReader&) = delete;
    BlobReader& operator=(const BlobReader&) = delete;

    // Queues a request; send() passes the queued ones on to cat-file.
    void request(const git_oid& id) { unsent_.push_back(id); }
    std::size_t unsent() const { return unsent_.size(); }
    void send();
    // Requested blobs whose answer was not taken yet.
    std::size_t outstanding() const { return asked_.size() - taken_; }
    // Whether next() can start without waiting for cat-file.
    bool ready();
    // The bytes of the oldest requested blob not taken yet, valid until the next call; `path`
    // names the file in the error when cat-file does not have it.
    std::span<const std::uint8_t> next(std::string_view path);
    // After the last answer: cat-file ended well.
    void finish();

private:
    void writer() noexcept;
    void stop() noexcept;
    GitChild git_;
    Reader reader_;
    Fd requests_;  // cat-file's standard input, written by writer_ only
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<git_oid> queue_;  // sent, not written yet (under mutex_)
    bool closing_ = false;        // under mutex_
    std::vector<git_oid> unsent_, asked_;
    std::size_t taken_ = 0;
    std::vector<std::uint8_t> blob_;
    std::string line_;
    std::thread writer_;
};

}  // namespace gitsops::git::scanning
