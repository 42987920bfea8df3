// Finding names, the one-line text form, and the per-blob collection classify() fills.
#include <algorithm>
#include <set>
#include <utility>

#include "policy/detail.hpp"

namespace gitsops::policy {

const char* kind_name(FindingKind kind) {
    switch (kind) {
        case FindingKind::plaintext_secret:
            return "plaintext-secret";
        case FindingKind::rule_not_encrypted:
            return "rule-not-encrypted";
        case FindingKind::partly_plaintext:
            return "partly-plaintext";
        case FindingKind::private_key:
            return "private-key";
        case FindingKind::recipient_drift:
            return "recipient-drift";
    }
    return "unknown";
}

// Documents are numbered from 1 here, as editors number lines; Finding::document stays 0-based.
std::string format_text(const Finding& f) {
    std::string out = f.path;
    if (f.document >= 0) out += ":doc " + std::to_string(f.document + 1);
    if (!f.key_path.empty()) out += ": " + f.key_path;
    out += ": " + f.message;
    if (!f.fix.empty()) out += " (" + f.fix + ")";
    return out;
}

namespace detail {

void KeyPath::push_key(std::string_view key) {
    marks_.push_back(text_.size());
    if (!text_.empty()) text_ += '.';
    text_.append(key);
}

void KeyPath::push_index(std::size_t index) {
    marks_.push_back(text_.size());
    text_ += '[' + std::to_string(index) + ']';
}

void KeyPath::pop() {
    text_.resize(marks_.back());
    marks_.pop_back();
}

void Findings::add(FindingKind kind, Severity severity, int document, std::string key_path, std::string message,
                   std::string fix, int line) {
    items_.push_back(
        Finding{kind, severity, path_, document, std::move(key_path), std::move(message), std::move(fix), line});
}

bool Findings::has(FindingKind kind, int document, std::string_view key_path) const {
    return std::any_of(items_.begin(), items_.end(), [&](const Finding& f) {
        return f.kind == kind && f.document == document && f.key_path == key_path;
    });
}

void Findings::drop_shadowed(FindingKind kind, FindingKind over) {
    // The places of the winning findings go into a set first: asking has() for every finding
    // was quadratic (a Secret with 200,000 plaintext keys kept `git sops check` busy for 44 s).
    std::set<std::pair<int, std::string_view>> winners;
    for (const auto& f : items_)
        if (f.kind == over) winners.emplace(f.document, f.key_path);
    if (winners.empty()) return;
    std::vector<Finding> kept;
    kept.reserve(items_.size());
    for (auto& f : items_)
        if (f.kind != kind || !winners.contains({f.document, std::string_view(f.key_path)})) kept.push_back(f);
    items_ = std::move(kept);
}

}  // namespace detail

}  // namespace gitsops::policy
