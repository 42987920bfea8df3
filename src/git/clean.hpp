// The clean filter: what git stores for a worktree file. Git runs it at `git add`, and also
// whenever it compares a worktree file with the index (`git status`, `git diff`, stash, rebase,
// checkout), so its output must be stable: the same plaintext must give the same blob.
//
// Per file, in this order:
//   - the path matches a creation rule of the `.sops.yaml` at the top of the worktree:
//       a complete sops file passes through byte for byte; a partly plaintext one, or a broken
//       sops block, fails; plaintext is encrypted for the rule's recipients with its selectors,
//       reusing the previous blob (index, else HEAD) when it decrypts to the same plaintext,
//       and its data key, age entries and unchanged values' IVs when it does not;
//   - no rule matches: a plaintext Kubernetes Secret fails (the message names the path, the
//     documents and the two fixes); anything else passes through, without a YAML parse unless
//     the bytes could hold a Secret.
// Any error throws: the protocol answers status=error and, with filter.sops.required, git refuses
// the command. Plaintext never reaches the object store through clean.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/secure.hpp"
#include "crypto/crypto.hpp"
#include "git/clean_cache.hpp"
#include "git/repo.hpp"
#include "sops/sops.hpp"

namespace gitsops::git {

// What one git command's filter process shares across files: the repository and its index,
// the `.sops.yaml`, the identities (sops' discovery, read once), the data keys already unwrapped
// and the clean cache. Everything is loaded on first use, so a file that needs none of it
// (most files of a `git status`) costs nothing.
class FilterContext {
public:
    FilterContext();                          // the repository git's environment names
    explicit FilterContext(Repository repo);  // a given repository (tests)
    ~FilterContext();                         // writes what the clean cache learnt
    FilterContext(const FilterContext&) = delete;
    FilterContext& operator=(const FilterContext&) = delete;

    // Throws Error when git-sops does not run inside a repository.
    const Repository& repo();
    // The `.sops.yaml` at the top of the worktree; nullptr when there is none (or the repository
    // is bare). A config that does not load throws its error on every call.
    const sops::Config* config();
    // The stores settings of that config; the defaults when there is none or it is broken.
    sops::StoreConfig stores();
    // The creation rule for a path relative to the worktree top; nullopt when none matches.
    // Throws for a rule git-sops cannot honour (other key types, conflicting selectors) and, as
    // sops does, for an invalid path_regex that a path reaches.
    std::optional<sops::CreationRule> rule_for(std::string_view path);

    // The blob staged for `path` (stage 0), re-reading the index when git rewrote it.
    std::optional<Oid> staged_id(std::string_view path);
    // The previous version of a file: the staged blob, else the one in HEAD.
    std::optional<Blob> previous_blob(std::string_view path);
    // A blob by id; nullopt when the object database does not have it.
    std::optional<Blob> find_blob(const Oid& id);

    // The data key of a sops file, unwrapped once per distinct set of key entries; nullopt when
    // no identity opens it, with the reason in `why`.
    std::optional<sops::DataKey> data_key(const sops::Metadata& metadata, std::string& why);

    // The clean cache in the common git dir; nullptr when it cannot be used (read-only
    // repository, damaged key): clean then stays correct but is stable only with a key.
    CleanCache* cache();

    // git-sops.decryptedWorktree (install --decrypted-worktree, unlock, lock).
    bool decrypted_worktree();

    // Prints `line` on standard error the first time `topic` comes up in this process.
    void warn_once(std::string_view topic, const std::string& line);

    // Writes the clean cache now (the destructor does too).
    void flush() noexcept;

    // A fresh data key wrapped for a rule's recipients (one X25519 agreement per age recipient,
    // most of the cost of encrypting a small file). The spare made by prepare_next_key() is
    // handed out when it was made for the same recipients and threshold; used once, never kept.
    struct WrappedKey {
        sops::DataKey key;
        std::vector<sops::KeyGroup> groups;
        int threshold = 0;
    };
    WrappedKey new_wrapped_key(const sops::CreationRule& rule);
    // Makes the spare for the recipients of the last new key, if it was taken. The process
    // filter calls it once a response is sent: git then hashes, writes the object and reads the
    // next file, so this work overlaps with git's instead of adding to each file's wait.
    void prepare_next_key();
    bool has_spare_key() const { return spare_key_.has_value(); }

private:
    struct FileStamp {
        std::uint64_t inode = 0;
        std::int64_t size = 0, seconds = 0, nanoseconds = 0;
        bool operator==(const FileStamp&) const = default;
    };
    FileStamp index_stamp();

    std::optional<Repository> repo_;
    bool config_loaded_ = false;
    std::optional<sops::Config> config_;
    std::optional<std::string> config_error_;
    std::optional<std::string> rules_error_;  // an invalid path_regex that no-match paths reach
    bool rules_probed_ = false;
    std::optional<Index> index_;
    std::filesystem::path index_file_;
    FileStamp index_read_at_;
    bool head_loaded_ = false;
    std::optional<Tree> head_;
    std::unique_ptr<sops::IdentitySource> identities_;
    std::map<crypto::Sha256, sops::DataKey> keys_;
    std::map<crypto::Sha256, std::string> key_failures_;
    bool cache_opened_ = false;
    std::unique_ptr<CleanCache> cache_;
    std::optional<bool> decrypted_worktree_;
    std::set<std::string, std::less<>> warned_;
    struct KeyRecipients {
        std::vector<std::vector<std::string>> groups;
        int threshold = 0;
        bool operator==(const KeyRecipients&) const = default;
    };
    std::optional<KeyRecipients> last_recipients_;  // of the last new key; what the spare is for
    std::optional<WrappedKey> spare_key_;
};

// The id git gives `bytes` as a blob (SHA-1 of "blob <size>\0" and the bytes).
Oid blob_id_of(std::span<const std::uint8_t> bytes);

// Cheap test before any parse: every sops file, in every store, holds the word "sops" and an
// ENC[AES256_GCM,data: value (its MAC). False proves the bytes are not a sops file.
bool may_be_sops(std::string_view text);

// Opens a sops file with the context's identities and data keys, keeping what its next version
// needs (IVs, key). nullopt when no identity opens it (`why` says why); throws Error for a file
// that is not a valid sops file or whose values or MAC do not verify.
std::optional<sops::OpenedFile> open_sops(FilterContext& context, std::string_view bytes, sops::Format format,
                                          std::string& why);

// True when `metadata` is wrapped for exactly the rule's recipients (per key group, in any
// order) with the same Shamir threshold: then its data key may be reused for the rule.
bool same_recipients(const sops::Metadata& metadata, const sops::CreationRule& rule);

// The clean filter for one file. `path` is relative to the top of the worktree.
SecureBytes clean(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content);

}  // namespace gitsops::git
