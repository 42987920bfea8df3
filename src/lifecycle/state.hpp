// What the key lifecycle remembers in the repository; never a private key. Internal to lifecycle/.
//
//   <common git dir>/git-sops/clusters   which cluster holds the key of which creation rule
//                                        (written by init and rotate; read by edit, rotate,
//                                        updatekeys, status), shared by linked worktrees
//   <git dir>/git-sops/rotate/           the journal of a rotation in progress and copies of the
//                                        files it rewrites as they were before (ciphertext), so
//                                        that a rerun resumes and `--abort` rolls back
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keys/cluster.hpp"

namespace gitsops::lifecycle {

// One rule's cluster. A rule is named by its path_regex ("" for a rule without one).
struct ClusterRecord {
    std::string rule;
    std::string recipient;   // the cluster's public key, as listed in the rule
    bool no_cluster = false;  // init --no-cluster: the private key is held by the user only
    keys::ClusterSecret secret;

    std::string describe() const;  // "secret flux-system/sops-age (context kind)" or "no cluster"
};

class Records {
public:
    static Records load(const std::filesystem::path& common_dir);
    void save() const;

    const std::vector<ClusterRecord>& all() const { return records_; }
    const ClusterRecord* by_rule(std::string_view rule) const;
    const ClusterRecord* by_recipient(std::string_view recipient) const;
    // Adds the record, replacing the one for the same rule.
    void put(ClusterRecord record);

private:
    std::filesystem::path file_;
    std::vector<ClusterRecord> records_;
};

// A rotation in progress. Steps, in order: planned (new public key chosen, files listed) ->
// key_stored (the new private key is in the cluster, or was printed with --no-cluster) -> files
// rewritten one by one (each `done` flag set after its atomic write) -> config_updated.
struct Journal {
    enum class State { planned, key_stored, config_updated };
    struct File {
        std::string path;  // relative to the worktree top
        bool done = false;
    };

    State state = State::planned;
    std::string rule;           // the rule rotated (its id)
    std::string old_recipient;  // the cluster key being replaced
    std::string new_recipient;
    ClusterRecord cluster;      // where the keys live (recipient = the old one)
    bool config_saved = false;  // orig/sops.yaml holds .sops.yaml as it was
    std::vector<File> files;

    static std::filesystem::path dir(const std::filesystem::path& git_dir);
    // nullopt when no rotation is in progress.
    static std::optional<Journal> load(const std::filesystem::path& git_dir);
    // Atomic rewrite, so a crash leaves the previous or the new journal, never a torn one.
    void save(const std::filesystem::path& git_dir) const;
    static void remove(const std::filesystem::path& git_dir);

    // Where the bytes of file `index` (or of .sops.yaml) were kept before being rewritten.
    static std::filesystem::path original(const std::filesystem::path& git_dir, std::size_t index);
    static std::filesystem::path original_config(const std::filesystem::path& git_dir);
};

const char* state_name(Journal::State s);

}  // namespace gitsops::lifecycle
