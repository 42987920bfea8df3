// How findings leave the program: lines for a terminal or a hook, JSON for scripts, SARIF 2.1.0
// for GitHub code scanning and GitLab. Part of the policy module's public face, beside
// policy.hpp: the hooks and `git sops check` print through it.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "policy/policy.hpp"

namespace gitsops::policy {

// A finding where it was found: in a commit of a history scan, or (commit empty) in the index
// or a single tree.
struct Occurrence {
    Finding finding;
    std::string commit;          // full hex id, or empty
    std::string commit_summary;  // the commit's subject line, or empty
};

enum class ReportFormat { text, json, sarif };
// "text", "json" or "sarif"; Error(usage) for anything else.
ReportFormat parse_report_format(std::string_view name);

struct Tally {
    std::size_t errors = 0;
    std::size_t warnings = 0;
};
Tally tally(std::span<const Occurrence> occurrences);

// One line per finding: "[prefix]error: [commit 1a2b3c4d5e6f (subject): ]<format_text>".
std::string render_text(std::span<const Occurrence> occurrences, std::string_view line_prefix = {});
// {"findings": [...], "errors": N, "warnings": N}; documents are 0-based ("document_index").
std::string render_json(std::span<const Occurrence> occurrences);
// One run whose driver lists every rule git-sops has, so a clean run still documents them;
// `tool_version` may be empty (then the driver has no version).
std::string render_sarif(std::span<const Occurrence> occurrences, std::string_view tool_version);

}  // namespace gitsops::policy
