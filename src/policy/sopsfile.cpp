// Finding kinds 3 and 5 for a file that carries sops metadata: is it complete (mac, version, a
// valid metadata block), is every value its own selector requires encrypted really `ENC[`, does
// every `ENC[` value parse, and are its age recipients the ones its creation rule names.
//
// The selector comes from the file's metadata, never from .sops.yaml (sops-format.md §3.4), so
// an `encrypted_regex: ^(data|stringData)$` Secret whose metadata, kind and apiVersion stay in
// clear passes. Which keys a selector matches is decided by the engine's own CompiledSelector:
// a second implementation of sops' rules here could drift from the one that encrypts.
#include <algorithm>

#include "crypto/crypto.hpp"
#include "policy/detail.hpp"
#include "sops/cipher.hpp"
#include "sops/selector.hpp"

namespace gitsops::policy::detail {

namespace {

using sops::Node;
using sops::SelectorKind;

constexpr std::string_view kReencryptFix =
    "re-encrypt the file with sops (sops edit, or decrypt and encrypt again); never edit a sops file by hand";
constexpr std::string_view kRecreateFix =
    "the file was cut or edited by hand: restore it from its last good version or encrypt it again with sops";

bool is_comment_selector(SelectorKind k) {
    return k == SelectorKind::unencrypted_comment_regex || k == SelectorKind::encrypted_comment_regex;
}

std::string describe(const sops::Selector& s) {
    return std::string(sops::selector_name(s.kind)) + " '" + s.pattern + "'";
}

// What sops' value parser accepts (aes/cipher.go parse, then the base64 decodes and the type
// switch of Decrypt); checked without a key.
bool enc_value_parses(std::string_view text) {
    auto fields = sops::split_encrypted(text);
    if (!fields) return false;
    auto data = crypto::base64_decode(fields->data, true);
    auto iv = crypto::base64_decode(fields->iv, true);
    auto tag = crypto::base64_decode(fields->tag, true);
    if (!data || !iv || !tag || iv->empty() || data->size() + tag->size() < 16) return false;
    constexpr std::string_view kTypes[] = {"str", "bytes", "int", "float", "bool", "time", "comment"};
    return std::find(std::begin(kTypes), std::end(kTypes), fields->type) != std::end(kTypes);
}

// Walks one document as sops decides encryption: a key that matches the selector decides for
// its whole subtree (sops-format.md §3.2); sequence positions are not keys.
class ValueWalk {
public:
    ValueWalk(const sops::Metadata& metadata, Findings& out)
        : selector_(metadata.effective_selector()),
          compiled_(selector_, false),
          by_markers_(is_comment_selector(selector_.kind)),
          out_(out) {}

    void walk_document(const Node& document, int index) {
        document_ = index;
        walk(document);
    }

private:
    void walk(const Node& n) {
        switch (n.type) {
            case Node::Type::mapping:
                for (const auto& item : n.items) {
                    if (item.is_comment()) continue;  // clear comments are legal (older sops)
                    enter(sops::sv(item.key.text));
                    walk(item.value);
                    leave();
                }
                break;
            case Node::Type::sequence:
                for (std::size_t i = 0; i < n.elements.size(); ++i) {
                    path_.push_index(i);
                    walk(n.elements[i]);
                    path_.pop();
                }
                break;
            case Node::Type::null:
            case Node::Type::comment:
                break;
            default:
                leaf(n);
        }
    }

    void enter(std::string_view key) {
        path_.push_key(key);
        bool m = compiled_.uses_keys() && compiled_.key_matches(key);
        matched_.push_back(m);
        matched_count_ += m ? 1 : 0;
    }
    void leave() {
        matched_count_ -= matched_.back() ? 1 : 0;
        matched_.pop_back();
        path_.pop();
    }

    // With comment selectors the comments that decided may themselves be encrypted, so the
    // `ENC[` markers are the only record of the decision: every `ENC[` must parse, and a clear
    // value is taken as chosen.
    bool required() const { return !by_markers_ && compiled_.should_encrypt(matched_count_, no_comments_, false); }

    void leaf(const Node& n) {
        const bool required_here = required();
        if (is_enc(n)) {
            if ((required_here || by_markers_) && !enc_value_parses(sops::sv(n.text)))
                out_.add(FindingKind::partly_plaintext, Severity::error, document_, path_.str(),
                         "this ENC[...] value is damaged: sops cannot parse it", std::string(kRecreateFix));
            return;
        }
        if (!required_here || is_empty_string(n)) return;
        out_.add(FindingKind::partly_plaintext, Severity::error, document_, path_.str(),
                 "this value is in clear although the file's " + describe(selector_) + " requires it encrypted",
                 std::string(kReencryptFix));
    }

    sops::Selector selector_;
    sops::CompiledSelector compiled_;
    bool by_markers_;
    sops::CommentStack no_comments_;  // key selectors never look at comments
    int document_ = -1;
    Findings& out_;
    KeyPath path_;
    std::vector<bool> matched_;
    std::size_t matched_count_ = 0;
};

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
    if (!metadata.mac.empty() && !enc_value_parses(metadata.mac))
        out.add(FindingKind::partly_plaintext, Severity::error, -1, "sops.mac",
                "the MAC is not a valid ENC[...] value", std::string(kRecreateFix));
    ValueWalk walk(metadata, out);
    for (std::size_t d = 0; d < file.documents.size(); ++d) walk.walk_document(file.documents[d], static_cast<int>(d));
    if (rule) check_drift(metadata, *rule, strict, out);
}

}  // namespace gitsops::policy::detail
