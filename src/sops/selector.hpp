// Which leaves get encrypted (sops.go shouldBeEncrypted). Internal to src/sops/.
//
// The walk asks two questions: does a key name match (suffix/regex selectors; a match on any
// ancestor key decides for the whole subtree), and does an active comment match (comment
// selectors). Regexes are Go RE2 syntax with unanchored search, compiled once.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "sops/sops.hpp"

namespace re2 {
class RE2;
}

namespace gitsops::sops {

// The comments "above" the item being decided: one run per nesting level. A run grows with each
// comment item and is cleared after each non-comment item.
class CommentStack {
public:
    void push_level() { level_start_.push_back(texts_.size()); }
    void pop_level() {
        texts_.resize(level_start_.back());
        level_start_.pop_back();
    }
    void add(std::string_view text) { texts_.push_back(to_sstring(text)); }
    void clear_level() { texts_.resize(level_start_.back()); }

    const std::vector<SString, WipingAllocator<SString>>& texts() const { return texts_; }
    // Index of the most recent comment of the innermost level, if that level has one.
    std::optional<std::size_t> last_of_top() const {
        if (level_start_.empty() || texts_.size() == level_start_.back()) return std::nullopt;
        return texts_.size() - 1;
    }

private:
    std::vector<SString, WipingAllocator<SString>> texts_;
    std::vector<std::size_t> level_start_;
};

class CompiledSelector {
public:
    // Throws Error(generic) for an invalid regex when `strict`; otherwise an invalid regex never
    // matches, as Go's regexp.Match reports it to sops (which ignores the error).
    CompiledSelector(const Selector& selector, bool strict);
    ~CompiledSelector();
    CompiledSelector(CompiledSelector&&) noexcept;

    // Whether this key name counts for the key-name selectors (suffix or regex).
    bool key_matches(std::string_view key) const;
    bool uses_keys() const;
    // The decision for an item whose ancestors include `matched_keys` matching key names.
    bool should_encrypt(std::size_t matched_keys, const CommentStack& comments, bool is_comment) const;
    // The unencrypted comment regex must not match an encrypted comment (sops.go Encrypt).
    bool unencrypted_comment_matches(std::string_view text) const;

private:
    bool regex_matches(std::string_view text) const;

    Selector selector_;
    std::unique_ptr<re2::RE2> regex_;
};

}  // namespace gitsops::sops
