// The clean filter's memory of its own results, so that `git status` stays quiet without a
// private key (the way git-agecrypt keeps its sidecar files, but keyed and in one file).
//
// SOPS output is randomised (a data key and IVs per encryption), so cleaning the same plaintext
// twice gives two different blobs and git would call the file modified. With a key, clean
// decrypts the staged blob and reuses it; without one it asks this cache instead: "the last
// time this exact plaintext at this path went through clean or smudge, which blob did it
// become?". Entries map HMAC-SHA-256(repository key, path || plaintext) to a blob id. The
// repository key is 32 random bytes that never leave the machine, so the cache is not a
// plaintext oracle: without the key, nobody can test a guess against it.
//
// Files, under <common git dir>/git-sops/ (shared by linked worktrees), both mode 0600:
//   clean-cache.key  the 32-byte key, created once;
//   clean-cache      "GSCLEAN1" then 52-byte records (digest, blob id), oldest first.
// The cache is an optimisation: losing it costs stability, never safety. Callers must still
// check that a blob it names is a valid sops file before reusing it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/secure.hpp"
#include "git/repo.hpp"

namespace gitsops::git {

class CleanCache {
public:
    using Digest = std::array<std::uint8_t, 32>;
    // About 5 MB of records: every version of 10,000 files many times over.
    static constexpr std::size_t default_capacity = 100'000;

    // Opens the cache in `dir`, creating the folder (0700) and the key on first use and reading
    // the records another process left. A missing or damaged record file counts as empty.
    // Throws Error when the folder or the key cannot be created or read.
    explicit CleanCache(std::filesystem::path dir, std::size_t capacity = default_capacity);

    // The key under which `plaintext` at `path` (relative to the worktree top) is remembered.
    Digest digest(std::string_view path, std::span<const std::uint8_t> plaintext) const;

    std::optional<Oid> find(const Digest& digest) const;
    // Kept in memory until flush(); a later entry for the same digest replaces an earlier one.
    void remember(const Digest& digest, const Oid& blob);

    // Merges the entries remembered since the last flush into the file, on top of whatever other
    // processes wrote meanwhile, dropping the oldest beyond the capacity. Takes
    // `clean-cache.lock` (waiting up to about a second; a lock older than a minute is stale).
    // Returns false, with nothing written, when the lock could not be taken; throws Error when
    // writing fails.
    bool flush();

    std::size_t size() const { return entries_.size(); }
    bool dirty() const { return !pending_.empty(); }

    static std::filesystem::path key_file(const std::filesystem::path& dir);
    static std::filesystem::path data_file(const std::filesystem::path& dir);

private:
    struct DigestHash {
        std::size_t operator()(const Digest& d) const noexcept;
    };
    struct Record {
        Digest digest;
        Oid blob;
    };

    void load();

    std::filesystem::path dir_;
    std::size_t capacity_;
    FixedSecret<32> key_;
    std::unordered_map<Digest, Oid, DigestHash> entries_;
    std::vector<Record> pending_;  // remembered since the last flush, in order
};

namespace clean_cache_detail {

inline constexpr std::string_view magic = "GSCLEAN1";
inline constexpr std::size_t record_size = 32 + Oid::size;

// The records of a cache file, oldest first; empty for a wrong magic. A torn last record (a
// writer that died mid-write) is dropped.
std::vector<std::pair<CleanCache::Digest, Oid>> parse(std::span<const std::uint8_t> file);
std::vector<std::uint8_t> serialise(std::span<const std::pair<CleanCache::Digest, Oid>> records);

}  // namespace clean_cache_detail

}  // namespace gitsops::git
