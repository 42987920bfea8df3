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
// object cache: scans read most objects once, and libgit2's cache cost time in inserts and
// random evictions and 600 MB on a 20,000-commit history.
void tune_libgit2_for_scans() {
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
}

// ---- trees -------------------------------------------------------------------------------------

namespace {

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

// The id a `.sops.yaml` entry of this mode stands for in config_id_of: blob-typed entries only.
git_oid config_of(std::uint32_t mode, const git_oid& id) {
    const bool blob = mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE || mode == GIT_FILEMODE_LINK;
    return blob ? id : git_oid{};
}

}  // namespace

Scanner::Scanner(git_repository* repo, const ScanOptions& options)
    : repo_(repo), git_dir_(git_repository_path(repo)), options_(options) {}

void Scanner::check_tree(const git_tree* tree, const Origin& origin) {
    std::vector<Change> files;
    check(git_tree_walk(tree, GIT_TREEWALK_PRE, collect_entry, &files), "cannot read a tree");
    check_changes(files, config_id_of(tree), origin);
}

void Scanner::check_changes(const std::vector<Change>& changes, const git_oid& config, const Origin& origin) {
    for (const auto& c : changes) check_blob(c.blob, c.path, config, origin);
}

// Commits are read with libgit2 first, so that a thread can feed git diff-tree every (commit,
// parent) pair while this one reads the diffs, in the same order, and asks git cat-file for the
// blobs of new triples, classifying each as its answer comes in.
void Scanner::check_commits(std::span<const git_oid> ids, std::size_t first_position) {
    std::vector<Commit> commits;
    commits.reserve(ids.size());
    for (const auto& id : ids) commits.push_back(read_commit(id));
    std::vector<DiffStream::Request> requests;
    for (const auto& c : commits) {
        if (c.parents.empty()) requests.push_back({c.id, nullptr});
        for (const auto& p : c.parents) requests.push_back({c.id, &p});  // `commits` no longer changes
    }
    DiffStream diffs(git_dir_, std::move(requests));
    BlobReader blobs(git_dir_);
    // Requests go out in small groups (each wakes cat-file); answers are taken as they arrive,
    // and waited for only when many are due.
    constexpr std::size_t kGroup = 32, kMaxOutstanding = 4096;
    for (std::size_t k = 0; k < commits.size(); ++k) {
        check_commit(commits[k], first_position + k, diffs, blobs);
        if (blobs.unsent() >= kGroup) blobs.send();
        while (blobs.ready() || blobs.outstanding() > kMaxOutstanding) classify_next(blobs);
    }
    while (!pending_.empty()) classify_next(blobs);
    diffs.finish();
    blobs.finish();
}

Scanner::Commit Scanner::read_commit(const git_oid& id) {
    git_commit* c = nullptr;
    check(git_commit_lookup(&c, repo_, &id), "cannot read commit " + hex(id));
    Handle<git_commit> commit(c);
    const char* summary = git_commit_summary(c);
    Commit out{id, *git_commit_tree_id(c), {}, summary ? summary : ""};
    const unsigned n = git_commit_parentcount(c);
    out.parents.reserve(n);
    for (unsigned i = 0; i < n; ++i) out.parents.push_back(*git_commit_parent_id(c, i));
    return out;
}

void Scanner::check_commit(const Commit& commit, std::size_t position, DiffStream& diffs, BlobReader& blobs) {
    ++part_.commits;
    const Origin origin{hex(commit.id), commit.summary};
    const Handle<git_tree> tree = lookup_tree(repo_, commit.tree);
    const git_oid config = config_id_of(tree.get());
    // One diff per parent; a root commit has one against the empty tree: every file is new.
    std::vector<Change> changes;
    bool config_changed = false;
    const std::size_t sections = std::max<std::size_t>(1, commit.parents.size());
    for (std::size_t i = 0; i < sections; ++i) {
        diffs.next(commit.id, raw_);
        if (!commit.parents.empty())
            for (const RawChange& r : raw_)
                if (r.path == kConfigName) {
                    const git_oid before = config_of(r.old_mode, r.old_id), after = config_of(r.new_mode, r.new_id);
                    config_changed |= !git_oid_equal(&before, &after);
                }
        if (i == 0) {
            for (RawChange& r : raw_)
                if (is_file_mode(r.new_mode)) changes.push_back(Change{std::move(r.path), r.new_id});
        } else if (!changes.empty()) {
            // In a merge, a file equal to one parent's was checked where that parent got it.
            std::unordered_set<std::string_view> also;
            for (const RawChange& r : raw_)
                if (is_file_mode(r.new_mode)) also.insert(r.path);
            std::erase_if(changes, [&](const Change& c) { return !also.contains(c.path); });
        }
    }
    if (config_changed) {
        // New rules: every file counts as changed.
        changes.clear();
        check(git_tree_walk(tree.get(), GIT_TREEWALK_PRE, collect_entry, &changes), "cannot read a tree");
    }
    for (const auto& c : changes)
        if (auto fresh = claim(c.blob, c.path, config, origin, position)) {
            pending_.push_back(Pending{*fresh, c.blob, this->config(config, origin)});
            blobs.request(c.blob);
        }
}

std::optional<std::size_t> Scanner::claim(const git_oid& blob, std::string_view path, const git_oid& config_id,
                                          const Origin& origin, std::size_t rank) {
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
        return std::nullopt;
    }
    part_.verdicts.emplace_back(std::move(key), Verdict{rank, origin, {}});
    return part_.verdicts.size() - 1;
}

void Scanner::classify_next(BlobReader& blobs) {
    const Pending p = pending_.front();
    pending_.pop_front();
    auto& [key, verdict] = part_.verdicts[p.verdict];
    const std::string_view path = std::string_view(key).substr(2 * GIT_OID_RAWSZ);
    verdict.findings = policy::classify(blobs.next(path), path, policy::Context{p.config, options_.strict});
}

void Scanner::check_blob(const git_oid& blob, std::string_view path, const git_oid& config_id, const Origin& origin,
                         std::size_t rank) {
    const auto fresh = claim(blob, path, config_id, origin, rank);
    if (!fresh) return;
    const sops::Config* config = this->config(config_id, origin);
    git_blob* b = nullptr;
    check(git_blob_lookup(&b, repo_, &blob), "cannot read " + std::string(path) + " (blob " + hex(blob) + ")");
    Handle<git_blob> guard(b);
    std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(git_blob_rawcontent(b)),
                                        static_cast<std::size_t>(git_blob_rawsize(b)));
    part_.verdicts[*fresh].second.findings = policy::classify(bytes, path, policy::Context{config, options_.strict});
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
