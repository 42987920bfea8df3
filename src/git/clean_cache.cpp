#include "git/clean_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>

#include "base/error.hpp"
#include "base/io.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::git {

namespace fs = std::filesystem;

namespace clean_cache_detail {

std::vector<std::pair<CleanCache::Digest, Oid>> parse(std::span<const std::uint8_t> file) {
    std::vector<std::pair<CleanCache::Digest, Oid>> out;
    if (file.size() < magic.size() || view_of(file.first(magic.size())) != magic) return out;
    file = file.subspan(magic.size());
    out.reserve(file.size() / record_size);
    while (file.size() >= record_size) {
        CleanCache::Digest d{};
        std::copy_n(file.begin(), d.size(), d.begin());
        out.emplace_back(d, Oid(file.subspan(d.size()).first<Oid::size>()));
        file = file.subspan(record_size);
    }
    return out;
}

std::vector<std::uint8_t> serialise(std::span<const std::pair<CleanCache::Digest, Oid>> records) {
    // Sized once and filled in place (GCC 12 misreads repeated insert() after reserve()).
    std::vector<std::uint8_t> out(magic.size() + records.size() * record_size);
    std::memcpy(out.data(), magic.data(), magic.size());
    std::size_t at = magic.size();
    for (const auto& [digest, blob] : records) {
        std::memcpy(out.data() + at, digest.data(), digest.size());
        std::memcpy(out.data() + at + digest.size(), blob.bytes().data(), Oid::size);
        at += record_size;
    }
    return out;
}

}  // namespace clean_cache_detail

namespace {

using namespace clean_cache_detail;
using Records = std::vector<std::pair<CleanCache::Digest, Oid>>;

constexpr std::string_view kDomain = "git-sops clean cache v1";
constexpr auto kLockWait = std::chrono::milliseconds(1000);
constexpr auto kLockPoll = std::chrono::milliseconds(10);
constexpr auto kStaleLock = std::chrono::seconds(60);

std::string errno_text() { return std::strerror(errno); }

fs::path lock_file(const fs::path& dir) { return dir / "clean-cache.lock"; }

void make_private_dir(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return;
    fs::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw Error(dir.string(), "cannot create the git-sops folder: " + errno_text());
}

std::optional<FixedSecret<32>> read_key(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return std::nullopt;
    const SecureBytes bytes = io::read_file_secure(file);
    if (bytes.size() != 32)
        throw Error(file.string(), "the clean cache key is " + std::to_string(bytes.size()) +
                                       " bytes long, not 32; delete it (and clean-cache beside it) to start anew");
    return FixedSecret<32>(bytes);
}

// Publishes a new random key with link(2), which fails if another process got there first, so
// two processes starting together end up with the same key.
void create_key(const fs::path& file) {
    fs::path tmp = file;
    tmp += ".XXXXXX";
    std::string name = tmp.string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw Error(file.parent_path().string(), "cannot create the clean cache key: " + errno_text());
    FixedSecret<32> key;
    crypto::random_bytes(key.span());
    bool ok = ::fchmod(fd, 0600) == 0;
    try {
        if (ok) io::write_all(fd, key.span());
        ok = ok && ::fsync(fd) == 0;
    } catch (const Error&) {
        ok = false;
    }
    const int saved = errno;
    ::close(fd);
    const bool linked = ok && (::link(name.c_str(), file.c_str()) == 0 || errno == EEXIST);
    ::unlink(name.c_str());
    if (!linked) {
        errno = ok ? errno : saved;
        throw Error(file.string(), "cannot write the clean cache key: " + errno_text());
    }
}

bool lock_is_stale(const fs::path& lock) {
    struct stat st {};
    if (::stat(lock.c_str(), &st) != 0) return false;
    const auto age = std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime);
    return age > kStaleLock;
}

// <dir>/clean-cache.lock, held for one merge-and-rename.
class Lock {
public:
    explicit Lock(fs::path file) : file_(std::move(file)) {
        const auto deadline = std::chrono::steady_clock::now() + kLockWait;
        for (;;) {
            const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd >= 0) {
                ::close(fd);
                held_ = true;
                return;
            }
            if (errno != EEXIST) return;
            if (lock_is_stale(file_)) {  // a process that died holding it
                ::unlink(file_.c_str());
                continue;
            }
            if (std::chrono::steady_clock::now() >= deadline) return;
            std::this_thread::sleep_for(kLockPoll);
        }
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() {
        if (held_) ::unlink(file_.c_str());
    }
    bool held() const { return held_; }

private:
    fs::path file_;
    bool held_ = false;
};

Records read_records(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) return {};
    try {
        return parse(bytes_of(io::read_file(file)));
    } catch (const Error&) {
        return {};  // unreadable counts as empty: the cache only saves work
    }
}

// Newest entry per digest wins; the oldest go first when over capacity. Keeps file order.
Records merged(Records records, std::size_t capacity) {
    std::unordered_set<std::string_view> seen;
    Records kept;
    kept.reserve(std::min(records.size(), capacity));
    for (auto it = records.rbegin(); it != records.rend() && kept.size() < capacity; ++it) {
        const std::string_view key = view_of(it->first);
        if (seen.insert(key).second) kept.push_back(*it);
    }
    std::reverse(kept.begin(), kept.end());
    return kept;
}

}  // namespace

std::size_t CleanCache::DigestHash::operator()(const Digest& d) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);  // the digest is an HMAC: already uniformly spread
    return h;
}

fs::path CleanCache::key_file(const fs::path& dir) { return dir / "clean-cache.key"; }
fs::path CleanCache::data_file(const fs::path& dir) { return dir / "clean-cache"; }

CleanCache::CleanCache(fs::path dir, std::size_t capacity) : dir_(std::move(dir)), capacity_(std::max<std::size_t>(capacity, 1)) {
    make_private_dir(dir_);
    auto key = read_key(key_file(dir_));
    if (!key) {
        create_key(key_file(dir_));
        key = read_key(key_file(dir_));
    }
    key_ = std::move(*key);
    load();
}

void CleanCache::load() {
    entries_.clear();
    for (const auto& [digest, blob] : read_records(data_file(dir_))) entries_[digest] = blob;
}

CleanCache::Digest CleanCache::digest(std::string_view path, std::span<const std::uint8_t> plaintext) const {
    // Length-prefixed path, so that no (path, plaintext) pair can collide with another split.
    std::array<std::uint8_t, 8> length{};
    std::uint64_t n = path.size();
    for (auto& b : length) {
        b = static_cast<std::uint8_t>(n & 0xff);
        n >>= 8;
    }
    crypto::HmacSha256 mac(key_.span());
    mac.update(bytes_of(kDomain));
    mac.update(length);
    mac.update(bytes_of(path));
    mac.update(plaintext);
    return mac.final();
}

std::optional<Oid> CleanCache::find(const Digest& digest) const {
    const auto it = entries_.find(digest);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

void CleanCache::remember(const Digest& digest, const Oid& blob) {
    auto [it, inserted] = entries_.try_emplace(digest, blob);
    if (!inserted && it->second == blob) return;  // nothing new to write
    it->second = blob;
    pending_.push_back(Record{digest, blob});
}

bool CleanCache::flush() {
    if (pending_.empty()) return true;
    const Lock lock(lock_file(dir_));
    if (!lock.held()) return false;
    Records records = read_records(data_file(dir_));
    records.reserve(records.size() + pending_.size());
    for (const auto& r : pending_) records.emplace_back(r.digest, r.blob);
    records = merged(std::move(records), capacity_);
    io::atomic_write(data_file(dir_), serialise(records), 0600);
    pending_.clear();
    entries_.clear();
    for (const auto& [digest, blob] : records) entries_[digest] = blob;
    return true;
}

}  // namespace gitsops::git
