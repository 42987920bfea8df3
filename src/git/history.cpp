// git diff-tree and git cat-file as long-running children of a history scan (see history.hpp).
#include "git/history.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstring>

#include "base/error.hpp"
#include "base/io.hpp"
#include "base/process.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::git::scanning {

namespace {

std::string oid_hex(const git_oid& id) {
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, &id);
    return buf;
}

std::string errno_text(int e) { return std::strerror(e); }

using process::Pipe;

std::uint32_t parse_mode(std::string_view octal, std::string_view line) {
    std::uint32_t mode = 0;
    const auto [end, ec] = std::from_chars(octal.data(), octal.data() + octal.size(), mode, 8);
    if (ec != std::errc() || end != octal.data() + octal.size())
        throw Error("unexpected output from git diff-tree: '" + std::string(line) + "'");
    return mode;
}

git_oid parse_oid(std::string_view hex, std::string_view what) {
    git_oid id;
    if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstrn(&id, hex.data(), hex.size()) < 0)
        throw Error("unexpected output from " + std::string(what) + ": '" + std::string(hex) + "'");
    return id;
}

// The diff-tree requests as text: "<commit> <parent>" or "<commit>" per line.
void write_requests(Fd fd, const std::vector<DiffStream::Request>& requests) noexcept {
    // Our SIGPIPE is blocked in this thread only, so a diff-tree that died makes write() fail
    // with EPIPE (the main thread reports it) instead of killing the process.
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    try {
        std::string chunk;
        for (std::size_t k = 0; k < requests.size(); ++k) {
            chunk += oid_hex(requests[k].commit);
            if (requests[k].parent) chunk.append(1, ' ').append(oid_hex(*requests[k].parent));
            chunk += '\n';
            if (chunk.size() >= 16384 || k + 1 == requests.size()) {
                io::write_all(fd.get(), chunk);  // throws when diff-tree is gone: the stream ends early
                chunk.clear();
            }
        }
    } catch (...) {  // diff-tree gone, or out of memory: the main thread sees the stream end early
    }
}

}  // namespace

// ---- Reader ------------------------------------------------------------------------------------

Reader::~Reader() { crypto::wipe(buffer_); }  // blob bytes passed through it

bool Reader::fill() {
    for (;;) {
        const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error("cannot read from " + what_ + ": " + errno_text(errno));
        begin_ = 0;
        end_ = static_cast<std::size_t>(n);
        return n > 0;
    }
}

bool Reader::available() {
    if (begin_ != end_) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;  // readable, or at its end (which the read then reports)
}

int Reader::peek() {
    if (begin_ == end_ && !fill()) return -1;
    return buffer_[begin_];
}

void Reader::until(char delimiter, std::string& out) {
    out.clear();
    for (;;) {
        if (begin_ == end_ && !fill()) throw Error(what_ + " ended early");
        const auto* start = reinterpret_cast<const char*>(buffer_.data()) + begin_;
        const auto* found = static_cast<const char*>(std::memchr(start, delimiter, end_ - begin_));
        if (found) {
            out.append(start, found);
            begin_ += static_cast<std::size_t>(found - start) + 1;
            return;
        }
        out.append(start, end_ - begin_);
        begin_ = end_;
    }
}

void Reader::exactly(std::span<std::uint8_t> out) {
    while (!out.empty()) {
        if (begin_ == end_ && !fill()) throw Error(what_ + " ended early");
        const std::size_t n = std::min(out.size(), end_ - begin_);
        std::memcpy(out.data(), buffer_.data() + begin_, n);
        begin_ += n;
        out = out.subspan(n);
    }
}

// ---- GitChild ----------------------------------------------------------------------------------

GitChild::GitChild(std::string_view git_dir, std::vector<std::string> args) : name_("git " + args.front()) {
    Pipe to_child, from_child;
    std::vector<std::string> argv{"git", "--git-dir=" + std::string(git_dir)};
    argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    // Replacement objects off: libgit2 1.5, which reads the commits and trees of the same scan,
    // does not apply them either. The age key is of no use to git.
    const auto env = process::environment({"SOPS_AGE_KEY"}, {"GIT_NO_REPLACE_OBJECTS=1"});
    pid_ = process::spawn(argv, env, process::Stdio{to_child.read.get(), from_child.write.get()});
    in_ = std::move(to_child.write);
    out_ = std::move(from_child.read);
}

GitChild::~GitChild() { reap(); }

void GitChild::reap() noexcept {
    in_.reset();
    out_.reset();  // a child still writing gets EPIPE and ends
    if (pid_ < 0) return;
    try {
        process::wait(pid_);
    } catch (...) {  // waitpid itself failed: nothing left to do
    }
    pid_ = -1;
}

void GitChild::finish() {
    in_.reset();
    out_.reset();
    const pid_t pid = std::exchange(pid_, -1);
    const process::ExitStatus status = process::wait(pid);
    if (!status.ok()) throw Error(name_ + " failed (" + status.describe() + ")");
}

// ---- DiffStream --------------------------------------------------------------------------------

DiffStream::DiffStream(std::string_view git_dir, std::vector<Request> requests)
    // -z: paths as they are (no quoting); --always: a header even for an empty diff, so that
    // each request has its section; --no-renames: every new path is a new file.
    : git_(git_dir, {"diff-tree", "--stdin", "-r", "--raw", "--root", "--no-abbrev", "--always", "--no-renames", "-z"}),
      reader_(git_.out().get(), "git diff-tree") {
    writer_ = std::thread(
        [fd = std::move(git_.in()), requests = std::move(requests)]() mutable { write_requests(std::move(fd), requests); });
}

DiffStream::~DiffStream() { stop(); }

void DiffStream::stop() noexcept {
    git_.out().reset();  // diff-tree ends at its next write, then the writer at its next one
    if (writer_.joinable()) writer_.join();
}

void DiffStream::next(const git_oid& commit, std::vector<RawChange>& out) {
    reader_.until('\0', token_);
    const std::string expected = oid_hex(commit);
    if (token_ != expected)
        throw Error("git diff-tree answered '" + token_.substr(0, 80) + "' where commit " + expected + " was due");
    std::size_t n = 0;
    // ":<old mode> <new mode> <old id> <new id> <status>" NUL "<path>" NUL
    constexpr std::size_t kHex = GIT_OID_HEXSZ, kMinimum = 1 + 7 + 7 + 2 * (kHex + 1) + 1;
    while (reader_.peek() == ':') {
        reader_.until('\0', token_);
        if (token_.size() < kMinimum) throw Error("unexpected output from git diff-tree: '" + token_ + "'");
        if (n == out.size()) out.emplace_back();
        RawChange& c = out[n++];
        const std::string_view line(token_);
        c.old_mode = parse_mode(line.substr(1, 6), line);
        c.new_mode = parse_mode(line.substr(8, 6), line);
        c.old_id = parse_oid(line.substr(15, kHex), "git diff-tree");
        c.new_id = parse_oid(line.substr(16 + kHex, kHex), "git diff-tree");
        reader_.until('\0', c.path);
    }
    out.resize(n);
}

void DiffStream::finish() {
    if (reader_.peek() != -1) throw Error("git diff-tree answered more than it was asked");
    writer_.join();
    git_.finish();
}

// ---- BlobReader --------------------------------------------------------------------------------

BlobReader::BlobReader(std::string_view git_dir)
    : git_(git_dir, {"cat-file", "--batch"}),
      reader_(git_.out().get(), "git cat-file"),
      requests_(std::move(git_.in())),
      writer_([this] { writer(); }) {}

BlobReader::~BlobReader() {
    stop();
    crypto::wipe(blob_);
}

void BlobReader::stop() noexcept {
    {
        const std::lock_guard lock(mutex_);
        closing_ = true;
    }
    wake_.notify_one();
    git_.out().reset();  // cat-file ends at its next write, then the writer at its next one
    if (writer_.joinable()) writer_.join();
}

void BlobReader::writer() noexcept {
    sigset_t pipe_only;  // as in write_requests: EPIPE instead of SIGPIPE
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    try {
        std::vector<git_oid> batch;
        std::string text;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
                if (queue_.empty()) break;  // closing, everything written
                batch.swap(queue_);
            }
            text.clear();
            for (const auto& id : batch) text.append(oid_hex(id)).push_back('\n');
            batch.clear();
            io::write_all(requests_.get(), text);  // throws when cat-file is gone: next() will say so
        }
    } catch (...) {  // cat-file gone, or out of memory: cat-file sees the end of its input, next() an early end
    }
    requests_.reset();
}

void BlobReader::send() {
    if (unsent_.empty()) return;
    asked_.insert(asked_.end(), unsent_.begin(), unsent_.end());
    {
        const std::lock_guard lock(mutex_);
        queue_.insert(queue_.end(), unsent_.begin(), unsent_.end());
    }
    wake_.notify_one();
    unsent_.clear();
}

bool BlobReader::ready() { return outstanding() > 0 && reader_.available(); }

std::span<const std::uint8_t> BlobReader::next(std::string_view path) {
    send();
    if (outstanding() == 0) throw Error("internal: a blob was taken that was never requested");
    const git_oid id = asked_[taken_++];
    if (taken_ == asked_.size()) asked_.clear(), taken_ = 0;  // keeps asked_ small between bursts
    crypto::wipe(blob_);
    // "<id> blob <size>" LF <bytes> LF, or "<id> missing" LF
    reader_.until('\n', line_);
    const std::string_view line(line_);
    const std::string expected = oid_hex(id);
    if (!line.starts_with(expected + " blob "))
        throw Error("cannot read " + std::string(path) + " (blob " + expected + "): git cat-file answered '" +
                    line_.substr(0, 80) + "'");
    const std::string_view size_text = line.substr(expected.size() + 6);
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (ec != std::errc() || end != size_text.data() + size_text.size())
        throw Error("unexpected output from git cat-file: '" + line_.substr(0, 80) + "'");
    blob_.resize(size);
    reader_.exactly(blob_);
    std::uint8_t lf = 0;
    reader_.exactly(std::span(&lf, 1));
    if (lf != '\n') throw Error("unexpected output from git cat-file after blob " + expected);
    return blob_;
}

void BlobReader::finish() {
    crypto::wipe(blob_);
    {
        const std::lock_guard lock(mutex_);
        closing_ = true;
    }
    wake_.notify_one();
    writer_.join();
    if (reader_.peek() != -1) throw Error("git cat-file answered more than it was asked");
    git_.finish();
}

}  // namespace gitsops::git::scanning
