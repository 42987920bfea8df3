#include "git/repo.hpp"

#include <git2.h>
#include <git2/sys/repository.h>

#include <cstring>
#include <iterator>

#include "base/error.hpp"
#include "base/io.hpp"

namespace gitsops::git {

namespace fs = std::filesystem;

namespace {

// libgit2 keeps the reason for the last failure per thread; it is the most useful thing to show.
[[noreturn]] void throw_last_error(std::string_view action) {
    const git_error* e = git_error_last();
    throw Error(action, e && e->message ? e->message : "libgit2 failed without a reason");
}

void check(int rc, std::string_view action) {
    if (rc < 0) throw_last_error(action);
}

// libgit2 takes NUL-terminated strings; string_views at our boundary are not.
std::string z(std::string_view s) { return std::string(s); }

// libgit2 reports folders with a trailing slash; std::filesystem prefers none.
fs::path folder(const char* p) {
    std::string s = p ? p : "";
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return fs::path(s);
}

Oid from_git(const git_oid* id) { return Oid(std::span<const std::uint8_t, Oid::size>(id->id, Oid::size)); }

git_oid to_git(const Oid& id) {
    git_oid out;
    std::memcpy(out.id, id.bytes().data(), Oid::size);
    return out;
}

// RAII for git_buf: libgit2 owns the memory until git_buf_dispose.
struct Buf {
    git_buf b = GIT_BUF_INIT;
    Buf() = default;
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    ~Buf() { git_buf_dispose(&b); }
    std::string str() const { return std::string(b.ptr ? b.ptr : "", b.size); }
};

// Whether libgit2 already uses `dir` as the workdir: git_repository_set_workdir compares the
// resolved path with a trailing '/' to the current one and returns early when equal, and in
// libgit2 1.5 that early return leaks the resolved path (LeakSanitizer, on every filter run
// git starts with GIT_WORK_TREE set). Skipping the call then changes nothing else.
bool is_workdir_already(git_repository* r, const std::string& dir) {
    const char* current = git_repository_workdir(r);
    std::error_code ec;
    const fs::path resolved = fs::canonical(dir, ec);
    return current && !ec && resolved.string() + "/" == current;
}

// Opening with GIT_REPOSITORY_OPEN_FROM_ENV in libgit2 1.5 refuses GIT_WORK_TREE and
// GIT_COMMON_DIR (support came in 1.7). Users and scripts do set GIT_WORK_TREE, so in that case
// apply the same variables by hand. GIT_COMMON_DIR cannot be overridden in 1.5; the worktree's
// own "commondir" file, which git writes for every linked worktree, is used instead.
detail::Handle<git_repository> open_env_by_hand() {
    git_repository* r = nullptr;
    const auto git_dir = io::getenv("GIT_DIR");
    const auto ceiling = io::getenv("GIT_CEILING_DIRECTORIES");
    if (git_dir)
        check(git_repository_open_ext(&r, git_dir->c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr),
              "cannot open the repository in GIT_DIR " + *git_dir);
    else
        check(git_repository_open_ext(&r, ".", 0, ceiling ? ceiling->c_str() : nullptr),
              "not in a git repository");
    detail::Handle<git_repository> repo(r);

    if (auto wt = io::getenv("GIT_WORK_TREE"); wt && !wt->empty() && !is_workdir_already(r, *wt))
        check(git_repository_set_workdir(r, wt->c_str(), 0), "cannot use GIT_WORK_TREE " + *wt);

    if (auto objects = io::getenv("GIT_OBJECT_DIRECTORY"); objects && !objects->empty()) {
        git_odb* odb = nullptr;
        check(git_odb_open(&odb, objects->c_str()), "cannot open GIT_OBJECT_DIRECTORY " + *objects);
        std::unique_ptr<git_odb, decltype(&git_odb_free)> guard(odb, git_odb_free);
        check(git_repository_set_odb(r, odb), "cannot use GIT_OBJECT_DIRECTORY");
    }
    if (auto alternates = io::getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES"); alternates && !alternates->empty()) {
        git_odb* odb = nullptr;
        check(git_repository_odb(&odb, r), "cannot open the object database");
        std::unique_ptr<git_odb, decltype(&git_odb_free)> guard(odb, git_odb_free);
        std::string_view rest = *alternates;
        while (!rest.empty()) {  // like libgit2, no undoing of git's C-quoting (paths with ':')
            const auto colon = rest.find(':');
            const std::string one(rest.substr(0, colon));
            if (!one.empty())
                check(git_odb_add_disk_alternate(odb, one.c_str()), "cannot add alternate object directory " + one);
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        }
    }
    if (auto index = io::getenv("GIT_INDEX_FILE"); index && !index->empty()) {
        git_index* i = nullptr;
        check(git_index_open(&i, index->c_str()), "cannot open GIT_INDEX_FILE " + *index);
        detail::Handle<git_index> guard(i);
        check(git_repository_set_index(r, i), "cannot use GIT_INDEX_FILE");
    }
    if (auto ns = io::getenv("GIT_NAMESPACE"); ns && !ns->empty())
        check(git_repository_set_namespace(r, ns->c_str()), "cannot use GIT_NAMESPACE");
    return repo;
}

}  // namespace

// ---- Library, deleters, Oid ------------------------------------------------------------------

Library::Library() {
    const int count = git_libgit2_init();
    if (count < 0) throw_last_error("cannot initialise libgit2");
    if (count == 1) {
        // `git sparse-checkout` and `git worktree` users turn on extensions.worktreeConfig, and
        // libgit2 1.5 refuses to open such repositories unless told the extension is fine. It
        // then reads the shared config only (not config.worktree), which is where install writes.
        const char* extensions[] = {"worktreeconfig"};
        if (git_libgit2_opts(GIT_OPT_SET_EXTENSIONS, extensions, std::size(extensions)) < 0)
            throw_last_error("cannot configure libgit2");
    }
}
Library::Library(const Library&) : Library() {}
Library::~Library() { git_libgit2_shutdown(); }

namespace detail {
void Free::operator()(git_repository* p) const noexcept { git_repository_free(p); }
void Free::operator()(git_index* p) const noexcept { git_index_free(p); }
void Free::operator()(git_object* p) const noexcept { git_object_free(p); }
void Free::operator()(git_blob* p) const noexcept { git_blob_free(p); }
void Free::operator()(git_tree* p) const noexcept { git_tree_free(p); }
void Free::operator()(git_commit* p) const noexcept { git_commit_free(p); }
void Free::operator()(git_revwalk* p) const noexcept { git_revwalk_free(p); }
void Free::operator()(git_config* p) const noexcept { git_config_free(p); }
}  // namespace detail

Oid::Oid(std::span<const std::uint8_t, size> raw) { std::memcpy(raw_.data(), raw.data(), size); }

Oid Oid::from_hex(std::string_view hex) {
    if (hex.size() != 2 * size || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
        throw Error("invalid object id '" + std::string(hex) + "' (expected 40 hex digits)");
    git_oid id;
    if (git_oid_fromstrn(&id, hex.data(), hex.size()) < 0) throw_last_error("invalid object id");
    return from_git(&id);
}

std::string Oid::hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * size);
    for (std::uint8_t b : raw_) {
        s.push_back(digits[b >> 4]);
        s.push_back(digits[b & 15]);
    }
    return s;
}

bool Oid::is_zero() const {
    for (std::uint8_t b : raw_)
        if (b) return false;
    return true;
}

// ---- Blob, Tree, Commit --------------------------------------------------------------------

Oid Blob::id() const { return from_git(git_blob_id(blob_.get())); }

std::span<const std::uint8_t> Blob::bytes() const {
    const auto* p = static_cast<const std::uint8_t*>(git_blob_rawcontent(blob_.get()));
    return {p, static_cast<std::size_t>(git_blob_rawsize(blob_.get()))};
}

Oid Tree::id() const { return from_git(git_tree_id(tree_.get())); }

std::optional<Oid> Tree::entry_id(std::string_view path) const {
    git_tree_entry* e = nullptr;
    int rc = git_tree_entry_bypath(&e, tree_.get(), z(path).c_str());
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    check(rc, "cannot look up " + std::string(path));
    std::unique_ptr<git_tree_entry, decltype(&git_tree_entry_free)> guard(e, git_tree_entry_free);
    return from_git(git_tree_entry_id(e));
}

Oid Commit::id() const { return from_git(git_commit_id(commit_.get())); }

Tree Commit::tree() const {
    git_tree* t = nullptr;
    check(git_commit_tree(&t, commit_.get()), "cannot read the tree of commit " + id().hex());
    return Tree(detail::Handle<git_tree>(t));
}

std::size_t Commit::parent_count() const { return git_commit_parentcount(commit_.get()); }

Oid Commit::parent_id(std::size_t n) const {
    const git_oid* p = git_commit_parent_id(commit_.get(), static_cast<unsigned>(n));
    if (!p) throw Error("commit " + id().hex() + " has no parent " + std::to_string(n));
    return from_git(p);
}

std::string Commit::summary() const {
    const char* s = git_commit_summary(commit_.get());
    return s ? s : "";
}

// ---- Index ---------------------------------------------------------------------------------

std::size_t Index::size() const { return git_index_entrycount(index_.get()); }

namespace {
IndexEntry entry_of(const git_index_entry* e) {
    return IndexEntry{e->path, from_git(&e->id), e->mode, git_index_entry_stage(e)};
}
}  // namespace

std::vector<IndexEntry> Index::entries() const {
    std::vector<IndexEntry> out;
    const std::size_t n = size();
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(entry_of(git_index_get_byindex(index_.get(), i)));
    return out;
}

std::optional<IndexEntry> Index::find(std::string_view path, int stage) const {
    const git_index_entry* e = git_index_get_bypath(index_.get(), z(path).c_str(), stage);
    if (!e) return std::nullopt;
    return entry_of(e);
}

std::optional<Oid> Index::blob_id(std::string_view path) const {
    auto e = find(path, 0);
    if (!e || (e->mode & 0170000) != 0100000) return std::nullopt;  // regular files only
    return e->id;
}

void Index::reload() { check(git_index_read(index_.get(), 0), "cannot read the index"); }

void Index::resolve(std::string_view path, const Oid& blob, std::uint32_t mode) {
    const std::string p = z(path);
    int rc = git_index_conflict_remove(index_.get(), p.c_str());
    if (rc != GIT_ENOTFOUND) check(rc, "cannot clear the conflict of " + p);
    git_index_entry entry{};
    entry.path = p.c_str();
    entry.mode = mode;
    entry.id = to_git(blob);
    check(git_index_add(index_.get(), &entry), "cannot stage " + p);
    check(git_index_write(index_.get()), "cannot write the index");
}

// ---- Revwalk -------------------------------------------------------------------------------

void Revwalk::sort(unsigned mode) { check(git_revwalk_sorting(walk_.get(), mode), "cannot sort the walk"); }

void Revwalk::push(const Oid& commit) {
    git_oid id = to_git(commit);
    check(git_revwalk_push(walk_.get(), &id), "cannot walk from " + commit.hex());
}

void Revwalk::push_head() { check(git_revwalk_push_head(walk_.get()), "cannot walk from HEAD"); }

void Revwalk::hide(const Oid& commit) {
    git_oid id = to_git(commit);
    check(git_revwalk_hide(walk_.get(), &id), "cannot hide " + commit.hex());
}

void Revwalk::hide_glob(std::string_view glob) {
    check(git_revwalk_hide_glob(walk_.get(), z(glob).c_str()), "cannot hide " + std::string(glob));
}

std::optional<Oid> Revwalk::next() {
    git_oid id;
    int rc = git_revwalk_next(&id, walk_.get());
    if (rc == GIT_ITEROVER) return std::nullopt;
    check(rc, "cannot walk the history");
    return from_git(&id);
}

// ---- Config --------------------------------------------------------------------------------

std::optional<std::string> Config::get_string(std::string_view key) const {
    Buf b;
    int rc = git_config_get_string_buf(&b.b, config_.get(), z(key).c_str());
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    check(rc, "cannot read config " + std::string(key));
    return b.str();
}

std::optional<bool> Config::get_bool(std::string_view key) const {
    int v = 0;
    int rc = git_config_get_bool(&v, config_.get(), z(key).c_str());
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    check(rc, "cannot read config " + std::string(key));
    return v != 0;
}

std::optional<fs::path> Config::get_path(std::string_view key) const {
    Buf b;
    int rc = git_config_get_path(&b.b, config_.get(), z(key).c_str());
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    check(rc, "cannot read config " + std::string(key));
    return fs::path(b.str());
}

void Config::set_string(std::string_view key, std::string_view value) {
    check(git_config_set_string(config_.get(), z(key).c_str(), z(value).c_str()),
          "cannot set config " + std::string(key));
}

bool Config::remove(std::string_view key) {
    int rc = git_config_delete_entry(config_.get(), z(key).c_str());
    if (rc == GIT_ENOTFOUND) return false;
    check(rc, "cannot remove config " + std::string(key));
    return true;
}

// ---- Repository ----------------------------------------------------------------------------

Repository Repository::open(const fs::path& path) {
    Library lib;
    git_repository* r = nullptr;
    check(git_repository_open_ext(&r, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr),
          "cannot open a git repository at " + path.string());
    return Repository(detail::Handle<git_repository>(r));
}

Repository Repository::discover(const fs::path& start) {
    Library lib;
    git_repository* r = nullptr;
    const auto ceiling = io::getenv("GIT_CEILING_DIRECTORIES");
    int rc = git_repository_open_ext(&r, start.c_str(), 0, ceiling ? ceiling->c_str() : nullptr);
    if (rc == GIT_ENOTFOUND) throw Error("not in a git repository (or any parent folder): " + start.string());
    check(rc, "cannot open the git repository containing " + start.string());
    return Repository(detail::Handle<git_repository>(r));
}

Repository Repository::open_from_env() {
    Library lib;
    if (io::getenv("GIT_WORK_TREE") || io::getenv("GIT_COMMON_DIR")) return Repository(open_env_by_hand());
    git_repository* r = nullptr;
    int rc = git_repository_open_ext(&r, nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
    if (rc == GIT_ENOTFOUND) throw Error("not in a git repository (or any parent folder)");
    check(rc, "cannot open the git repository");
    return Repository(detail::Handle<git_repository>(r));
}

fs::path Repository::git_dir() const { return folder(git_repository_path(repo_.get())); }
fs::path Repository::common_dir() const { return folder(git_repository_commondir(repo_.get())); }

std::optional<fs::path> Repository::workdir() const {
    const char* w = git_repository_workdir(repo_.get());
    if (!w) return std::nullopt;
    return folder(w);
}

bool Repository::is_bare() const { return git_repository_is_bare(repo_.get()) != 0; }

Config Repository::config() const {
    git_config* c = nullptr;
    check(git_repository_config(&c, repo_.get()), "cannot read the git configuration");
    return Config(detail::Handle<git_config>(c));
}

Config Repository::local_config() const {
    Config all = config();
    git_config* c = nullptr;
    check(git_config_open_level(&c, all.config_.get(), GIT_CONFIG_LEVEL_LOCAL),
          "cannot open the repository's config file");
    return Config(detail::Handle<git_config>(c));
}

Index Repository::index() const {
    git_index* i = nullptr;
    check(git_repository_index(&i, repo_.get()), "cannot read the index");
    return Index(detail::Handle<git_index>(i));
}

Blob Repository::blob(const Oid& id) const {
    git_blob* b = nullptr;
    git_oid gid = to_git(id);
    check(git_blob_lookup(&b, repo_.get(), &gid), "cannot read blob " + id.hex());
    return Blob(detail::Handle<git_blob>(b));
}

Oid Repository::write_blob(std::span<const std::uint8_t> bytes) const {
    git_oid id;
    check(git_blob_create_from_buffer(&id, repo_.get(), bytes.data(), bytes.size()), "cannot write a blob");
    return from_git(&id);
}

Commit Repository::commit(const Oid& id) const {
    git_commit* c = nullptr;
    git_oid gid = to_git(id);
    check(git_commit_lookup(&c, repo_.get(), &gid), "cannot read commit " + id.hex());
    return Commit(detail::Handle<git_commit>(c));
}

std::optional<Oid> Repository::resolve_commit(std::string_view rev) const {
    git_object* o = nullptr;
    int rc = git_revparse_single(&o, repo_.get(), z(rev).c_str());
    if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return std::nullopt;
    check(rc, "cannot resolve revision " + std::string(rev));
    detail::Handle<git_object> named(o);
    git_object* peeled = nullptr;
    check(git_object_peel(&peeled, o, GIT_OBJECT_COMMIT), std::string(rev) + " does not name a commit");
    detail::Handle<git_object> peeled_guard(peeled);
    return from_git(git_object_id(peeled));
}

std::optional<Blob> Repository::blob_at(std::string_view rev, std::string_view path) const {
    const auto commit_id = resolve_commit(rev);
    if (!commit_id) return std::nullopt;
    const Tree tree = commit(*commit_id).tree();
    git_tree_entry* e = nullptr;
    int rc = git_tree_entry_bypath(&e, tree.tree_.get(), z(path).c_str());
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    check(rc, "cannot look up " + std::string(path) + " in " + std::string(rev));
    std::unique_ptr<git_tree_entry, decltype(&git_tree_entry_free)> guard(e, git_tree_entry_free);
    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) return std::nullopt;
    return blob(from_git(git_tree_entry_id(e)));
}

Revwalk Repository::revwalk() const {
    git_revwalk* w = nullptr;
    check(git_revwalk_new(&w, repo_.get()), "cannot start a history walk");
    return Revwalk(detail::Handle<git_revwalk>(w));
}

}  // namespace gitsops::git
