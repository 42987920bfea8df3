// Checks of an encrypted file without its key: which values its selector requires encrypted,
// and whether the ENC[...] values parse. The policy classifier asks the engine rather than
// implementing sops' selector rules a second time (they could drift from the ones that encrypt).
#include <algorithm>

#include "crypto/crypto.hpp"
#include "sops/cipher.hpp"
#include "sops/selector.hpp"
#include "sops/sops.hpp"

namespace gitsops::sops {

namespace {

bool is_comment_selector(SelectorKind k) {
    return k == SelectorKind::unencrypted_comment_regex || k == SelectorKind::encrypted_comment_regex;
}

bool is_enc(const Node& n) { return n.type == Node::Type::string && sv(n.text).starts_with("ENC["); }

class Audit {
public:
    explicit Audit(const Metadata& metadata)
        : selector_(metadata.effective_selector()),
          compiled_(selector_, false),
          by_markers_(is_comment_selector(selector_.kind)) {}

    void document(const Node& root, std::size_t index) {
        document_ = index;
        walk(root);
    }

    std::vector<ValueIssue> take() { return std::move(issues_); }

private:
    void walk(const Node& n) {
        switch (n.type) {
            case Node::Type::mapping:
                for (const auto& item : n.items) {
                    if (item.is_comment()) continue;  // clear comments are legal (older sops)
                    enter(sv(item.key.text));
                    walk(item.value);
                    leave();
                }
                break;
            case Node::Type::sequence:
                for (std::size_t i = 0; i < n.elements.size(); ++i) {
                    path_.push_back(PathStep{true, {}, i});
                    walk(n.elements[i]);
                    path_.pop_back();
                }
                break;
            case Node::Type::null:
            case Node::Type::comment:
                break;
            default:
                leaf(n);
        }
    }

    // Sequence positions are not keys: only mapping keys count as matches.
    void enter(std::string_view key) {
        path_.push_back(PathStep{false, std::string(key), 0});
        const bool m = compiled_.uses_keys() && compiled_.key_matches(key);
        matched_.push_back(m);
        matched_count_ += m ? 1 : 0;
    }
    void leave() {
        matched_count_ -= matched_.back() ? 1 : 0;
        matched_.pop_back();
        path_.pop_back();
    }

    bool required() const { return !by_markers_ && compiled_.should_encrypt(matched_count_, no_comments_, false); }

    void leaf(const Node& n) {
        const bool required_here = required();
        if (is_enc(n)) {
            if ((required_here || by_markers_) && !is_valid_encrypted_value(sv(n.text)))
                issues_.push_back(ValueIssue{document_, path_, true});
            return;
        }
        const bool empty = n.type == Node::Type::string && n.text.empty();
        if (required_here && !empty) issues_.push_back(ValueIssue{document_, path_, false});
    }

    Selector selector_;
    CompiledSelector compiled_;
    bool by_markers_;
    CommentStack no_comments_;  // key selectors never look at comments
    std::size_t document_ = 0;
    std::vector<PathStep> path_;
    std::vector<bool> matched_;
    std::size_t matched_count_ = 0;
    std::vector<ValueIssue> issues_;
};

}  // namespace

bool is_valid_encrypted_value(std::string_view text) {
    auto fields = split_encrypted(text);
    if (!fields) return false;
    auto data = crypto::base64_decode(fields->data, true);
    auto iv = crypto::base64_decode(fields->iv, true);
    auto tag = crypto::base64_decode(fields->tag, true);
    if (!data || !iv || !tag || iv->empty() || data->size() + tag->size() < 16) return false;
    constexpr std::string_view kTypes[] = {"str", "bytes", "int", "float", "bool", "time", "comment"};
    return std::find(std::begin(kTypes), std::end(kTypes), fields->type) != std::end(kTypes);
}

std::vector<ValueIssue> audit_values(const Documents& documents, const Metadata& metadata) {
    Audit audit(metadata);
    for (std::size_t d = 0; d < documents.size(); ++d) audit.document(documents[d], d);
    return audit.take();
}

}  // namespace gitsops::sops
