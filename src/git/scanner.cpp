// The Scanner: tree diffs, blob classification once per triple, and the assembly of results.
#include "git/scanner.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <unordered_set>

#include "base/error.hpp"
#include "policy/policy.hpp"

namespace gitsops::git::scanning {

// ---- libgit2 helpers ---------------------------------------------------------------------------

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

std::string_view raw_bytes(const git_oid& id) { return {reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ}; }

bool is_file_mode(std::uint32_t mode) { return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE; }

Handle<git_tree> lookup_tree(git_repository* repo, const git_oid& id) {
    git_tree* t = nullptr;
    check(git_tree_lookup(&t, repo, &id), "cannot read tree " + hex(id));
    return Handle<git_tree>(t);
}

git_oid config_id_of(const git_tree* tree) {
    git_oid none{};
    if (!tree) return none;
    const git_tree_entry* e = git_tree_entry_byname(tree, kConfigName);  // borrowed from the tree
    if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB) return none;
    return *git_tree_entry_id(e);
}

// No re-hashing of every object read (SHA-1DC was ~16% of `check --all`): git does not re-hash
// on read either, and a push's objects were verified by index-pack before the hook runs. No
// object cache: the TreeCache keeps what the next commit needs, and libgit2's cache cost
// time in inserts and random evictions and 600 MB on a 20,000-commit history.
void tune_libgit2_for_scans() {
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
}

// ---- trees -------------------------------------------------------------------------------------

const git_tree* TreeCache::get(const git_oid& id) {
    std::string key(raw_bytes(id));
    if (auto it = current_.find(key); it != current_.end()) return it->second.get();
    Handle<git_tree> tree;
    if (auto it = previous_.find(key); it != previous_.end())
        tree = std::move(it->second);
    else
        tree = lookup_tree(repo_, id);
    return current_.emplace(std::move(key), std::move(tree)).first->second.get();
}

void TreeCache::next_commit() {
    previous_ = std::move(current_);
    current_.clear();
}

namespace {

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

}  // namespace

// ---- the Scanner -------------------------------------------------------------------------------

namespace {

// Whether rank `candidate` names an older commit than rank `current` (the walk goes newest
// first, so a higher rank is older); a commit beats none (SIZE_MAX).
bool older(std::size_t candidate, std::size_t current) {
    return candidate != SIZE_MAX && (current == SIZE_MAX || candidate > current);
}

}  // namespace

Scanner::Scanner(git_repository* repo, const ScanOptions& options) : repo_(repo), options_(options), trees_(repo) {}

void Scanner::check_tree(const git_tree* tree, const Origin& origin) {
    std::vector<Change> files;
    check(git_tree_walk(tree, GIT_TREEWALK_PRE, collect_entry, &files), "cannot read a tree");
    check_changes(files, config_id_of(tree), origin);
}

void Scanner::check_changes(const std::vector<Change>& changes, const git_oid& config, const Origin& origin) {
    for (const auto& c : changes) check_blob(c.blob, c.path, config, origin);
}

void Scanner::check_commits(std::span<const git_oid> ids, std::size_t first_position) {
    for (std::size_t k = 0; k < ids.size(); ++k) {
        Handle<git_commit> commit = load_commit(ids[k]);
        check_commit(commit.get(), first_position + k);
    }
}

Handle<git_commit> Scanner::load_commit(const git_oid& id) {
    if (auto it = loaded_parents_.find(std::string(raw_bytes(id))); it != loaded_parents_.end()) {
        Handle<git_commit> commit = std::move(it->second);
        loaded_parents_.erase(it);
        return commit;
    }
    git_commit* c = nullptr;
    check(git_commit_lookup(&c, repo_, &id), "cannot read commit " + hex(id));
    return Handle<git_commit>(c);
}

void Scanner::check_commit(git_commit* commit, std::size_t position) {
    ++part_.commits;
    trees_.next_commit();
    const char* summary = git_commit_summary(commit);
    const Origin origin{hex(*git_commit_id(commit)), summary ? summary : ""};
    const git_tree* tree = trees_.get(*git_commit_tree_id(commit));
    const git_oid config = config_id_of(tree);
    const auto parents = parent_trees(commit, origin);
    bool config_changed = false;
    for (const git_tree* p : parents) {
        const git_oid parent_config = config_id_of(p);
        config_changed |= !git_oid_equal(&config, &parent_config);
    }
    std::vector<Change> changes;
    if (parents.empty() || config_changed) {
        // A root commit, or new rules: every file counts as changed.
        check(git_tree_walk(tree, GIT_TREEWALK_PRE, collect_entry, &changes), "cannot read a tree");
    } else {
        changes = tree_changes(trees_, parents[0], tree);
        // In a merge, a file equal to one parent's was checked where that parent got it.
        for (std::size_t i = 1; i < parents.size() && !changes.empty(); ++i) {
            std::unordered_set<std::string> also;
            for (auto& c : tree_changes(trees_, parents[i], tree)) also.insert(std::move(c.path));
            std::erase_if(changes, [&](const Change& c) { return !also.contains(c.path); });
        }
    }
    for (const auto& c : changes) check_blob(c.blob, c.path, config, origin, position);
}

std::vector<const git_tree*> Scanner::parent_trees(git_commit* commit, const Origin& origin) {
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

void Scanner::check_blob(const git_oid& blob, std::string_view path, const git_oid& config_id, const Origin& origin,
                         std::size_t rank) {
    std::string key;
    key.reserve(2 * GIT_OID_RAWSZ + path.size());
    key.append(raw_bytes(blob)).append(raw_bytes(config_id)).append(path);
    auto [seen, fresh] = seen_.try_emplace(key, part_.verdicts.size());
    if (!fresh) {
        // Classified already; the findings belong to the oldest commit that has the triple.
        Verdict& v = part_.verdicts[seen->second].second;
        if (older(rank, v.rank)) {
            v.rank = rank;
            v.origin = origin;
        }
        return;
    }
    const sops::Config* config = this->config(config_id, origin);
    git_blob* b = nullptr;
    check(git_blob_lookup(&b, repo_, &blob), "cannot read " + std::string(path) + " (blob " + hex(blob) + ")");
    Handle<git_blob> guard(b);
    std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(git_blob_rawcontent(b)),
                                        static_cast<std::size_t>(git_blob_rawsize(b)));
    part_.verdicts.emplace_back(
        std::move(key), Verdict{rank, origin, policy::classify(bytes, path, policy::Context{config, options_.strict})});
}

const sops::Config* Scanner::config(const git_oid& id, const Origin& origin) {
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
            const std::string where = origin.commit.empty() ? "" : "commit " + origin.commit.substr(0, 12) + ": ";
            part_.notes.push_back(where + ".sops.yaml does not parse (" + e.what() +
                                  "); files were checked without its creation rules");
        }
    }
    return it->second ? &*it->second : nullptr;
}

// ---- assembly ----------------------------------------------------------------------------------

ScanResult assemble(std::vector<Part> parts) {
    struct Winner {
        Verdict* verdict;
        std::size_t part, index;  // where it was first reached, to keep a stable order
    };
    std::unordered_map<std::string_view, Winner> best;
    ScanResult out;
    std::set<std::string> noted;
    for (std::size_t p = 0; p < parts.size(); ++p) {
        out.commits += parts[p].commits;
        for (auto& n : parts[p].notes)
            if (noted.insert(n).second) out.notes.push_back(std::move(n));
        for (std::size_t i = 0; i < parts[p].verdicts.size(); ++i) {
            auto& [key, verdict] = parts[p].verdicts[i];
            auto [it, fresh] = best.try_emplace(key, Winner{&verdict, p, i});
            // Two parts met the same triple: the older commit has it.
            if (!fresh && older(verdict.rank, it->second.verdict->rank)) it->second.verdict = &verdict;
        }
    }
    std::vector<Winner> winners;
    winners.reserve(best.size());
    for (auto& [key, w] : best) winners.push_back(w);
    // History order: no commit first (rank SIZE_MAX), then the oldest commit (highest rank).
    std::sort(winners.begin(), winners.end(), [](const Winner& a, const Winner& b) {
        if (a.verdict->rank != b.verdict->rank) return a.verdict->rank > b.verdict->rank;
        return std::tie(a.part, a.index) < std::tie(b.part, b.index);
    });
    out.blobs = winners.size();
    for (const auto& w : winners)
        for (auto& f : w.verdict->findings)
            out.findings.push_back(policy::Occurrence{std::move(f), w.verdict->origin.commit, w.verdict->origin.summary});
    return out;
}

}  // namespace gitsops::git::scanning
