// pre-commit and pre-receive: a scan (scan.hpp), its findings as lines, and the verdict.
// Both fail closed: a hook that cannot check says why and stops the commit or the push.
#include "git/hooks.hpp"

#include <set>
#include <string>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/repo.hpp"
#include "git/scan.hpp"
#include "policy/report.hpp"

namespace gitsops::git {

namespace {

constexpr std::string_view kTextconvNotes = "refs/notes/textconv/";

ScanOptions scan_options(const Repository& repo, const HookOptions& options) {
    ScanOptions out;
    out.strict = options.strict;
    if (!out.strict) {
        try {
            out.strict = repo.config().get_bool("git-sops.strict").value_or(false);
        } catch (const Error&) {
            // An unreadable or non-boolean setting leaves the default.
        }
    }
    return out;
}

// GitLab shows a hook's "GL-HOOK-ERR: " lines to the pusher as the rejection message.
bool under_gitlab() { return io::getenv("GL_ID") || io::getenv("GL_REPOSITORY") || io::getenv("GL_PROTOCOL"); }

void print(const ScanResult& result, const std::string& prefix, std::ostream& err) {
    for (const auto& n : result.notes) err << prefix << "note: " << n << '\n';
    err << policy::render_text(result.findings, prefix);
}

std::size_t commits_with_errors(const ScanResult& result) {
    std::set<std::string> commits;
    for (const auto& o : result.findings)
        if (o.finding.severity == policy::Severity::error) commits.insert(o.commit);
    return commits.size();
}

}  // namespace

int run_pre_commit(const HookOptions& options, std::ostream& err) {
    const std::string prefix = "git-sops: ";
    ScanResult result;
    try {
        const Repository repo = Repository::open_from_env();
        result = scan_index(repo, scan_options(repo, options));
    } catch (const Error& e) {
        err << prefix << "cannot check the staged files: " << e.what() << '\n';
        return 1;
    }
    print(result, prefix, err);
    if (!result.has_errors()) return 0;
    err << prefix << "commit stopped: " << policy::tally(result.findings).errors
        << " problem(s) in the staged files. Fix them and stage the files again; "
           "a secret that was ever pushed must be rotated.\n";
    return 1;
}

int run_pre_receive(std::string_view updates, const HookOptions& options, std::ostream& err) {
    const std::string prefix = std::string(under_gitlab() ? "GL-HOOK-ERR: " : "") + "git-sops: ";
    auto reject = [&](const std::string& why) {
        err << prefix << "push rejected: " << why << '\n';
        return 1;
    };
    std::vector<RefUpdate> parsed;
    std::vector<std::string> textconv_refs;
    ScanResult result;
    try {
        parsed = parse_ref_updates(updates);
        for (const auto& u : parsed)
            if (u.ref.starts_with(kTextconvNotes) && !u.deletes()) textconv_refs.push_back(u.ref);
        const Repository repo = Repository::open_from_env();
        result = scan_push(repo, parsed, scan_options(repo, options));
    } catch (const Error& e) {
        return reject(std::string("the push could not be checked: ") + e.what());
    }
    print(result, prefix, err);
    for (const auto& ref : textconv_refs)
        err << prefix << "error: " << ref
            << ": refs/notes/textconv/ caches textconv output, i.e. the plaintext of encrypted files; "
               "never push it (unset diff.*.cachetextconv and delete the ref)\n";
    if (!result.has_errors() && textconv_refs.empty()) return 0;
    if (!result.has_errors()) return reject("refs/notes/textconv/* may not be pushed");
    return reject(std::to_string(policy::tally(result.findings).errors) + " problem(s) in " +
                  std::to_string(commits_with_errors(result)) +
                  " commit(s). Rewrite them (git rebase -i, git commit --amend) so that no commit holds the "
                  "plaintext, then push again; rotate any secret that has left your machine.");
}

}  // namespace gitsops::git
