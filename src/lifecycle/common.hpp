// What the lifecycle commands share: the worktree and its .sops.yaml, tracked files, where keys
// come from, printing a new key, the crash hook. Internal to lifecycle/.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "age/age.hpp"
#include "git/repo.hpp"
#include "keys/cluster.hpp"
#include "keys/keys.hpp"
#include "lifecycle/lifecycle.hpp"
#include "lifecycle/sops_yaml.hpp"
#include "lifecycle/state.hpp"
#include "sops/sops.hpp"

namespace gitsops::lifecycle {

// The repository of the current folder, with a worktree.
struct Workspace {
    git::Repository repo;
    std::filesystem::path top;          // worktree top
    std::filesystem::path config_path;  // $SOPS_CONFIG, else <top>/.sops.yaml

    static Workspace open();                   // Error when not inside a worktree
    static std::optional<Workspace> try_open();  // nullopt outside a repository

    bool has_config() const;
    SopsYaml config() const;  // Error when there is none
    sops::Config sops_config() const;
    Records records() const { return Records::load(repo.common_dir()); }

    // The name creation rules see for a file (relative to the config's folder when inside it).
    std::string rule_name(const std::filesystem::path& absolute) const;
    // Regular files of the index (stage 0), relative to the top, '/'-separated.
    std::vector<std::string> tracked_files() const;
};

// The name creation rules see for `absolute` given the config at `config_path`, as sops does.
std::string rule_name(const std::filesystem::path& config_path, const std::filesystem::path& absolute);

// "git-sops: <line>" on standard error.
void note(std::string_view line);

// Prints a new private key to standard output, once, as a valid age identity file: comment lines,
// then the key, then the instruction to store it. Written with write(2): no stdio buffer keeps it.
void print_private_key(const age::X25519Keypair& keypair, std::string_view what);
void print_private_key(std::span<const std::uint8_t> identity, std::string_view recipient, std::string_view what);

// The content of a `*.agekey` entry for one key: the identity and a newline, as age-keygen
// writes it (Flux reads one identity per line).
SecureBytes agekey_entry(const age::X25519Keypair& keypair);

// For the lifetime of a command that holds private keys or plaintext: no core dump, and no
// ptrace or /proc/<pid>/{mem,environ} access by other processes of the same user.
void harden_process();

// GIT_SOPS_TEST_CRASH_AT=<step>: SIGKILL here (tests only; see lifecycle.hpp).
void crash_point(std::string_view step);

// The Secret to use: flags first, then the record, then Flux's defaults.
keys::ClusterSecret cluster_secret(const ClusterOptions& options, const ClusterRecord* record);

// Rule for rule_name; Error naming the file and config when no rule matches.
std::size_t rule_index(const SopsYaml& config, std::string_view name, std::string_view display);

// The public key of each identity that has one (age1… for X25519).
std::vector<std::string> recipients_of(const age::Identities& ids);

// Where data keys come from: sops' discovery first; then, when allowed, the cluster recorded for
// one of the file's recipients or for its rule (or the one the flags name), read once per
// cluster and kept in memory. Extra identities (a cluster Secret the caller read) can be added.
class KeyRing {
public:
    KeyRing(Records records, ClusterOptions options, bool allow_cluster);
    ~KeyRing();

    void add(age::Identities ids, std::string where);
    sops::DataKey data_key(const sops::Metadata& metadata, std::string_view rule_id);
    sops::OpenedFile open(std::string_view bytes, sops::Format format, const sops::StoreConfig& stores,
                          std::string_view rule_id, bool ignore_mac = false);
    // Identities from sops' discovery (for "is the new key at hand?" checks).
    const age::Identities& discovered();

private:
    struct Source;
    sops::IdentitySource& source_for(const sops::Metadata& metadata, std::string_view rule_id);
    Source* cluster_source(const keys::ClusterSecret& secret);

    Records records_;
    ClusterOptions options_;
    bool allow_cluster_;
    keys::Discovery discovery_;
    std::vector<std::unique_ptr<Source>> extra_;
    std::map<std::string, std::unique_ptr<Source>> clusters_;
};

}  // namespace gitsops::lifecycle
