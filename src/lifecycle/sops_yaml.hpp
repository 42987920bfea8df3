// `.sops.yaml` as text: which creation rule routes a file, and edits of a rule's age keys that
// keep every comment, the order of keys and rules, quoting and indentation. Internal to
// lifecycle/.
//
// yaml-cpp reads the file (values and the line/column of each node); edits are then made on
// the lines themselves, never by re-emitting the document, and every edit is checked by parsing
// the result again: the rule must list exactly the recipients intended, and every other rule
// must read as before. When an edit cannot be made safely (an unusual layout), the error says
// what to add by hand.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gitsops::lifecycle {

// What init writes into a new rule: the convention of Flux repositories (Secrets' values only).
inline constexpr std::string_view kDefaultPathRegex = R"(.*secret.*\.ya?ml$)";
inline constexpr std::string_view kDefaultEncryptedRegex = "^(data|stringData)$";

struct RuleView {
    std::size_t index = 0;                             // 0-based position in creation_rules
    std::optional<std::string> path_regex;             // absent: the rule matches every file
    std::vector<std::vector<std::string>> age_groups;  // as sops reads them (flat `age` = one group)
    bool key_groups = false;

    // "rule 2 (path_regex 'x')" for messages.
    std::string describe() const;
    // The name records use: the path_regex, "" for a rule without one.
    std::string id() const { return path_regex.value_or(""); }
    bool lists(std::string_view recipient) const;
};

class SopsYaml {
public:
    // Error naming `path` when the text is not YAML or creation_rules is not a list of mappings.
    static SopsYaml parse(std::string text, std::filesystem::path path);

    const std::string& text() const { return text_; }
    const std::filesystem::path& path() const { return path_; }
    const std::vector<RuleView>& rules() const { return rules_; }

    // The first rule whose path_regex matches `relative` (the file's path relative to the
    // config's folder, '/'-separated), as sops picks it; nullopt when none does.
    std::optional<std::size_t> rule_for(std::string_view relative) const;
    // --rule: "N" (1-based position) or a path_regex exactly as written; nullopt when none.
    std::optional<std::size_t> find_rule(std::string_view spec) const;

    // The text with `recipient` added to the age keys of rule `rule` (its first key group).
    std::string add_recipient(std::size_t rule, std::string_view recipient) const;
    // The text with `from` replaced by `to` wherever the given rules list it.
    std::string replace_recipient(std::span<const std::size_t> rules, std::string_view from,
                                  std::string_view to) const;
    // The text with a new last rule: path_regex, encrypted_regex for Secrets, one age key.
    std::string append_rule(std::string_view path_regex, std::string_view recipient) const;
    // A whole new `.sops.yaml` holding one such rule.
    static std::string new_file(std::string_view path_regex, std::string_view recipient);

private:
    struct Layout;
    std::string text_;
    std::filesystem::path path_;
    std::vector<RuleView> rules_;
    std::shared_ptr<const Layout> layout_;
};

}  // namespace gitsops::lifecycle
