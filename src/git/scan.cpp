// Scans over libgit2: index, tree, range, all refs and pushes. See scan.hpp for what each reads.
//
// Cost model, for the 5 s pre-receive budget and whole histories: commits are diffed against
// their parents tree by tree, skipping identical subtrees by id, so a commit costs the trees on
// the paths it changed plus the blobs it changed; each (blob, path, .sops.yaml) triple is
// classified once. The index is compared with HEAD by git_diff_tree_to_index.
#include "git/scan.hpp"

#include <git2.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "base/error.hpp"
#include "policy/policy.hpp"
#include "sops/sops.hpp"

namespace gitsops::git {

namespace {

constexpr const char* kConfigName = ".sops.yaml";

struct DiffFree {
    void operator()(git_diff* d) const noexcept { git_diff_free(d); }
};
using DiffHandle = std::unique_ptr<git_diff, DiffFree>;
using detail::Handle;

[[noreturn]] void throw_git(std::string_view action) {
    const git_error* e = git_error_last();
    throw Error(action, e && e->message ? e->message : "libgit2 failed without a reason");
}

void check(int rc, std::string_view action) {
    if (rc < 0) throw_git(action);
}

std::string hex(const git_oid& id) {
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, &id);
    return buf;
}

std::string_view raw_bytes(const git_oid& id) {
    return {reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ};
}

git_oid to_git(const Oid& id) {
    git_oid out;
    git_oid_fromraw(&out, id.bytes().data());
    return out;
}

// Regular files only: symlinks hold a target path and gitlinks a commit of another repository.
bool is_file_mode(std::uint32_t mode) { return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE; }

// Where findings come from: a commit, or (empty) the index or a single tree.
struct Origin {
    std::string commit, summary;
};

struct Change {
    std::string path;
    git_oid blob;
};

git_oid config_id_of(const git_tree* tree) {
    git_oid none{};
    if (!tree) return none;
    const git_tree_entry* e = git_tree_entry_byname(tree, kConfigName);  // borrowed from the tree
    if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB) return none;
    return *git_tree_entry_id(e);
}

std::vector<Change> changes_of(git_diff* diff) {
    std::vector<Change> out;
    const std::size_t n = git_diff_num_deltas(diff);
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const git_diff_delta* d = git_diff_get_delta(diff, i);
        switch (d->status) {
            case GIT_DELTA_ADDED:
            case GIT_DELTA_MODIFIED:
            case GIT_DELTA_TYPECHANGE:
            case GIT_DELTA_RENAMED:
            case GIT_DELTA_COPIED:
                if (is_file_mode(d->new_file.mode)) out.push_back(Change{d->new_file.path, d->new_file.id});
                break;
            default:  // deleted, unmodified, conflicted: nothing new to read
                break;
        }
    }
    return out;
}

git_diff_options diff_options() {
    git_diff_options o = GIT_DIFF_OPTIONS_INIT;
    o.flags = GIT_DIFF_SKIP_BINARY_CHECK | GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_IGNORE_SUBMODULES;
    return o;
}

Handle<git_tree> lookup_tree(git_repository* repo, const git_oid& id) {
    git_tree* t = nullptr;
    check(git_tree_lookup(&t, repo, &id), "cannot read tree " + hex(id));
    return Handle<git_tree>(t);
}

// The trees the last two commit diffs read. History is walked parents first, so on a linear
// history the trees a diff needs on the parent's side are the ones the previous diff read on the
// child's side: each tree is then read from the pack once. (libgit2's own cache caps its size
// and evicts at random, which missed for most of them.)
class TreeCache {
public:
    explicit TreeCache(git_repository* repo) : repo_(repo) {}

    // Borrowed: valid until next_commit() has been called twice.
    const git_tree* get(const git_oid& id) {
        std::string key(raw_bytes(id));
        if (auto it = current_.find(key); it != current_.end()) return it->second.get();
        Handle<git_tree> tree;
        if (auto it = previous_.find(key); it != previous_.end())
            tree = std::move(it->second);
        else
            tree = lookup_tree(repo_, id);
        return current_.emplace(std::move(key), std::move(tree)).first->second.get();
    }

    void next_commit() {
        previous_ = std::move(current_);
        current_.clear();
    }

private:
    git_repository* repo_;
    std::unordered_map<std::string, Handle<git_tree>> current_, previous_;
};

// git's order of tree entries: names bytewise, a tree's name as if it ended in '/'.
int entry_order(const git_tree_entry* a, const git_tree_entry* b) {
    const std::string_view na = git_tree_entry_name(a), nb = git_tree_entry_name(b);
    const std::size_t n = std::min(na.size(), nb.size());
    if (int c = na.substr(0, n).compare(nb.substr(0, n)); c != 0) return c;
    auto next = [n](std::string_view name, const git_tree_entry* e) -> unsigned char {
        if (name.size() > n) return static_cast<unsigned char>(name[n]);
        return git_tree_entry_filemode(e) == GIT_FILEMODE_TREE ? '/' : '\0';
    };
    const unsigned char ca = next(na, a), cb = next(nb, b);
    return (ca > cb) - (ca < cb);
}

// The files of `to` that `from` (may be null) does not have with the same id and mode. Both
// trees are walked side by side in git's entry order, and a subtree whose id is unchanged is
// skipped without being read, so a commit costs the trees on the paths it changed. (libgit2
// 1.5's git_diff_tree_to_tree expands every subtree of both sides: ~80% of `check --all`.)
void tree_changes(TreeCache& trees, const git_tree* from, const git_tree* to, std::string& prefix,
                  std::vector<Change>& out) {
    const std::size_t n_from = from ? git_tree_entrycount(from) : 0, n_to = git_tree_entrycount(to);
    std::size_t i = 0;
    for (std::size_t j = 0; j < n_to; ++j) {
        const git_tree_entry* e = git_tree_entry_byindex(to, j);
        const git_tree_entry* old = nullptr;
        for (; i < n_from; ++i) {
            const git_tree_entry* candidate = git_tree_entry_byindex(from, i);
            const int order = entry_order(candidate, e);
            if (order < 0) continue;  // gone in `to`
            if (order == 0) old = candidate, ++i;
            break;
        }
        const git_filemode_t mode = git_tree_entry_filemode(e);
        if (old && git_tree_entry_filemode(old) == mode && git_oid_equal(git_tree_entry_id(old), git_tree_entry_id(e)))
            continue;
        if (mode == GIT_FILEMODE_TREE) {
            const git_tree* sub = trees.get(*git_tree_entry_id(e));
            const git_tree* old_sub = old ? trees.get(*git_tree_entry_id(old)) : nullptr;  // same name: a tree too
            const std::size_t mark = prefix.size();
            prefix.append(git_tree_entry_name(e)).push_back('/');
            tree_changes(trees, old_sub, sub, prefix, out);
            prefix.resize(mark);
        } else if (is_file_mode(mode)) {
            out.push_back(Change{prefix + git_tree_entry_name(e), *git_tree_entry_id(e)});
        }
    }
}

std::vector<Change> tree_changes(TreeCache& trees, const git_tree* from, const git_tree* to) {
    std::vector<Change> out;
    std::string prefix;
    tree_changes(trees, from, to, prefix, out);
    return out;
}

int collect_entry(const char* root, const git_tree_entry* entry, void* payload) {
    if (git_tree_entry_type(entry) == GIT_OBJECT_BLOB && is_file_mode(git_tree_entry_filemode(entry)))
        static_cast<std::vector<Change>*>(payload)->push_back(
            Change{std::string(root) + git_tree_entry_name(entry), *git_tree_entry_id(entry)});
    return 0;
}

Handle<git_revwalk> new_walk(git_repository* repo) {
    // libgit2 1.5 does not read .git/shallow: its walk fails at the first missing parent.
    if (git_repository_is_shallow(repo) == 1)
        throw Error("this is a shallow clone, whose history libgit2 1.5 cannot walk: fetch the whole history "
                    "(git fetch --unshallow), or check one revision with --tree");
    git_revwalk* w = nullptr;
    check(git_revwalk_new(&w, repo), "cannot walk the history");
    Handle<git_revwalk> walk(w);
    // Children before parents: packs store older versions as deltas of newer ones, so reading
    // newest first resolves short delta chains (12% less CPU than oldest first). Findings are
    // put back in history order, at the oldest commit that has them, by Scanner::take().
    check(git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL), "cannot sort the walk");
    return walk;
}

// A process-wide libgit2 setting for reading many objects once each: no re-hashing of every
// object read (SHA-1DC was ~16% of `check --all`). git does not re-hash on read either, and a
// push's objects were verified by index-pack before the hook runs.
void tune_libgit2_for_scans() {
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
}

class Scanner {
public:
    Scanner(const Repository& repo, const ScanOptions& options)
        : repo_(repo.raw()), options_(options), trees_(repo.raw()) {
        tune_libgit2_for_scans();
    }

    git_repository* repo() const { return repo_; }

    void check_changes(const std::vector<Change>& changes, const git_oid& config, const Origin& origin) {
        for (const auto& c : changes) check_blob(c.blob, c.path, config, origin);
    }

    // Every file of a tree, against the tree's own .sops.yaml.
    void check_tree(const git_tree* tree, const Origin& origin) {
        std::vector<Change> files;
        check(git_tree_walk(tree, GIT_TREEWALK_PRE, collect_entry, &files), "cannot read a tree");
        check_changes(files, config_id_of(tree), origin);
    }

    void check_commit(git_commit* commit) {
        ++result_.commits;
        trees_.next_commit();
        const char* summary = git_commit_summary(commit);
        const Origin origin{hex(*git_commit_id(commit)), summary ? summary : ""};
        walk_position_.emplace(origin.commit, walk_position_.size());
        const git_tree* tree = trees_.get(*git_commit_tree_id(commit));
        const git_oid config = config_id_of(tree);
        const auto parents = parent_trees(commit, origin);
        bool config_changed = false;
        for (const git_tree* p : parents) {
            const git_oid parent_config = config_id_of(p);
            config_changed |= !git_oid_equal(&config, &parent_config);
        }
        // A root commit, or new rules: every file counts as changed.
        if (parents.empty() || config_changed) {
            check_tree(tree, origin);
            return;
        }
        std::vector<Change> changes = tree_changes(trees_, parents[0], tree);
        // In a merge, a file equal to one parent's was checked where that parent got it.
        for (std::size_t i = 1; i < parents.size() && !changes.empty(); ++i) {
            std::unordered_set<std::string> also;
            for (auto& c : tree_changes(trees_, parents[i], tree)) also.insert(std::move(c.path));
            std::erase_if(changes, [&](const Change& c) { return !also.contains(c.path); });
        }
        check_changes(changes, config, origin);
    }

    void check_walk(git_revwalk* walk) {
        git_oid id;
        int rc;
        while ((rc = git_revwalk_next(&id, walk)) == 0) {
            Handle<git_commit> commit;
            if (auto it = loaded_parents_.find(std::string(raw_bytes(id))); it != loaded_parents_.end()) {
                commit = std::move(it->second);
                loaded_parents_.erase(it);
            } else {
                git_commit* c = nullptr;
                check(git_commit_lookup(&c, repo_, &id), "cannot read commit " + hex(id));
                commit.reset(c);
            }
            check_commit(commit.get());
        }
        if (rc != GIT_ITEROVER) check(rc, "cannot walk the history");
    }

    void check_blob(const git_oid& blob, std::string_view path, const git_oid& config_id, const Origin& origin) {
        std::string key;
        key.reserve(2 * GIT_OID_RAWSZ + path.size());
        key.append(raw_bytes(blob)).append(raw_bytes(config_id)).append(path);
        auto [seen, fresh] = seen_.try_emplace(std::move(key), Span{result_.findings.size(), 0});
        if (!fresh) {
            // Walked newest first: this commit is older, so the findings belong to it.
            if (!origin.commit.empty())
                for (std::size_t k = seen->second.first; k < seen->second.first + seen->second.count; ++k) {
                    result_.findings[k].commit = origin.commit;
                    result_.findings[k].commit_summary = origin.summary;
                }
            return;
        }

        const sops::Config* config = this->config(config_id, origin);
        git_blob* b = nullptr;
        check(git_blob_lookup(&b, repo_, &blob), "cannot read " + std::string(path) + " (blob " + hex(blob) + ")");
        Handle<git_blob> guard(b);
        std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(git_blob_rawcontent(b)),
                                            static_cast<std::size_t>(git_blob_rawsize(b)));
        ++result_.blobs;
        for (auto& f : policy::classify(bytes, path, policy::Context{config, options_.strict})) {
            result_.findings.push_back(policy::Occurrence{std::move(f), origin.commit, origin.summary});
            ++seen->second.count;
        }
    }

    void note(std::string line) { result_.notes.push_back(std::move(line)); }

    // Findings in history order: oldest commit first (the walk went newest first), findings
    // without a commit (index, tree, tagged tree or blob) before all.
    ScanResult take() {
        auto rank = [this](const policy::Occurrence& o) {
            auto it = walk_position_.find(o.commit);
            return it == walk_position_.end() ? SIZE_MAX : it->second;
        };
        std::stable_sort(result_.findings.begin(), result_.findings.end(),
                         [&](const auto& a, const auto& b) { return rank(a) > rank(b); });
        return std::move(result_);
    }

private:
    // The trees of the commit's parents (none for a root commit).
    std::vector<const git_tree*> parent_trees(git_commit* commit, const Origin& origin) {
        std::vector<const git_tree*> out;
        const unsigned n = git_commit_parentcount(commit);
        for (unsigned i = 0; i < n; ++i) {
            git_commit* p = nullptr;
            check(git_commit_parent(&p, commit, i), "cannot read a parent of commit " + origin.commit);
            Handle<git_commit> parent(p);
            out.push_back(trees_.get(*git_commit_tree_id(p)));
            // Walked newest first, the parent is usually the next commit: keep it for then
            // (try_emplace leaves `parent` alone, to be freed, when it is kept already).
            loaded_parents_.try_emplace(std::string(raw_bytes(*git_commit_id(p))), std::move(parent));
        }
        return out;
    }

    // The parsed .sops.yaml blob, once per blob id; nullptr when there is none or it is broken
    // (then rules cannot be applied, which the notes say).
    const sops::Config* config(const git_oid& id, const Origin& origin) {
        if (git_oid_is_zero(&id)) return nullptr;
        auto [it, inserted] = configs_.try_emplace(std::string(raw_bytes(id)));
        if (inserted) {
            try {
                git_blob* b = nullptr;
                check(git_blob_lookup(&b, repo_, &id), "cannot read .sops.yaml");
                Handle<git_blob> guard(b);
                std::string_view text(static_cast<const char*>(git_blob_rawcontent(b)),
                                      static_cast<std::size_t>(git_blob_rawsize(b)));
                it->second = sops::Config::parse(text, kConfigName);
            } catch (const Error& e) {
                std::string where = origin.commit.empty() ? std::string("") : "commit " + origin.commit.substr(0, 12) + ": ";
                note(where + ".sops.yaml does not parse (" + e.what() +
                     "); files were checked without its creation rules");
            }
        }
        return it->second ? &*it->second : nullptr;
    }

    git_repository* repo_;
    ScanOptions options_;
    TreeCache trees_;
    ScanResult result_;
    struct Span {
        std::size_t first, count;  // this blob's findings in result_.findings
    };
    std::unordered_map<std::string, Span> seen_;         // (blob, config, path) -> its findings
    std::unordered_map<std::string, std::size_t> walk_position_;  // commit id -> walk order
    std::unordered_map<std::string, Handle<git_commit>> loaded_parents_;  // read, not yet walked
    std::unordered_map<std::string, std::optional<sops::Config>> configs_;
};

Handle<git_object> revparse(git_repository* repo, std::string_view rev) {
    git_object* o = nullptr;
    const std::string spec(rev);
    if (git_revparse_single(&o, repo, spec.c_str()) < 0) throw_git("unknown revision '" + spec + "'");
    return Handle<git_object>(o);
}

Handle<git_object> peel(git_object* object, git_object_t type) {
    git_object* out = nullptr;
    if (git_object_peel(&out, object, type) < 0) return Handle<git_object>();
    return Handle<git_object>(out);
}

bool is_hex(std::string_view s) { return s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos; }

}  // namespace

bool ScanResult::has_errors() const {
    for (const auto& o : findings)
        if (o.finding.severity == policy::Severity::error) return true;
    return false;
}

ScanResult scan_index(const Repository& repo, const ScanOptions& options) {
    Scanner scanner(repo, options);
    git_index* i = nullptr;
    check(git_repository_index(&i, repo.raw()), "cannot read the index");
    Handle<git_index> index(i);

    Handle<git_tree> head;
    if (auto commit = repo.resolve_commit("HEAD")) head = lookup_tree(repo.raw(), to_git(repo.commit(*commit).tree().id()));

    git_oid staged_config{};
    if (const git_index_entry* e = git_index_get_bypath(i, kConfigName, 0); e && is_file_mode(e->mode))
        staged_config = e->id;
    const git_oid head_config = config_id_of(head.get());

    std::vector<Change> changes;
    if (!git_oid_equal(&staged_config, &head_config)) {
        // New rules may cover files this commit does not touch: check every staged file.
        for (std::size_t k = 0; k < git_index_entrycount(i); ++k) {
            const git_index_entry* e = git_index_get_byindex(i, k);
            if (GIT_INDEX_ENTRY_STAGE(e) == 0 && is_file_mode(e->mode)) changes.push_back(Change{e->path, e->id});
        }
    } else {
        git_diff_options o = diff_options();
        git_diff* d = nullptr;
        check(git_diff_tree_to_index(&d, repo.raw(), head.get(), i, &o), "cannot compare the index with HEAD");
        DiffHandle diff(d);
        changes = changes_of(diff.get());
    }
    scanner.check_changes(changes, staged_config, Origin{});
    return scanner.take();
}

ScanResult scan_tree(const Repository& repo, std::string_view rev, const ScanOptions& options) {
    Scanner scanner(repo, options);
    Handle<git_object> object = revparse(repo.raw(), rev);
    Handle<git_object> tree = peel(object.get(), GIT_OBJECT_TREE);
    if (!tree) throw Error("'" + std::string(rev) + "' names neither a commit nor a tree");
    scanner.check_tree(lookup_tree(repo.raw(), *git_object_id(tree.get())).get(), Origin{});
    return scanner.take();
}

ScanResult scan_range(const Repository& repo, std::string_view range, const ScanOptions& options) {
    const std::string spec_text(range);
    if (spec_text.find("...") != std::string::npos || spec_text.find("..") == std::string::npos)
        throw Error("--range takes A..B (the commits reachable from B and not from A), not '" + spec_text + "'",
                    exit_code::usage);
    git_revspec spec;
    if (git_revparse(&spec, repo.raw(), spec_text.c_str()) < 0) throw_git("unknown range '" + spec_text + "'");
    Handle<git_object> from(spec.from), to(spec.to);
    Scanner scanner(repo, options);
    Handle<git_revwalk> walk = new_walk(repo.raw());
    Handle<git_object> to_commit = peel(to.get(), GIT_OBJECT_COMMIT);
    Handle<git_object> from_commit = from ? peel(from.get(), GIT_OBJECT_COMMIT) : Handle<git_object>();
    if (!to_commit || (from && !from_commit)) throw Error("'" + spec_text + "' does not name two commits");
    check(git_revwalk_push(walk.get(), git_object_id(to_commit.get())), "cannot walk " + spec_text);
    if (from_commit) check(git_revwalk_hide(walk.get(), git_object_id(from_commit.get())), "cannot walk " + spec_text);
    scanner.check_walk(walk.get());
    return scanner.take();
}

ScanResult scan_all(const Repository& repo, const ScanOptions& options) {
    Scanner scanner(repo, options);
    Handle<git_revwalk> walk = new_walk(repo.raw());
    check(git_revwalk_push_glob(walk.get(), "refs/*"), "cannot walk from the refs");
    if (repo.resolve_commit("HEAD"))  // a detached HEAD is no ref; an unborn one names nothing
        check(git_revwalk_push_head(walk.get()), "cannot walk from HEAD");
    scanner.check_walk(walk.get());
    return scanner.take();
}

// ---- pushes ------------------------------------------------------------------------------------

bool is_zero_id(std::string_view hex_id) {
    return !hex_id.empty() && hex_id.find_first_not_of('0') == std::string_view::npos;
}

bool RefUpdate::deletes() const { return is_zero_id(new_id); }
bool RefUpdate::creates() const { return is_zero_id(old_id); }

std::vector<RefUpdate> parse_ref_updates(std::string_view text) {
    std::vector<RefUpdate> out;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        ++line_no;
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.empty()) continue;
        const std::size_t a = line.find(' ');
        const std::size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
        RefUpdate u;
        if (b != std::string_view::npos) {
            u.old_id = line.substr(0, a);
            u.new_id = line.substr(a + 1, b - a - 1);
            u.ref = line.substr(b + 1);
        }
        const bool ok = b != std::string_view::npos && (u.old_id.size() == 40 || u.old_id.size() == 64) &&
                        u.new_id.size() == u.old_id.size() && is_hex(u.old_id) && is_hex(u.new_id) &&
                        !u.ref.empty() && u.ref.find(' ') == std::string::npos;
        if (!ok)
            throw Error("ref update line " + std::to_string(line_no) +
                        ": expected '<old-id> <new-id> <ref>' with 40 or 64 hex digit ids");
        out.push_back(std::move(u));
    }
    return out;
}

ScanResult scan_push(const Repository& repo, std::span<const RefUpdate> updates, const ScanOptions& options) {
    Scanner scanner(repo, options);
    Handle<git_revwalk> walk = new_walk(repo.raw());
    bool any = false;
    for (const auto& u : updates) {
        if (u.deletes()) continue;
        if (u.new_id.size() != GIT_OID_HEXSZ)
            throw Error(u.ref + ": " + u.new_id.substr(0, 12) +
                        "... is a SHA-256 id; this git-sops build reads SHA-1 repositories only (libgit2 1.5)");
        git_oid id;
        check(git_oid_fromstrn(&id, u.new_id.data(), u.new_id.size()), "invalid object id for " + u.ref);
        git_object* o = nullptr;
        check(git_object_lookup(&o, repo.raw(), &id, GIT_OBJECT_ANY), "cannot read " + u.new_id + " (" + u.ref + ")");
        Handle<git_object> object(o);
        if (auto commit = peel(o, GIT_OBJECT_COMMIT)) {
            check(git_revwalk_push(walk.get(), git_object_id(commit.get())), "cannot walk from " + u.ref);
            any = true;
        } else if (auto tree = peel(o, GIT_OBJECT_TREE)) {  // a tag of a tree
            scanner.check_tree(lookup_tree(repo.raw(), *git_object_id(tree.get())).get(), Origin{});
        } else if (auto blob = peel(o, GIT_OBJECT_BLOB)) {  // a tag of a blob: no path, no rules
            scanner.check_blob(*git_object_id(blob.get()), u.ref, git_oid{}, Origin{});
        }
    }
    if (!any) return scanner.take();
    // Refs are not updated before pre-receive succeeds: "refs/*" is what the server already has.
    check(git_revwalk_hide_glob(walk.get(), "refs/*"), "cannot hide the existing refs");
    scanner.check_walk(walk.get());
    return scanner.take();
}

}  // namespace gitsops::git
