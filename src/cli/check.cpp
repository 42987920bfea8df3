// `git sops check [--staged | --range A..B | --all | --tree REV] [--format text|json|sarif]
// [--strict]`: the hooks' check for CI. Exit status: 0 clean (warnings allowed), 1 findings,
// 2 usage or repository errors.
//
// CI scripts branch on that status, so usage errors must be 2, which CLI11's own parse errors
// are not: the subcommand takes its arguments raw and parses them with a parser of its own.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "git/repo.hpp"
#include "git/scan.hpp"
#include "policy/report.hpp"

namespace gitsops::cli {

namespace {

constexpr int kClean = 0, kFindings = 1, kTrouble = 2;

struct CheckOptions {
    bool staged = false, all = false, strict = false;
    std::string range, tree, format = "text";
};

void define(CLI::App& parser, CheckOptions& o) {
    auto* staged = parser.add_flag("--staged", o.staged, "The staged files (what the pre-commit hook checks)");
    auto* range = parser.add_option("--range", o.range, "The commits of A..B, each against its own .sops.yaml");
    auto* all = parser.add_flag("--all", o.all, "Every commit reachable from any ref");
    auto* tree = parser.add_option("--tree", o.tree, "Every file of one revision (the default: --tree HEAD)");
    for (auto* a : {staged, range, all, tree})
        for (auto* b : {staged, range, all, tree})
            if (a != b) a->excludes(b);
    parser.add_option("--format", o.format, "text (default), json, or sarif (SARIF 2.1.0 for code scanning)")
        ->check(CLI::IsMember({"text", "json", "sarif"}));
    parser.add_flag("--strict", o.strict, "Recipient drift is an error, not a warning");
}

git::ScanResult scan(const CheckOptions& o) {
    const git::Repository repo = git::Repository::open_from_env();
    git::ScanOptions options;
    options.strict = o.strict;
    if (o.staged) return git::scan_index(repo, options);
    if (!o.range.empty()) return git::scan_range(repo, o.range, options);
    if (o.all) return git::scan_all(repo, options);
    if (o.tree.empty() && !repo.resolve_commit("HEAD")) {
        git::ScanResult nothing;  // the default on a repository without commits: nothing to check
        nothing.notes.push_back("HEAD has no commit yet: nothing to check (--staged checks the index)");
        return nothing;
    }
    return git::scan_tree(repo, o.tree.empty() ? "HEAD" : o.tree, options);
}

void print(const git::ScanResult& result, policy::ReportFormat format) {
    switch (format) {
        case policy::ReportFormat::json:
            std::cout << policy::render_json(result.findings);
            break;
        case policy::ReportFormat::sarif:
#ifdef GITSOPS_VERSION
            std::cout << policy::render_sarif(result.findings, GITSOPS_VERSION);
#else
            std::cout << policy::render_sarif(result.findings, "");
#endif
            break;
        case policy::ReportFormat::text:
            std::cout << policy::render_text(result.findings);
            break;
    }
    std::cout.flush();
    for (const auto& n : result.notes) std::cerr << "git-sops: note: " << n << '\n';
    const auto t = policy::tally(result.findings);
    std::cerr << "git-sops: " << t.errors << " error(s), " << t.warnings << " warning(s) in " << result.blobs
              << " file version(s) checked";
    if (result.commits) std::cerr << " across " << result.commits << " commit(s)";
    std::cerr << '\n';
}

int run_check(std::vector<std::string> args) {
    CLI::App parser{"Check for plaintext secrets, as the hooks do, for CI. Exit status: 0 clean, 1 findings, "
                    "2 usage or repository errors.",
                    "git sops check"};
    CheckOptions options;
    define(parser, options);
    try {
        std::reverse(args.begin(), args.end());  // CLI11 takes a vector back to front
        parser.parse(args);
    } catch (const CLI::CallForHelp&) {
        std::cout << parser.help();
        return kClean;
    } catch (const CLI::ParseError& e) {
        std::cerr << "git-sops check: " << e.what() << "\nRun 'git sops check --help' for the options.\n";
        return kTrouble;
    }
    try {
        const auto format = policy::parse_report_format(options.format);
        const git::ScanResult result = scan(options);
        print(result, format);
        return result.has_errors() ? kFindings : kClean;
    } catch (const Error& e) {
        std::cerr << "git-sops check: " << e.what() << '\n';
        return kTrouble;
    }
}

}  // namespace

void add_check(CLI::App& app) {
    auto* check = app.add_subcommand(
        "check", "Check for plaintext secrets for CI: --staged, --range A..B, --all or --tree REV (default HEAD); "
                 "--format text|json|sarif; exit 0 clean, 1 findings, 2 errors");
    // Every argument, --help included, goes to run_check's own parser (see the top of the file).
    check->prefix_command();
    check->set_help_flag();
    check->callback([check] {
        const int code = run_check(check->remaining());
        if (code != 0) throw CLI::RuntimeError(code);
    });
}

}  // namespace gitsops::cli
