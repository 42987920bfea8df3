// `git sops encrypt`: sops 3.13.2's `sops encrypt` (cmd/sops/encrypt.go), age recipients only.
#include <memory>
#include <string>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/sops_io.hpp"
#include "sops/sops.hpp"

namespace gitsops::cli {

namespace {

struct EncryptOptions {
    FileOptions files;
    std::string age;
    sops::SelectorSettings selectors;
    bool mac_only_encrypted = false;
    int shamir_threshold = 0;
};

// Recipients: --age / $SOPS_AGE_RECIPIENTS, else the creation rule's groups.
std::vector<std::vector<std::string>> recipient_groups(const EncryptOptions& o,
                                                       const std::optional<sops::CreationRule>& rule,
                                                       const std::optional<sops::Config>& config) {
    if (!o.age.empty()) return {sops::split_recipients(o.age)};
    if (!rule)
        throw Error(config ? "no age recipients: give --age (the config " + config->path().string() +
                                 " has no creation rules)"
                           : std::string("no age recipients: give --age, set SOPS_AGE_RECIPIENTS, or add a .sops.yaml "
                                         "creation rule"));
    return rule->age_groups;
}

// The command line merged over the creation rule, one setting at a time, as sops'
// getEncryptConfig does.
sops::CreationRule merged_settings(const EncryptOptions& o, const std::optional<sops::CreationRule>& rule,
                                   const std::optional<sops::Config>& config) {
    sops::CreationRule s = rule.value_or(sops::CreationRule{});
    auto prefer = [](std::string& from_rule, const std::string& flag) {
        if (!flag.empty()) from_rule = flag;
    };
    prefer(s.selectors.unencrypted_suffix, o.selectors.unencrypted_suffix);
    prefer(s.selectors.encrypted_suffix, o.selectors.encrypted_suffix);
    prefer(s.selectors.unencrypted_regex, o.selectors.unencrypted_regex);
    prefer(s.selectors.encrypted_regex, o.selectors.encrypted_regex);
    prefer(s.selectors.unencrypted_comment_regex, o.selectors.unencrypted_comment_regex);
    prefer(s.selectors.encrypted_comment_regex, o.selectors.encrypted_comment_regex);
    s.mac_only_encrypted = s.mac_only_encrypted || o.mac_only_encrypted;
    if (o.shamir_threshold != 0) s.shamir_threshold = o.shamir_threshold;
    s.age_groups = recipient_groups(o, rule, config);
    return s;
}

void run_encrypt(const EncryptOptions& o) {
    const FileSetup f = resolve(o.files, true);
    // As sops: with a config that has creation rules, the file must match one, even when the
    // recipients come from the command line.
    std::optional<sops::CreationRule> rule;
    if (f.config && f.config->has_creation_rules()) rule = f.config->rule_for(f.name);
    const sops::CreationRule settings = merged_settings(o, rule, f.config);

    const WipedString plaintext(f.input.read());
    const std::string encrypted = parsing(f.input, [&] {
        return sops::encrypt_plaintext(plaintext.text, settings, f.in_format, f.out_format, f.in_config, f.out_config);
    });
    write_result(encrypted, f.input, o.files.in_place, o.files.output);
}

}  // namespace

void add_encrypt(CLI::App& app) {
    auto o = std::make_shared<EncryptOptions>();
    CLI::App* cmd = app.add_subcommand("encrypt", "Encrypt a file as sops 3.13.2 does (age recipients)");
    cmd->footer(
        "Recipients come from --age (or SOPS_AGE_RECIPIENTS), else from the first .sops.yaml creation rule\n"
        "matching the file. Without a selector, keys ending in _unencrypted stay clear.\n"
        "The result goes to standard output unless -i or --output is given.");
    add_file_options(cmd, o->files, "encrypt");
    cmd->add_option("-a,--age", o->age, "Comma-separated age recipients (age1..., ssh-ed25519 ..., ssh-rsa ...)")
        ->envname("SOPS_AGE_RECIPIENTS");
    cmd->add_option("--unencrypted-suffix", o->selectors.unencrypted_suffix, "Leave keys with this suffix clear");
    cmd->add_option("--encrypted-suffix", o->selectors.encrypted_suffix, "Encrypt only keys with this suffix");
    cmd->add_option("--unencrypted-regex", o->selectors.unencrypted_regex, "Leave keys matching this regex clear");
    cmd->add_option("--encrypted-regex", o->selectors.encrypted_regex, "Encrypt only keys matching this regex");
    cmd->add_option("--unencrypted-comment-regex", o->selectors.unencrypted_comment_regex,
                    "Leave values below a comment matching this regex clear");
    cmd->add_option("--encrypted-comment-regex", o->selectors.encrypted_comment_regex,
                    "Encrypt only values below a comment matching this regex");
    cmd->add_flag("--mac-only-encrypted", o->mac_only_encrypted, "Compute the MAC over encrypted values only");
    cmd->add_option("--shamir-secret-sharing-threshold", o->shamir_threshold,
                    "Key groups needed to recover the data key");
    cmd->callback([o] { run_encrypt(*o); });
}

}  // namespace gitsops::cli
