// Scans over libgit2: index, tree, range, all refs and pushes. See scan.hpp for what each reads
// and scanner.hpp for how.
#include "git/scan.hpp"

#include <git2.h>

#include <memory>

#include "base/error.hpp"
#include "git/scanner.hpp"

namespace gitsops::git {

namespace {

using namespace scanning;

struct DiffFree {
    void operator()(git_diff* d) const noexcept { git_diff_free(d); }
};
using DiffHandle = std::unique_ptr<git_diff, DiffFree>;

git_oid to_git(const Oid& id) {
    git_oid out;
    git_oid_fromraw(&out, id.bytes().data());
    return out;
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

Handle<git_revwalk> new_walk(git_repository* repo) {
    // libgit2 1.5 does not read .git/shallow: its walk fails at the first missing parent.
    if (git_repository_is_shallow(repo) == 1)
        throw Error("this is a shallow clone, whose history libgit2 1.5 cannot walk: fetch the whole history "
                    "(git fetch --unshallow), or check one revision with --tree");
    git_revwalk* w = nullptr;
    check(git_revwalk_new(&w, repo), "cannot walk the history");
    Handle<git_revwalk> walk(w);
    // Children before parents: packs store older versions as deltas of newer ones, so reading
    // newest first resolves short delta chains (12% less CPU than oldest first, measured with
    // libgit2 reading). assemble() puts findings back in history order, at the oldest commit
    // that has them.
    check(git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL), "cannot sort the walk");
    return walk;
}

std::vector<git_oid> commits_of(git_revwalk* walk) {
    std::vector<git_oid> ids;
    git_oid id;
    int rc;
    while ((rc = git_revwalk_next(&id, walk)) == 0) ids.push_back(id);
    if (rc != GIT_ITEROVER) check(rc, "cannot walk the history");
    return ids;
}

// Checks the walk's commits and assembles one result with `parts` (what was found before the
// walk). One thread of ours, with git diff-tree and git cat-file working beside it
// (history.hpp). (Threads reading with libgit2 1.5 took turns at the one lock of a pack: no
// speedup, 12% more CPU.)
ScanResult check_commits(const Repository& repo, git_revwalk* walk, const ScanOptions& options,
                         std::vector<Part> parts = {}) {
    Scanner scanner(repo.raw(), options);
    scanner.check_commits(commits_of(walk), 0);
    parts.push_back(scanner.take());
    return assemble(std::move(parts));
}

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
    tune_libgit2_for_scans();
    Scanner scanner(repo.raw(), options);
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
        git_diff_options o = GIT_DIFF_OPTIONS_INIT;
        o.flags = GIT_DIFF_SKIP_BINARY_CHECK | GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_IGNORE_SUBMODULES;
        git_diff* d = nullptr;
        check(git_diff_tree_to_index(&d, repo.raw(), head.get(), i, &o), "cannot compare the index with HEAD");
        DiffHandle diff(d);
        changes = changes_of(diff.get());
    }
    scanner.check_changes(changes, staged_config, Origin{});
    return assemble({scanner.take()});
}

ScanResult scan_tree(const Repository& repo, std::string_view rev, const ScanOptions& options) {
    tune_libgit2_for_scans();
    Scanner scanner(repo.raw(), options);
    Handle<git_object> object = revparse(repo.raw(), rev);
    Handle<git_object> tree = peel(object.get(), GIT_OBJECT_TREE);
    if (!tree) throw Error("'" + std::string(rev) + "' names neither a commit nor a tree");
    scanner.check_tree(lookup_tree(repo.raw(), *git_object_id(tree.get())).get(), Origin{});
    return assemble({scanner.take()});
}

ScanResult scan_range(const Repository& repo, std::string_view range, const ScanOptions& options) {
    const std::string spec_text(range);
    if (spec_text.find("...") != std::string::npos || spec_text.find("..") == std::string::npos)
        throw Error("--range takes A..B (the commits reachable from B and not from A), not '" + spec_text + "'",
                    exit_code::usage);
    git_revspec spec;
    if (git_revparse(&spec, repo.raw(), spec_text.c_str()) < 0) throw_git("unknown range '" + spec_text + "'");
    Handle<git_object> from(spec.from), to(spec.to);
    tune_libgit2_for_scans();
    Handle<git_revwalk> walk = new_walk(repo.raw());
    Handle<git_object> to_commit = peel(to.get(), GIT_OBJECT_COMMIT);
    Handle<git_object> from_commit = from ? peel(from.get(), GIT_OBJECT_COMMIT) : Handle<git_object>();
    if (!to_commit || (from && !from_commit)) throw Error("'" + spec_text + "' does not name two commits");
    check(git_revwalk_push(walk.get(), git_object_id(to_commit.get())), "cannot walk " + spec_text);
    if (from_commit) check(git_revwalk_hide(walk.get(), git_object_id(from_commit.get())), "cannot walk " + spec_text);
    return check_commits(repo, walk.get(), options);
}

ScanResult scan_all(const Repository& repo, const ScanOptions& options) {
    tune_libgit2_for_scans();
    Handle<git_revwalk> walk = new_walk(repo.raw());
    check(git_revwalk_push_glob(walk.get(), "refs/*"), "cannot walk from the refs");
    if (repo.resolve_commit("HEAD"))  // a detached HEAD is no ref; an unborn one names nothing
        check(git_revwalk_push_head(walk.get()), "cannot walk from HEAD");
    return check_commits(repo, walk.get(), options);
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
    tune_libgit2_for_scans();
    Scanner scanner(repo.raw(), options);  // tagged trees and blobs
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
    std::vector<Part> parts;
    parts.push_back(scanner.take());
    if (!any) return assemble(std::move(parts));
    // Refs are not updated before pre-receive succeeds: "refs/*" is what the server already has.
    check(git_revwalk_hide_glob(walk.get(), "refs/*"), "cannot hide the existing refs");
    return check_commits(repo, walk.get(), options, std::move(parts));
}

}  // namespace gitsops::git
