// `git sops resolve FILE`: settle the conflicts the merge driver left in a sops file.
//
// The index still holds the three versions (stages 1-3); they are merged again, each conflict is
// shown with both values in a YAML file on tmpfs for the editor (or one side is taken with
// --ours/--theirs), and the result is encrypted like the driver's, staged, and written to the
// worktree in its mode (ciphertext, or plaintext in a decrypted worktree). Values exist only in
// memory and in that tmpfs file.
#include <iostream>
#include <optional>
#include <set>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/merge.hpp"
#include "git/smudge.hpp"
#include "lifecycle/common.hpp"
#include "lifecycle/editor.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kOurs = "ours", kTheirs = "theirs", kValue = "value", kDelete = "delete",
                           kOursDeleted = "ours (deleted)", kTheirsDeleted = "theirs (deleted)";

struct Staged {
    std::optional<git::IndexEntry> base, ours, theirs;
};

// The path relative to the worktree top, '/'-separated, as the index names it.
std::string index_path(const fs::path& top, const std::string& file) {
    const fs::path abs = fs::weakly_canonical(fs::absolute(file));
    const fs::path rel = abs.lexically_relative(fs::weakly_canonical(top));
    if (rel.empty() || *rel.begin() == "..") throw Error(file + " is outside the worktree " + top.string());
    return rel.generic_string();
}

// Comments are shown as strings (a YAML comment would vanish from the list).
sops::Node shown(const sops::Node& value, sops::MergeConflict::Kind kind) {
    if (kind != sops::MergeConflict::Kind::comments) return value;
    sops::Node out = sops::Node::sequence();
    for (const auto& c : value.elements) out.elements.push_back(sops::Node::string(sops::sv(c.text)));
    return out;
}

sops::Node entry_for(const sops::MergeConflict& c, bool several_documents) {
    sops::Node entry = sops::Node::mapping();
    entry.add("path", sops::Node::string(sops::conflict_path_text(c)));
    if (c.kind != sops::MergeConflict::Kind::documents && several_documents)
        entry.add("document", sops::Node::integer(static_cast<std::int64_t>(c.document + 1)));
    entry.add("conflict", sops::Node::string(sops::conflict_kind_text(c.kind)));
    if (c.ours) entry.add(kOurs, shown(*c.ours, c.kind));
    else entry.add(kOursDeleted, sops::Node::null_value());
    if (c.theirs) entry.add(kTheirs, shown(*c.theirs, c.kind));
    else entry.add(kTheirsDeleted, sops::Node::null_value());
    return entry;
}

// The editor's file: instructions, then one entry per conflict.
std::string resolution_text(std::string_view file, const git::MergeOutcome& merge) {
    sops::Node doc = sops::Node::mapping();
    for (std::string_view line : {
             " git-sops resolve: the conflicting values of " + std::string(file) + " (this file is on tmpfs).",
             std::string(" For each conflict keep exactly one of `ours:` / `theirs:` (delete the other one with its"),
             std::string(" value), or write `value: <your value>` instead of both; `delete:` removes the key."),
             std::string(" A side marked (deleted) removed the key: keep that line to delete it."),
             std::string(" Save and quit to stage the result; quit without saving to stage nothing."),
         })
        doc.items.push_back(sops::MapItem{sops::Node::comment(line), sops::Node::null_value()});
    sops::Node list = sops::Node::sequence();
    for (const auto& c : merge.conflicts) list.elements.push_back(entry_for(c, merge.documents > 1));
    doc.add("conflicts", std::move(list));
    sops::Documents docs;
    docs.push_back(std::move(doc));
    return sops::emit_plain(docs, sops::Format::yaml);
}

[[noreturn]] void bad_entry(std::size_t n, const std::string& why) {
    throw Error("conflict " + std::to_string(n + 1) + " of the resolution: " + why, exit_code::could_not_read_input);
}

sops::MergeResolution read_entry(const sops::Node& entry, const sops::MergeConflict& c, std::size_t n) {
    if (entry.type != sops::Node::Type::mapping) bad_entry(n, "not a mapping");
    const sops::Node* path = entry.find("path");
    const std::string want = sops::conflict_path_text(c);
    if (!path || sops::sv(path->text) != want) bad_entry(n, "its path is not " + want + " (keep the entries in order)");
    std::vector<std::string_view> kept;
    for (const auto& item : entry.items) {
        if (item.is_comment()) continue;
        const std::string_view key = sops::sv(item.key.text);
        if (key != "path" && key != "document" && key != "conflict") kept.push_back(key);
    }
    if (kept.size() != 1)
        bad_entry(n, "keep exactly one of ours, theirs, value or delete (found " + std::to_string(kept.size()) + ")");
    const std::string_view key = kept.front();
    const bool whole_side = c.kind == sops::MergeConflict::Kind::comments || c.kind == sops::MergeConflict::Kind::documents;
    if (key == kOurs || key == kTheirs) {
        const auto& side = key == kOurs ? c.ours : c.theirs;
        if (whole_side || !side) return side;  // comments/documents: a side as it was
        return *entry.find(key);               // a value, as the user left it
    }
    if (whole_side) bad_entry(n, "comments and documents can only take ours or theirs");
    if (key == kValue) return *entry.find(key);
    if (key == kDelete || key == kOursDeleted || key == kTheirsDeleted) return std::nullopt;
    bad_entry(n, "unknown key '" + std::string(key) + "'");
}

std::vector<sops::MergeResolution> read_resolutions(std::string_view text, const git::MergeOutcome& merge) {
    const sops::Documents docs = sops::make_store(sops::Format::yaml)->load_plain(text);
    const sops::Node* list = docs.empty() ? nullptr : docs[0].find("conflicts");
    if (!list || list->type != sops::Node::Type::sequence)
        throw Error("the resolution has no `conflicts:` list", exit_code::could_not_read_input);
    std::vector<const sops::Node*> entries;
    for (const auto& e : list->elements)
        if (!e.is_comment()) entries.push_back(&e);
    if (entries.size() != merge.conflicts.size())
        throw Error("the resolution lists " + std::to_string(entries.size()) + " conflicts, the merge has " +
                        std::to_string(merge.conflicts.size()),
                    exit_code::could_not_read_input);
    std::vector<sops::MergeResolution> out;
    for (std::size_t i = 0; i < entries.size(); ++i) out.push_back(read_entry(*entries[i], merge.conflicts[i], i));
    return out;
}

std::vector<sops::MergeResolution> take_side(const git::MergeOutcome& merge, bool ours) {
    std::vector<sops::MergeResolution> out;
    for (const auto& c : merge.conflicts) out.push_back(ours ? c.ours : c.theirs);
    return out;
}

std::vector<sops::MergeResolution> ask(const std::string& file, const git::MergeOutcome& merge, Scratch& scratch) {
    if (!scratch.memory_backed())
        note("warning: the conflicting values sit on persistent disk in " + scratch.folder().string() +
             " while you edit");
    std::string text = resolution_text(file, merge);
    scratch.write(bytes_of(text));
    for (;;) {
        run_editor(scratch.file());
        const SecureBytes edited = scratch.read();
        if (view_of(edited) == text) {
            wipe(text);
            throw Error("nothing chosen: " + file + " stays in conflict", exit_code::file_not_modified);
        }
        try {
            auto out = read_resolutions(view_of(edited), merge);
            wipe(text);
            return out;
        } catch (const Error& e) {
            if (e.code() != exit_code::could_not_read_input) throw;
            std::cerr << "git-sops: " << file << ": " << e.what() << '\n';
            const auto again = ask_tty("Reopen the editor to fix it?", true);
            if (!again || !*again) {
                wipe(text);
                throw Error("nothing staged: " + file + " stays in conflict");
            }
        }
    }
}

Staged staged_sides(const git::Index& index, const std::string& path) {
    Staged s{index.find(path, 1), index.find(path, 2), index.find(path, 3)};
    if (!s.ours && !s.theirs) {
        if (index.find(path, 0)) throw Error(path + " has no merge conflict: nothing to resolve");
        throw Error(path + " is not in the index");
    }
    if (!s.ours || !s.theirs)
        throw Error(path + " was deleted on one side and changed on the other: keep it with `git add " + path +
                    "` or delete it with `git rm " + path + "`");
    return s;
}

}  // namespace

void resolve(const ResolveOptions& options) {
    harden_process();
    Workspace ws = Workspace::open();
    const std::string path = index_path(ws.top, options.file);
    const Staged staged = staged_sides(ws.repo.index(), path);
    auto blob = [&](const std::optional<git::IndexEntry>& e) {
        return e ? std::optional<git::Blob>(ws.repo.blob(e->id)) : std::nullopt;
    };
    const auto base = blob(staged.base), ours = blob(staged.ours), theirs = blob(staged.theirs);
    const git::MergeSides sides{base ? base->bytes() : std::span<const std::uint8_t>{}, ours->bytes(), theirs->bytes()};

    // Made before anything is decrypted: the scratch folder's guardian is a forked child, and a
    // child forked later would hold a copy of the plaintext pages, neither locked nor ever wiped.
    std::optional<Scratch> scratch;
    if (options.pick == ResolveOptions::Pick::ask)
        scratch.emplace(fs::path(options.file).filename().string() + ".resolve.yaml", options.allow_disk);

    git::FilterContext context(git::Repository::open(ws.top));
    git::MergeOutcome merge = git::merge_file(context, path, sides, 7);
    if (!merge.structured)
        throw Error(path + " is not a sops file on either side: resolve its conflict markers, then `git add " + path + "`");
    if (!merge.conflicts.empty()) {
        const auto resolutions = options.pick == ResolveOptions::Pick::ask
                                     ? ask(options.file, merge, *scratch)
                                     : take_side(merge, options.pick == ResolveOptions::Pick::ours);
        merge = git::merge_file(context, path, sides, 7, &resolutions);
    }

    // Stage the ciphertext; the worktree gets what a checkout of it would give.
    const git::Oid id = ws.repo.write_blob(merge.result);
    SecureBytes worktree = context.decrypted_worktree() ? git::smudge(context, path, merge.result) : merge.result;
    io::atomic_write(ws.top / fs::path(path), worktree, (staged.ours->mode & 0111) ? 0755u : 0644u);
    context.flush();
    ws.repo.index().resolve(path, id, staged.ours->mode);
    note("resolved " + path + " (" + std::to_string(merge.conflicts.size()) + " conflict" +
         (merge.conflicts.size() == 1 ? "" : "s") + "), staged encrypted");
}

}  // namespace gitsops::lifecycle
