// libgit2, wrapped: one owner per handle (unique_ptr with the matching git_*_free), typed ids,
// and every failure turned into gitsops::Error carrying libgit2's own explanation.
//
// Lifetimes follow libgit2's rule: an Index, Blob, Tree, Commit, Revwalk or Config obtained
// from a Repository must not outlive it.
//
// libgit2 does not run filters, textconv or merge drivers (libgit2#3373): a Blob here is always
// the stored form, i.e. what the clean filter produced.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// libgit2's handle types, so that users of this header need not include <git2.h>.
struct git_repository;
struct git_index;
struct git_object;
struct git_blob;
struct git_tree;
struct git_commit;
struct git_revwalk;
struct git_config;

namespace gitsops::git {

// Keeps libgit2 initialised while any copy is alive (git_libgit2_init/shutdown count references).
class Library {
public:
    Library();
    Library(const Library&);
    Library& operator=(const Library&) noexcept { return *this; }
    ~Library();
};

namespace detail {
struct Free {
    void operator()(git_repository* p) const noexcept;
    void operator()(git_index* p) const noexcept;
    void operator()(git_object* p) const noexcept;
    void operator()(git_blob* p) const noexcept;
    void operator()(git_tree* p) const noexcept;
    void operator()(git_commit* p) const noexcept;
    void operator()(git_revwalk* p) const noexcept;
    void operator()(git_config* p) const noexcept;
};
template <class T>
using Handle = std::unique_ptr<T, Free>;
}  // namespace detail

// An object id. SHA-1 only: libgit2 1.5 cannot open SHA-256 repositories.
class Oid {
public:
    static constexpr std::size_t size = 20;

    Oid() = default;  // all zeros, git's "no object" in ref updates
    explicit Oid(std::span<const std::uint8_t, size> raw);
    static Oid from_hex(std::string_view hex);  // exactly 40 hex digits, else Error

    std::string hex() const;
    bool is_zero() const;
    std::span<const std::uint8_t, size> bytes() const { return raw_; }
    auto operator<=>(const Oid&) const = default;

private:
    std::array<std::uint8_t, size> raw_{};
};

class Blob {
public:
    Oid id() const;
    // The raw stored bytes; valid while this Blob lives.
    std::span<const std::uint8_t> bytes() const;

private:
    friend class Repository;
    explicit Blob(detail::Handle<git_blob> b) : blob_(std::move(b)) {}
    detail::Handle<git_blob> blob_;
};

class Tree {
public:
    Oid id() const;
    // The id of the entry at a slash-separated path (any depth); nullopt when absent.
    std::optional<Oid> entry_id(std::string_view path) const;

private:
    friend class Repository;
    friend class Commit;
    explicit Tree(detail::Handle<git_tree> t) : tree_(std::move(t)) {}
    detail::Handle<git_tree> tree_;
};

class Commit {
public:
    Oid id() const;
    Tree tree() const;
    std::size_t parent_count() const;
    Oid parent_id(std::size_t n) const;
    std::string summary() const;  // first paragraph of the message, on one line

private:
    friend class Repository;
    explicit Commit(detail::Handle<git_commit> c) : commit_(std::move(c)) {}
    detail::Handle<git_commit> commit_;
};

struct IndexEntry {
    std::string path;
    Oid id;
    std::uint32_t mode = 0;  // 0100644, 0100755, 0120000 (symlink), 0160000 (submodule)
    int stage = 0;           // 0 normally; 1-3 for the sides of an unresolved conflict
};

class Index {
public:
    std::size_t size() const;
    std::vector<IndexEntry> entries() const;
    std::optional<IndexEntry> find(std::string_view path, int stage = 0) const;
    std::optional<Oid> blob_id(std::string_view path) const;  // stage 0 only
    // Re-reads the index file when another process (git itself) has changed it.
    void reload();
    // Marks a conflicted path resolved: its stages 1-3 give way to one stage-0 entry for `blob`,
    // and the index file is written. The entry has no stat data, so git re-checks the worktree
    // file (through the clean filter) on its next look instead of trusting it.
    void resolve(std::string_view path, const Oid& blob, std::uint32_t mode);

private:
    friend class Repository;
    explicit Index(detail::Handle<git_index> i) : index_(std::move(i)) {}
    detail::Handle<git_index> index_;
};

class Revwalk {
public:
    enum Sort : unsigned { none = 0, topological = 1, time = 2, reverse = 4 };
    void sort(unsigned mode);
    void push(const Oid& commit);
    void push_head();
    void hide(const Oid& commit);
    void hide_glob(std::string_view glob);  // e.g. "refs/*": everything the repository has
    std::optional<Oid> next();

private:
    friend class Repository;
    explicit Revwalk(detail::Handle<git_revwalk> w) : walk_(std::move(w)) {}
    detail::Handle<git_revwalk> walk_;
};

class Config {
public:
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<bool> get_bool(std::string_view key) const;
    // A path value with "~/" expanded, as git does for core.hooksPath.
    std::optional<std::filesystem::path> get_path(std::string_view key) const;
    void set_string(std::string_view key, std::string_view value);
    bool remove(std::string_view key);  // false when the key was not set at this level

private:
    friend class Repository;
    explicit Config(detail::Handle<git_config> c) : config_(std::move(c)) {}
    detail::Handle<git_config> config_;
};

class Repository {
public:
    // Exactly the repository at `path` (a worktree top or a git dir); no search upwards.
    static Repository open(const std::filesystem::path& path);
    // Searches upwards from `start`, as git does from the current folder.
    static Repository discover(const std::filesystem::path& start = ".");
    // As git's environment describes it: GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE (the index a
    // pre-commit hook must check, possibly temporary), GIT_OBJECT_DIRECTORY and
    // GIT_ALTERNATE_OBJECT_DIRECTORIES (the quarantine a pre-receive hook sees), GIT_NAMESPACE,
    // GIT_CEILING_DIRECTORIES; otherwise discovery from the current folder. Use this in commands,
    // filters and hooks.
    static Repository open_from_env();

    std::filesystem::path git_dir() const;     // this worktree's: .git, or .git/worktrees/<name>
    std::filesystem::path common_dir() const;  // shared by all worktrees: config, hooks, objects
    std::optional<std::filesystem::path> workdir() const;  // nullopt for a bare repository
    bool is_bare() const;

    Config config() const;        // every level (system, global, local, worktree), for reading
    Config local_config() const;  // the repository's own config file, for writing
    Index index() const;

    Blob blob(const Oid& id) const;
    Commit commit(const Oid& id) const;
    // The commit a revision names ("HEAD", a branch, an id); nullopt when it does not exist or
    // HEAD is unborn.
    std::optional<Oid> resolve_commit(std::string_view rev) const;
    // The blob at `path` in the tree of `rev`; nullopt when the revision or the path is absent
    // or the path is not a blob.
    std::optional<Blob> blob_at(std::string_view rev, std::string_view path) const;
    Revwalk revwalk() const;
    // Stores `bytes` as a blob (already in their stored, i.e. encrypted, form).
    Oid write_blob(std::span<const std::uint8_t> bytes) const;

    git_repository* raw() const { return repo_.get(); }

private:
    explicit Repository(detail::Handle<git_repository> r) : repo_(std::move(r)) {}

    Library lib_;  // first member: initialised before and shut down after the handle
    detail::Handle<git_repository> repo_;
};

}  // namespace gitsops::git
