// The classifier: one blob, its path and its revision's .sops.yaml in, findings out.
//
// Cost is the point for hooks with a 5 s budget and for whole histories: a blob is parsed only
// when the bytes hold a word that can lead to a finding (`Secret`, `sops`, a key marker) or a
// creation rule covers its path; everything else costs a few memchr-speed scans.
#include <algorithm>

#include "policy/detail.hpp"

namespace gitsops::policy {

namespace {

using detail::contains;
using sops::Format;

bool is_config_path(std::string_view path) { return path == ".sops.yaml" || path.ends_with("/.sops.yaml"); }

// The rule for a path of the revision (whose .sops.yaml sits at the root, so repository paths
// are already relative to the config's folder). The config itself is never a secret file.
std::optional<sops::CreationRule> rule_for(const Context& context, std::string_view path) {
    if (!context.config || !context.config->has_creation_rules() || is_config_path(path)) return std::nullopt;
    return context.config->find_rule(path);
}

bool has_marker(std::string_view text) {
    return detail::may_name_secret(text) || contains(text, detail::kSopsMarker) ||
           contains(text, detail::kAgeKeyMarker) || contains(text, detail::kPemKeyMarker);
}

bool is_manifest_format(Format f) { return f == Format::yaml || f == Format::json; }

// sops writes binary-store files (any other extension) as a JSON envelope.
bool looks_like_json_object(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '{';
}

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

void report_rule_not_encrypted(const detail::ParsedFile& file, Format format, detail::Findings& out) {
    std::string message = "a .sops.yaml creation rule covers this path, but the file is not encrypted";
    if (file.parsed)
        message += " (it has no sops metadata)";
    else
        message += " (it does not parse as " + std::string(sops::format_name(format)) + ": " + file.parse_error + ")";
    out.add(FindingKind::rule_not_encrypted, Severity::error, -1, {}, std::move(message),
            "encrypt it (sops encrypt -i, or `git sops install` so that `git add` encrypts it), or change the "
            "rule's path_regex if this file is not a secret");
}

// Document numbers only mean something when there is more than one document.
std::vector<Finding> finish(detail::Findings& out, const detail::ParsedFile& file) {
    out.drop_shadowed(FindingKind::plaintext_secret, FindingKind::partly_plaintext);
    std::vector<Finding> findings = out.take();
    if (file.documents.size() <= 1)
        for (auto& f : findings) f.document = -1;
    return findings;
}

std::string_view text_of(std::span<const std::uint8_t> blob) { return view_of(blob); }

}  // namespace

bool may_have_findings(std::span<const std::uint8_t> blob, std::string_view path, const Context& context) {
    if (rule_for(context, path)) return true;
    std::string_view text = text_of(blob);
    return !detail::looks_binary(text) && has_marker(text);
}

std::vector<Finding> classify(std::span<const std::uint8_t> blob, std::string_view path, const Context& context) {
    const std::string_view text = text_of(blob);
    const auto rule = rule_for(context, path);
    const bool binary = detail::looks_binary(text);
    if (!rule && (binary || !has_marker(text))) return {};

    detail::Findings out(path);
    const Format format = sops::format_for_path(path);
    const auto keys = binary ? std::vector<detail::KeyHit>{} : detail::find_private_keys(text);
    const bool has_secret = detail::may_name_secret(text);
    const bool has_sops = contains(text, detail::kSopsMarker);
    const bool worth_parsing =
        (rule && !is_blank(text)) ||
        (format == Format::binary ? has_sops && looks_like_json_object(text)
                                  : has_secret || has_sops || !keys.empty());

    detail::ParsedFile file;
    if (worth_parsing)
        file = detail::parse_file(text, format, context.config ? context.config->stores() : sops::StoreConfig{});
    if (rule && worth_parsing && !file.metadata) report_rule_not_encrypted(file, format, out);
    if (file.metadata) detail::check_sops_file(file, rule, context.strict, out);
    if (has_secret && is_manifest_format(format)) {
        if (file.parsed) detail::check_kubernetes_secrets(file.documents, out);
        else if (worth_parsing && !rule) detail::check_unparsed_secret(text, file, format, out);
    }
    detail::report_private_keys(keys, &file, out);
    return finish(out, file);
}

std::vector<Finding> plaintext_secrets(std::span<const std::uint8_t> blob, std::string_view path) {
    const std::string_view text = text_of(blob);
    const Format format = sops::format_for_path(path);
    if (!is_manifest_format(format) || !detail::may_name_secret(text) || detail::looks_binary(text))
        return {};
    detail::ParsedFile file = detail::parse_file(text, format, {});
    detail::Findings out(path);
    if (file.parsed) detail::check_kubernetes_secrets(file.documents, out);
    else detail::check_unparsed_secret(text, file, format, out);
    return finish(out, file);
}

}  // namespace gitsops::policy
