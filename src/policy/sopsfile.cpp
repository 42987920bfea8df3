// Finding kinds 3 and 5 for a file that carries sops metadata: is it complete (mac, version, a
// valid metadata block), is every value its own selector requires encrypted really `ENC[`, does
// every `ENC[` value parse, and are its age recipients the ones its creation rule names.
//
// The selector comes from the file's metadata, never from .sops.yaml (sops-format.md §3.4), so
// an `encrypted_regex: ^(data|stringData)$` Secret whose metadata, kind and apiVersion stay in
// clear passes. Which values a selector requires encrypted is decided by the engine
// (sops::audit_values): a second implementation of sops' rules here could drift from the one
// that encrypts.
#include <algorithm>

#include "policy/detail.hpp"

namespace gitsops::policy::detail {

namespace {

constexpr std::string_view kReencryptFix =
    "re-encrypt the file with sops (sops edit, or decrypt and encrypt again); never edit a sops file by hand";
constexpr std::string_view kRecreateFix =
    "the file was cut or edited by hand: restore it from its last good version or encrypt it again with sops";

std::string describe(const sops::Selector& s) {
    return std::string(sops::selector_name(s.kind)) + " '" + s.pattern + "'";
}

// A tree path of the engine in the policy's notation (stringData.password, items[1].data.k).
std::string path_text(const std::vector<sops::PathStep>& steps) {
    KeyPath path;
    for (const auto& step : steps) {
        if (step.is_index) path.push_index(step.index);
        else path.push_key(step.key);
    }
    return path.str();
}

void report_values(const ParsedFile& file, const sops::Metadata& metadata, Findings& out) {
    const std::string selector = describe(metadata.effective_selector());
    for (const auto& issue : sops::audit_values(file.documents, metadata)) {
        if (issue.damaged)
            out.add(FindingKind::partly_plaintext, Severity::error, static_cast<int>(issue.document),
                    path_text(issue.path), "this ENC[...] value is damaged: sops cannot parse it",
                    std::string(kRecreateFix));
        else
            out.add(FindingKind::partly_plaintext, Severity::error, static_cast<int>(issue.document),
                    path_text(issue.path),
                    "this value is in clear although the file's " + selector + " requires it encrypted",
                    std::string(kReencryptFix));
    }
}

using Groups = std::vector<std::vector<std::string>>;

// Key groups as comparable values: recipients trimmed and sorted, empty groups (key types other
// than age) dropped, groups sorted.
Groups normalized(Groups groups) {
    for (auto& g : groups) {
        for (auto& r : g) {
            auto first = r.find_first_not_of(" \t\r\n");
            auto last = r.find_last_not_of(" \t\r\n");
            r = first == std::string::npos ? std::string() : r.substr(first, last - first + 1);
        }
        std::sort(g.begin(), g.end());
    }
    std::erase_if(groups, [](const auto& g) { return g.empty(); });
    std::sort(groups.begin(), groups.end());
    return groups;
}

std::vector<std::string> flat(const Groups& groups) {
    std::vector<std::string> out;
    for (const auto& g : groups) out.insert(out.end(), g.begin(), g.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string joined_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::vector<std::string> d;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(d));
    std::string out;
    for (const auto& r : d) out += (out.empty() ? "" : ", ") + r;
    return out;
}

void check_drift(const sops::Metadata& metadata, const sops::CreationRule& rule, bool strict, Findings& out) {
    Groups file_groups;
    for (const auto& g : metadata.key_groups) {
        file_groups.emplace_back();
        for (const auto& e : g.age) file_groups.back().push_back(e.recipient);
    }
    Groups have = normalized(std::move(file_groups));
    Groups want = normalized(rule.age_groups);
    if (have == want) return;
    std::string missing = joined_difference(flat(want), flat(have));
    std::string extra = joined_difference(flat(have), flat(want));
    std::string message = "its age recipients differ from the .sops.yaml creation rule for this path";
    if (!missing.empty()) message += "; missing: " + missing;
    if (!extra.empty()) message += "; not in the rule: " + extra;
    if (missing.empty() && extra.empty()) message += " (the same recipients, grouped differently)";
    out.add(FindingKind::recipient_drift, strict ? Severity::error : Severity::warning, -1, "sops", message,
            "run `sops updatekeys` on it so the recipients match .sops.yaml; otherwise the cluster that rule "
            "routes to cannot decrypt it");
}

}  // namespace

void check_sops_file(const ParsedFile& file, const std::optional<sops::CreationRule>& rule, bool strict,
                     Findings& out) {
    sops::Metadata metadata;
    try {
        metadata = sops::parse_metadata(*file.metadata);
    } catch (const Error& e) {
        // The engine's metadata errors name fields, never values.
        out.add(FindingKind::partly_plaintext, Severity::error, -1, "sops",
                std::string("the sops metadata is invalid: ") + e.what(), std::string(kRecreateFix));
        return;
    }
    for (std::string_view field : {"mac", "version"}) {
        const std::string& value = field == "mac" ? metadata.mac : metadata.version;
        if (value.empty())
            out.add(FindingKind::partly_plaintext, Severity::error, -1, "sops." + std::string(field),
                    "the sops metadata has no " + std::string(field) + ": this is not a complete sops file",
                    std::string(kRecreateFix));
    }
    if (!metadata.mac.empty() && !sops::is_valid_encrypted_value(metadata.mac))
        out.add(FindingKind::partly_plaintext, Severity::error, -1, "sops.mac",
                "the MAC is not a valid ENC[...] value", std::string(kRecreateFix));
    report_values(file, metadata, out);
    if (rule) check_drift(metadata, *rule, strict, out);
}

}  // namespace gitsops::policy::detail
