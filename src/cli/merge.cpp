// `git-sops merge %O %A %B %L %P`: the merge driver git runs for files with merge=sops.
#include <iostream>
#include <memory>
#include <string>

#include "base/io.hpp"
#include "cli/commands.hpp"
#include "git/merge.hpp"

namespace gitsops::cli {

namespace {

struct MergeOptions {
    std::string base, ours, theirs, path;
    int marker_size = 7;
};

void report(const std::string& path, const git::MergeOutcome& merge) {
    for (const auto& c : merge.conflicts) {
        std::string where = sops::conflict_path_text(c);
        if (merge.documents > 1 && c.kind != sops::MergeConflict::Kind::documents)
            where = "document " + std::to_string(c.document + 1) + ", " + where;
        std::cerr << "git-sops merge: " << path << ": " << where << ": " << sops::conflict_kind_text(c.kind) << '\n';
    }
    if (!merge.conflicts.empty())
        std::cerr << "git-sops merge: " << path << ": " << merge.conflicts.size() << " conflict"
                  << (merge.conflicts.size() == 1 ? "" : "s")
                  << " (our values kept, the file stays encrypted). Fix: git sops resolve " << path
                  << " (or --ours / --theirs)\n";
}

// Git's contract: 0 merged, 1 conflict (%A holds the result either way). On any error %A is left
// as it is (ours) and the exit status is 1, so git reports a conflict and nothing is lost.
int run_merge(const MergeOptions& o) {
    const std::string path = o.path.empty() ? o.ours : o.path;
    try {
        const SecureBytes base = io::read_file_secure(o.base), ours = io::read_file_secure(o.ours),
                          theirs = io::read_file_secure(o.theirs);
        git::FilterContext context;
        const git::MergeOutcome merge = git::merge_file(context, path, {base, ours, theirs}, o.marker_size);
        io::atomic_write(o.ours, merge.result);
        report(path, merge);
        return merge.clean ? 0 : 1;
    } catch (const Error& e) {
        std::cerr << "git-sops merge: " << e.what() << " (left as our version)\n";
        return 1;
    }
}

}  // namespace

void add_merge(CLI::App& app) {
    auto o = std::make_shared<MergeOptions>();
    CLI::App* cmd = app.add_subcommand("merge", "Merge driver: three-way merge of sops files per key path");
    cmd->footer(
        "Run by git as merge.sops.driver = git-sops merge %O %A %B %L %P (git sops install sets it up).\n"
        "Sops files are decrypted, merged per key path and encrypted again into OURS: unchanged values keep\n"
        "their ciphertext. Other files get git's text merge. Exit 0: merged; 1: conflicts (OURS holds our\n"
        "values, still encrypted; `git sops resolve FILE` settles them) or no key (OURS untouched).");
    cmd->add_option("base", o->base, "%O: the common ancestor (stored form)")->required();
    cmd->add_option("ours", o->ours, "%A: our version, replaced by the result")->required();
    cmd->add_option("theirs", o->theirs, "%B: their version")->required();
    cmd->add_option("marker-size", o->marker_size, "%L: conflict marker size for text merges");
    cmd->add_option("path", o->path, "%P: the path in the repository (chooses the format and the rule)");
    cmd->callback([o] {
        if (int rc = run_merge(*o); rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace gitsops::cli
