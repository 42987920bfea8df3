// Where age identities come from: the one public header of the keys module.
//
// sops 3.13's discovery (age/keysource.go loadIdentities), every source combined:
//   1. SSH private keys: $SOPS_AGE_SSH_PRIVATE_KEY_FILE, the output of
//      $SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519 and ~/.ssh/id_rsa when they exist;
//   2. $SOPS_AGE_KEY (identities text; several whitespace-separated identities per line);
//   3. $SOPS_AGE_KEY_FILE (an identities file, possibly passphrase-protected);
//   4. the output of $SOPS_AGE_KEY_CMD;
//   5. $XDG_CONFIG_HOME/sops/age/keys.txt, else $HOME/.config/sops/age/keys.txt.
// Commands are split shell-style and run without a shell, with SOPS_AGE_RECIPIENT set to the
// recipient being decrypted. Sources are read only when a data key is needed; missing or broken
// ones are reported only if no identity opens the file.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "age/age.hpp"
#include "base/secure.hpp"
#include "sops/sops.hpp"

namespace gitsops::keys {

// The environment discovery reads; `from_process()` takes it from the real environment.
struct Environment {
    std::optional<std::string> age_key;          // SOPS_AGE_KEY (secret)
    std::optional<std::string> age_key_file;     // SOPS_AGE_KEY_FILE
    std::optional<std::string> age_key_cmd;      // SOPS_AGE_KEY_CMD
    std::optional<std::string> ssh_key_file;     // SOPS_AGE_SSH_PRIVATE_KEY_FILE
    std::optional<std::string> ssh_key_cmd;      // SOPS_AGE_SSH_PRIVATE_KEY_CMD
    std::optional<std::string> home;             // HOME
    std::optional<std::string> xdg_config_home;  // XDG_CONFIG_HOME

    static Environment from_process();
};

class Discovery final : public sops::IdentitySource {
public:
    // `passphrase` unlocks passphrase-protected identity files and SSH keys; without one such
    // sources fail (and are reported).
    explicit Discovery(Environment env, age::PassphraseFn passphrase = {});
    ~Discovery() override;

    const age::Identities& identities(std::string_view recipient) override;
    std::string report() const override;

private:
    void load_static();
    age::Identities run_commands(std::string_view recipient);
    void note_error(std::string e);

    Environment env_;
    age::PassphraseFn passphrase_;
    bool loaded_ = false;
    age::Identities static_;                                             // sources that do not depend on the recipient
    std::map<std::string, age::Identities, std::less<>> per_recipient_;  // static + command output
    std::vector<std::string> errors_;
    std::vector<std::string> unused_;
};

// Splits a command line as sops does (google/shlex): whitespace-separated words, '…' literal,
// "…" with backslash escapes, backslash escapes outside quotes, # comments at a word start.
std::vector<std::string> split_command(std::string_view line);

// Runs argv[0] (looked up in PATH) without a shell, with `extra_env` ("NAME=value") added to the
// environment; returns its standard output. Error when it cannot start or exits non-zero.
SecureBytes run_command(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env);

}  // namespace gitsops::keys
