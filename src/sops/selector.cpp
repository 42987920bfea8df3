#include "sops/selector.hpp"

#include <re2/re2.h>

namespace gitsops::sops {

std::string_view selector_name(SelectorKind kind) {
    switch (kind) {
        case SelectorKind::none:
            return "";
        case SelectorKind::unencrypted_suffix:
            return "unencrypted_suffix";
        case SelectorKind::encrypted_suffix:
            return "encrypted_suffix";
        case SelectorKind::unencrypted_regex:
            return "unencrypted_regex";
        case SelectorKind::encrypted_regex:
            return "encrypted_regex";
        case SelectorKind::unencrypted_comment_regex:
            return "unencrypted_comment_regex";
        case SelectorKind::encrypted_comment_regex:
            return "encrypted_comment_regex";
    }
    return "";
}

Selector default_selector() { return Selector{SelectorKind::unencrypted_suffix, "_unencrypted"}; }

Selector selector_from(const SelectorSettings& s, int conflict_code) {
    const std::pair<SelectorKind, const std::string*> all[] = {
        {SelectorKind::unencrypted_suffix, &s.unencrypted_suffix},
        {SelectorKind::encrypted_suffix, &s.encrypted_suffix},
        {SelectorKind::unencrypted_regex, &s.unencrypted_regex},
        {SelectorKind::encrypted_regex, &s.encrypted_regex},
        {SelectorKind::unencrypted_comment_regex, &s.unencrypted_comment_regex},
        {SelectorKind::encrypted_comment_regex, &s.encrypted_comment_regex},
    };
    Selector out;
    for (const auto& [kind, value] : all) {
        if (value->empty()) continue;
        if (out.kind != SelectorKind::none)
            throw Error(
                "cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, "
                "unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex",
                conflict_code);
        out = Selector{kind, *value};
    }
    return out;
}

namespace {

bool is_regex(SelectorKind k) {
    return k == SelectorKind::unencrypted_regex || k == SelectorKind::encrypted_regex ||
           k == SelectorKind::unencrypted_comment_regex || k == SelectorKind::encrypted_comment_regex;
}

}  // namespace

CompiledSelector::CompiledSelector(const Selector& selector, bool strict) : selector_(selector) {
    if (!is_regex(selector.kind)) return;
    RE2::Options o;  // UTF-8, `.` not matching '\n', no implicit anchors: Go's regexp defaults
    o.set_log_errors(false);
    auto re = std::make_unique<RE2>(selector.pattern, o);
    if (!re->ok()) {
        if (strict)
            throw Error(std::string(selector_name(selector.kind)) + ": invalid regular expression: " + re->error());
        return;  // never matches
    }
    regex_ = std::move(re);
}

CompiledSelector::~CompiledSelector() = default;
CompiledSelector::CompiledSelector(CompiledSelector&&) noexcept = default;

bool CompiledSelector::regex_matches(std::string_view text) const {
    return regex_ && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *regex_);
}

bool CompiledSelector::uses_keys() const {
    switch (selector_.kind) {
        case SelectorKind::unencrypted_suffix:
        case SelectorKind::encrypted_suffix:
        case SelectorKind::unencrypted_regex:
        case SelectorKind::encrypted_regex:
            return true;
        default:
            return false;
    }
}

bool CompiledSelector::key_matches(std::string_view key) const {
    switch (selector_.kind) {
        case SelectorKind::unencrypted_suffix:
        case SelectorKind::encrypted_suffix:
            return key.ends_with(selector_.pattern);
        case SelectorKind::unencrypted_regex:
        case SelectorKind::encrypted_regex:
            return regex_matches(key);
        default:
            return false;
    }
}

bool CompiledSelector::unencrypted_comment_matches(std::string_view text) const {
    return selector_.kind == SelectorKind::unencrypted_comment_regex && regex_matches(text);
}

bool CompiledSelector::should_encrypt(std::size_t matched_keys, const CommentStack& comments, bool is_comment) const {
    switch (selector_.kind) {
        case SelectorKind::none:
            return true;
        case SelectorKind::unencrypted_suffix:
        case SelectorKind::unencrypted_regex:
            return matched_keys == 0;
        case SelectorKind::encrypted_suffix:
        case SelectorKind::encrypted_regex:
            return matched_keys > 0;
        case SelectorKind::unencrypted_comment_regex:
            for (const auto& c : comments.texts())
                if (regex_matches(sv(c))) return false;
            return true;
        case SelectorKind::encrypted_comment_regex: {
            // A comment does not count for itself: the marker line stays readable while the
            // comments after it in the same run are encrypted.
            auto self = is_comment ? comments.last_of_top() : std::nullopt;
            const auto& texts = comments.texts();
            for (std::size_t i = 0; i < texts.size(); ++i) {
                if (self && i == *self) continue;
                if (regex_matches(sv(texts[i]))) return true;
            }
            return false;
        }
    }
    return true;
}

}  // namespace gitsops::sops
