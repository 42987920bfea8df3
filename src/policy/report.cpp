// Text, JSON and SARIF renderings of findings. Messages never hold secret values, but paths and
// commit subjects are arbitrary bytes: JSON output escapes them and replaces invalid UTF-8, so
// every report parses.
#include "policy/report.hpp"

#include <cstdint>
#include <cstdio>

#include "base/error.hpp"
#include "base/utf8.hpp"

namespace gitsops::policy {

namespace {

constexpr FindingKind kAllKinds[] = {FindingKind::plaintext_secret, FindingKind::rule_not_encrypted,
                                     FindingKind::partly_plaintext, FindingKind::private_key,
                                     FindingKind::recipient_drift};

const char* severity_name(Severity s) { return s == Severity::error ? "error" : "warning"; }

std::string short_id(const std::string& commit) { return commit.substr(0, 12); }

// A JSON string literal: quotes, backslashes and control characters escaped, invalid UTF-8
// bytes replaced by U+FFFD.
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size();) {
        auto rune = utf8::decode(s, i);
        if (!rune.valid) {
            out += "\\ufffd";
        } else if (rune.value == '"' || rune.value == '\\') {
            out += '\\';
            out += static_cast<char>(rune.value);
        } else if (rune.value < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(rune.value));
            out += buf;
        } else {
            out.append(s.substr(i, rune.width));
        }
        i += rune.width;
    }
    return out + '"';
}

// SARIF wants a URI reference: keep unreserved characters and '/', percent-encode the rest.
std::string uri_of(std::string_view path) {
    std::string out;
    for (unsigned char c : path) {
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '/';
        if (keep) {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

// FNV-1a: a stable fingerprint so code scanning matches one finding across runs.
std::string fingerprint(const Finding& f) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::string_view s) {
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    };
    mix(kind_name(f.kind));
    mix(f.path);
    mix(std::to_string(f.document));
    mix(f.key_path);
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

struct RuleText {
    const char* name;
    const char* summary;
    const char* help;
    const char* security_severity;
};

RuleText rule_text(FindingKind kind) {
    switch (kind) {
        case FindingKind::plaintext_secret:
            return {"PlaintextKubernetesSecret", "A Kubernetes Secret holds a value in clear",
                    "Encrypt the Secret with sops (encrypted_regex: ^(data|stringData)$) before committing it. A "
                    "value that was pushed must be rotated.",
                    "9.0"};
        case FindingKind::rule_not_encrypted:
            return {"CreationRuleNotEncrypted", "A file covered by a .sops.yaml creation rule is not encrypted",
                    "Encrypt the file with sops, or install git-sops so that `git add` encrypts it.", "8.0"};
        case FindingKind::partly_plaintext:
            return {"PartlyPlaintextSopsFile",
                    "A sops file has values in clear that its selector requires encrypted, lacks its MAC or "
                    "version, or has a damaged ENC[...] value",
                    "Re-encrypt the file with sops; never edit sops files by hand.", "8.0"};
        case FindingKind::private_key:
            return {"PrivateKeyMaterial", "Private key material (age, OpenSSH, PEM or PGP) in a text file",
                    "Remove the key from the file and from history and replace it.", "9.0"};
        case FindingKind::recipient_drift:
            return {"RecipientDrift", "A sops file's age recipients differ from its creation rule's",
                    "Run `sops updatekeys` so the cluster the rule routes to can decrypt the file.", "4.0"};
    }
    return {"Unknown", "", "", "1.0"};
}

std::size_t rule_index(FindingKind kind) {
    for (std::size_t i = 0; i < std::size(kAllKinds); ++i)
        if (kAllKinds[i] == kind) return i;
    return 0;
}

std::string json_finding(const Occurrence& o) {
    const Finding& f = o.finding;
    std::string out = "{\"kind\":" + json_string(kind_name(f.kind)) + ",\"severity\":" + json_string(severity_name(f.severity)) +
                      ",\"path\":" + json_string(f.path);
    if (f.document >= 0) out += ",\"document_index\":" + std::to_string(f.document);
    if (!f.key_path.empty()) out += ",\"key_path\":" + json_string(f.key_path);
    if (f.line > 0) out += ",\"line\":" + std::to_string(f.line);
    out += ",\"message\":" + json_string(f.message) + ",\"fix\":" + json_string(f.fix);
    if (!o.commit.empty()) out += ",\"commit\":" + json_string(o.commit) + ",\"commit_summary\":" + json_string(o.commit_summary);
    return out + "}";
}

std::string sarif_rule(FindingKind kind) {
    RuleText t = rule_text(kind);
    const char* level = kind == FindingKind::recipient_drift ? "warning" : "error";
    return std::string("{\"id\":") + json_string(kind_name(kind)) + ",\"name\":" + json_string(t.name) +
           ",\"shortDescription\":{\"text\":" + json_string(t.summary) + "},\"fullDescription\":{\"text\":" +
           json_string(t.summary) + "},\"help\":{\"text\":" + json_string(t.help) +
           "},\"defaultConfiguration\":{\"level\":\"" + level +
           "\"},\"properties\":{\"tags\":[\"security\",\"secrets\"],\"security-severity\":\"" +
           t.security_severity + "\"}}";
}

// The message names the place inside the file (SARIF regions count lines, not YAML keys).
std::string sarif_message(const Occurrence& o) {
    const Finding& f = o.finding;
    std::string text;
    if (f.document >= 0) text += "document " + std::to_string(f.document + 1) + ": ";
    if (!f.key_path.empty()) text += f.key_path + ": ";
    text += f.message + ". Fix: " + f.fix + ".";
    if (!o.commit.empty()) text += " Introduced in commit " + short_id(o.commit) + ".";
    return text;
}

std::string sarif_result(const Occurrence& o) {
    const Finding& f = o.finding;
    std::string out = std::string("{\"ruleId\":") + json_string(kind_name(f.kind)) +
                      ",\"ruleIndex\":" + std::to_string(rule_index(f.kind)) +
                      ",\"level\":" + json_string(severity_name(f.severity)) + ",\"message\":{\"text\":" +
                      json_string(sarif_message(o)) + "},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":" +
                      json_string(uri_of(f.path)) + "},\"region\":{\"startLine\":" + std::to_string(f.line > 0 ? f.line : 1) +
                      "}}}],\"partialFingerprints\":{\"gitSopsFinding/v1\":" + json_string(fingerprint(f)) + "}";
    if (!o.commit.empty()) out += ",\"properties\":{\"commit\":" + json_string(o.commit) + "}";
    return out + "}";
}

template <class Render>
std::string joined(std::span<const Occurrence> occurrences, Render render) {
    std::string out;
    for (std::size_t i = 0; i < occurrences.size(); ++i) out += (i ? ",\n" : "\n") + render(occurrences[i]);
    return out;
}

}  // namespace

ReportFormat parse_report_format(std::string_view name) {
    if (name == "text") return ReportFormat::text;
    if (name == "json") return ReportFormat::json;
    if (name == "sarif") return ReportFormat::sarif;
    throw Error("unknown report format \"" + std::string(name) + "\" (expected text, json or sarif)",
                exit_code::usage);
}

Tally tally(std::span<const Occurrence> occurrences) {
    Tally t;
    for (const auto& o : occurrences) ++(o.finding.severity == Severity::error ? t.errors : t.warnings);
    return t;
}

std::string render_text(std::span<const Occurrence> occurrences, std::string_view line_prefix) {
    std::string out;
    for (const auto& o : occurrences) {
        out.append(line_prefix).append(severity_name(o.finding.severity)).append(": ");
        if (!o.commit.empty()) out += "commit " + short_id(o.commit) + " (" + o.commit_summary + "): ";
        out += format_text(o.finding) + '\n';
    }
    return out;
}

std::string render_json(std::span<const Occurrence> occurrences) {
    Tally t = tally(occurrences);
    return "{\"findings\":[" + joined(occurrences, json_finding) + "],\n\"errors\":" + std::to_string(t.errors) +
           ",\"warnings\":" + std::to_string(t.warnings) + "}\n";
}

std::string render_sarif(std::span<const Occurrence> occurrences, std::string_view tool_version) {
    std::string rules;
    for (std::size_t i = 0; i < std::size(kAllKinds); ++i) rules += (i ? "," : "") + sarif_rule(kAllKinds[i]);
    return "{\"$schema\":\"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json\","
           "\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"git-sops\"," +
           (tool_version.empty() ? std::string() : "\"version\":" + json_string(tool_version) + ",") + "\"rules\":[" +
           rules + "]}},\n\"results\":[" + joined(occurrences, sarif_result) + "]}]}\n";
}

}  // namespace gitsops::policy
