// `.sops.yaml` parsing: sops::Config::parse (src/sops/sops.hpp) and the line-preserving editor
// lifecycle::SopsYaml (src/lifecycle/sops_yaml.hpp) that `git sops init/rotate` use on it.
// Properties: a bad config is rejected with gitsops::Error only; for sample paths, the rule
// rule_for() picks is the rule find_rule() picks; when both readers accept the file, adding a
// recipient to a rule gives a file both still accept, with the same number of rules, that rule
// listing the recipient, and (for Config) the rule for the same paths still found.
#include <cstdint>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "fuzz_util.hpp"
#include "lifecycle/sops_yaml.hpp"
#include "sops/sops.hpp"

using namespace gitsops;

namespace {

constexpr std::string_view kPaths[] = {"secret.yaml", "apps/prod/db-secret.enc.yaml", "a.json", ".env", "x/y.ini", ""};
// The recipient of ../shared/fixtures/sops-3.13.2/key.txt: editing only needs one that parses.
constexpr std::string_view kRecipient = "age1g74wj3g2m2l2x37frsn6q0efutcsl2zgrt0uwv9r64dpsawaughq5lxmhp";

bool same_rule(const sops::CreationRule& a, const sops::CreationRule& b) {
    const auto& x = a.selectors;
    const auto& y = b.selectors;
    return a.age_groups == b.age_groups && a.shamir_threshold == b.shamir_threshold &&
           a.mac_only_encrypted == b.mac_only_encrypted && x.unencrypted_suffix == y.unencrypted_suffix &&
           x.encrypted_suffix == y.encrypted_suffix && x.unencrypted_regex == y.unencrypted_regex &&
           x.encrypted_regex == y.encrypted_regex && x.unencrypted_comment_regex == y.unencrypted_comment_regex &&
           x.encrypted_comment_regex == y.encrypted_comment_regex;
}

void check_rules(const sops::Config& config) {
    for (std::string_view p : kPaths) {
        const std::optional<sops::CreationRule> found = config.find_rule(p);
        try {
            const sops::CreationRule rule = config.rule_for("/fuzz/" + std::string(p));
            FUZZ_CHECK(found && same_rule(*found, rule));
        } catch (const Error&) {
        }
    }
}

void check_edit(std::string_view text) {
    std::optional<lifecycle::SopsYaml> yaml;
    try {
        yaml = lifecycle::SopsYaml::parse(std::string(text), "/fuzz/.sops.yaml");
    } catch (const Error&) {
        return;
    }
    for (std::string_view p : kPaths) {
        try {
            (void)yaml->rule_for(p);
        } catch (const Error&) {  // a path_regex RE2 cannot compile is reported when it is tried
        }
    }
    if (yaml->rules().empty()) return;
    std::string edited;
    try {
        edited = yaml->add_recipient(0, kRecipient);
    } catch (const Error&) {
        return;  // a layout the editor will not touch: it says so instead of guessing
    }
    const lifecycle::SopsYaml again = lifecycle::SopsYaml::parse(edited, "/fuzz/.sops.yaml");
    FUZZ_CHECK(again.rules().size() == yaml->rules().size());
    FUZZ_CHECK(again.rules()[0].lists(kRecipient));
    const sops::Config config = sops::Config::parse(edited, "/fuzz/.sops.yaml");
    check_rules(config);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::text_of(data, size);
    try {
        const sops::Config config = sops::Config::parse(text, "/fuzz/.sops.yaml");
        check_rules(config);
    } catch (const Error&) {
        return 0;
    }
    check_edit(text);
    return 0;
}
