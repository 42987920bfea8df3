// The SOPS engine: the one public header of the sops module.
//
// It reads every file sops 3.7–3.13 wrote and writes files byte-identical to sops 3.13.2:
// values (ENC[AES256_GCM,...]), selectors, the MAC, the metadata block, the data key wrapped for
// age recipients (Shamir over key groups), and `.sops.yaml` creation rules.
//
// Typical flows:
//   decrypt:  load_encrypted -> get_data_key -> decrypt_documents -> emit_plain
//   encrypt:  encrypt_plaintext (= load_plain_for_encryption -> generate_data_key ->
//             wrap_data_key -> new_metadata -> encrypt_documents -> emit_encrypted)
//   re-encrypt a new plaintext as the next version of a file (git filter):
//             open_encrypted(previous) -> reencrypt(previous, previous bytes, plaintext[, rule])
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "age/age.hpp"
#include "base/error.hpp"
#include "base/secure.hpp"
#include "sops/store.hpp"
#include "sops/tree.hpp"

namespace gitsops::sops {

// The version we write into `sops.version`.
inline constexpr std::string_view kSopsVersion = "3.13.2";

using DataKey = FixedSecret<32>;

// ---- selectors (which leaves get encrypted) -----------------------------------------------------

enum class SelectorKind : std::uint8_t {
    none,  // nothing recorded: binary files (sops >= 3.11); reading applies the default
    unencrypted_suffix,
    encrypted_suffix,
    unencrypted_regex,
    encrypted_regex,
    unencrypted_comment_regex,
    encrypted_comment_regex,
};

struct Selector {
    SelectorKind kind = SelectorKind::none;
    std::string pattern;  // suffix or Go RE2 regex
    bool operator==(const Selector&) const = default;
};

// The metadata key of a selector ("unencrypted_suffix", ...); "" for none.
std::string_view selector_name(SelectorKind kind);
// `unencrypted_suffix: _unencrypted`, what sops applies when nothing else is chosen.
Selector default_selector();
// Builds a selector from the six optional settings (CLI flags or a creation rule). More than one
// non-empty -> Error(conflict_code). None -> kind none.
struct SelectorSettings {
    std::string unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex,
        encrypted_comment_regex;
};
Selector selector_from(const SelectorSettings& settings, int conflict_code);

// ---- metadata ------------------------------------------------------------------------------------

struct AgeEntry {
    std::string recipient;  // as written (trimmed recipient string)
    std::string enc;        // armored age file of the data key (or of a Shamir share)
    bool operator==(const AgeEntry&) const = default;
};

// One key group. Key types other than age (pgp, kms, gcp_kms, azure_kv, hc_vault, hckms) are
// kept verbatim so a file keeps them when its data key stays the same; git-sops cannot use them.
struct KeyGroup {
    std::vector<AgeEntry> age;
    std::vector<std::pair<std::string, Node>> others;  // key type name -> sequence of entries
    std::size_t key_count() const;
};

struct Metadata {
    std::vector<KeyGroup> key_groups;
    int shamir_threshold = 0;
    std::string lastmodified;  // RFC 3339 as written in the file
    std::string mac;           // ENC[...] of the uppercase hex MAC, type str
    Selector selector;         // as recorded; kind none for binary files
    bool mac_only_encrypted = false;
    std::string version;

    // The selector the walk uses: the recorded one, else sops' default suffix.
    Selector effective_selector() const;
    // Every age recipient, in group order (for "the file needs one of these" messages).
    std::vector<std::string> age_recipients() const;
};

// Parses the `sops` mapping of any sops 3.x file (orders, `[]`/`null`/absent lists,
// key_groups, string-typed values from dotenv/INI); validates it as sops does (§7.4).
Metadata parse_metadata(const Node& sops_mapping);
// The mapping sops 3.13.2 writes: keys sorted byte-wise at every level.
Node metadata_node(const Metadata& metadata);

// `lastmodified` as sops re-formats it for the MAC's AAD (RFC 3339, seconds, Z for UTC).
// Throws Error(could_not_read_input) when the text is not RFC 3339.
std::string normalize_lastmodified(std::string_view text);
// The current time as sops writes it: UTC, seconds, `Z`.
std::string now_lastmodified();

// ---- IV reuse ------------------------------------------------------------------------------------

// Remembers the IV of every decrypted value, keyed by (type, plaintext, AAD) as sops' cipher
// does, so re-encrypting an unchanged value gives the same ciphertext. Unlike sops, equal values
// at the same AAD (list elements) keep their own IVs, in document order; once those are used up
// a fresh random IV is drawn, so no IV is ever shared by two different plaintexts.
class IvStash {
public:
    void remember(std::string_view type, std::string_view aad, std::span<const std::uint8_t> plaintext,
                  std::span<const std::uint8_t> iv);
    // The next unused remembered IV for this value, if any.
    std::optional<std::vector<std::uint8_t>> take(std::string_view type, std::string_view aad,
                                                  std::span<const std::uint8_t> plaintext);
    // Makes every remembered IV available again.
    void rewind();
    // Adds the IVs `other` remembered that this stash lacks, after its own (a merge takes values
    // from both sides of a file that kept one data key). Only for stashes of the same data key.
    void absorb(const IvStash& other);
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::vector<std::vector<std::uint8_t>> ivs;
        std::size_t next = 0;
    };
    struct Hash {
        std::size_t operator()(const SString& s) const noexcept;
    };
    static SString make_key(std::string_view type, std::string_view aad, std::span<const std::uint8_t> plaintext);
    std::unordered_map<SString, Entry, Hash, std::equal_to<>, WipingAllocator<std::pair<const SString, Entry>>>
        entries_;
};

// ---- data key ------------------------------------------------------------------------------------

// Where age identities come from (the keys module implements sops' discovery). Sources are read
// lazily; load errors are kept for the report instead of thrown.
class IdentitySource {
public:
    virtual ~IdentitySource() = default;
    // The identities to try on the age entry written for `recipient` (key commands see it as
    // SOPS_AGE_RECIPIENT, so the answer may differ per recipient).
    virtual const age::Identities& identities(std::string_view recipient) = 0;
    // Why nothing matched: sources that failed to load and locations that held no key.
    virtual std::string report() const { return {}; }
};

// A fixed set of identities (tests, callers that already hold keys).
class FixedIdentities : public IdentitySource {
public:
    explicit FixedIdentities(age::Identities ids) : ids_(std::move(ids)) {}
    const age::Identities& identities(std::string_view) override { return ids_; }

private:
    age::Identities ids_;
};

DataKey generate_data_key();
// Unwraps the data key: one age entry per group suffices; with several groups, Shamir shares
// are combined. Error(could_not_retrieve_key = 128) listing the recipients when none opens.
DataKey get_data_key(const Metadata& metadata, IdentitySource& identities);
// Wraps `key` for each recipient (age1…, ssh-ed25519 …, ssh-rsa …): with one group every
// recipient gets the whole key; with several, group i gets Shamir share i and `threshold`
// defaults to the number of groups. Bad recipient -> Error(generic).
std::vector<KeyGroup> wrap_data_key(const DataKey& key, const std::vector<std::vector<std::string>>& recipient_groups,
                                    int& threshold);
// Splits a comma-separated recipient list as sops does (items trimmed; empty input -> none).
std::vector<std::string> split_recipients(std::string_view list);

// ---- documents -----------------------------------------------------------------------------------

struct EncryptedFile {
    Documents documents;  // values still ENC[...]
    Metadata metadata;
};

// Store + metadata parsing. A file without metadata throws the store's
// Error("sops metadata not found").
EncryptedFile load_encrypted(std::string_view bytes, Format format, const StoreConfig& config = {});
// True for the error load_encrypted throws when a file has no sops metadata (it is plaintext).
bool is_metadata_not_found(const Error& e);
// `filestatus`: true when the file carries metadata whose `version` and `mac` are non-empty;
// false when there is no metadata; other load errors propagate.
bool is_encrypted(std::string_view bytes, Format format, const StoreConfig& config = {});
// Parses a plaintext for encryption: Error(empty_file = 92) with no document,
// Error(file_already_encrypted = 203) when the first document has a top-level `sops` key
// (dotenv: any `sops_` key).
Documents load_plain_for_encryption(std::string_view bytes, Format format, const StoreConfig& config = {});
std::string emit_encrypted(const Documents& documents, const Metadata& metadata, Format format,
                           const StoreConfig& config = {});
// Plaintext output (decrypt). The caller wipes the returned text.
std::string emit_plain(const Documents& documents, Format format, const StoreConfig& config = {});
// One value for --extract: strings raw, containers and other scalars in the store's syntax.
std::string emit_value(const Node& value, Format format, const StoreConfig& config = {});

struct DecryptOptions {
    bool ignore_mac = false;
    IvStash* stash = nullptr;  // records the IV of every decrypted value (and of the MAC)
    // sops 3.13.2 turns decrypted inline comments into own-line ones; the git filter keeps them
    // inline so that smudge -> clean round-trips.
    bool keep_inline_comments = false;
};

// Decrypts every value in place and checks the MAC. Errors name the key path, never a value:
// Error(error_decrypting_tree = 25) for a value that does not decrypt, Error(mac_mismatch = 51)
// when the MAC differs or cannot be decrypted (unless ignore_mac).
void decrypt_documents(Documents& documents, const Metadata& metadata, const DataKey& key,
                       const DecryptOptions& options = {});

struct EncryptOptions {
    IvStash* stash = nullptr;  // IVs to reuse for unchanged values
    std::string lastmodified;  // empty: now
};

// Encrypts the leaves the metadata's selector picks, sets `lastmodified` and `mac`.
// Comments directly inside sequences are written as (encrypted) comments, never as the
// `- ENC[...,type:comment]` elements sops 3.13.2 emits (which sops itself cannot verify).
void encrypt_documents(Documents& documents, Metadata& metadata, const DataKey& key,
                       const EncryptOptions& options = {});

// What a new file is encrypted with: a creation rule, or the command line merged over one.
struct CreationRule;
// `sops encrypt` without the I/O: parses `plaintext` in the input format (92 empty, 203 already
// encrypted), draws a data key, wraps it for the recipients, encrypts and emits in the output
// format. Selector conflicts -> Error(conflicting_options); bad recipient -> Error(generic).
std::string encrypt_plaintext(std::string_view plaintext, const CreationRule& settings, Format input_format,
                              Format output_format, const StoreConfig& input_config, const StoreConfig& output_config);

// Metadata for a new file: selector (none -> default suffix unless `format` is binary, which
// records none), mac_only_encrypted, key groups already wrapped, version 3.13.2.
Metadata new_metadata(Format format, Selector selector, bool mac_only_encrypted, std::vector<KeyGroup> key_groups,
                      int shamir_threshold);

// ---- the git filter: next version of an encrypted file --------------------------------------------

struct OpenedFile {
    Documents plaintext;
    Metadata metadata;
    DataKey key;
    IvStash stash;  // IVs of every value of this version
};

// Decrypts an encrypted file, keeping everything needed to write its next version.
OpenedFile open_encrypted(std::string_view bytes, Format format, const StoreConfig& config, IdentitySource& identities,
                          bool ignore_mac = false);
// True when `plaintext` is the plaintext of `previous` (then its bytes can be kept as they are).
bool same_plaintext(const OpenedFile& previous, const Documents& plaintext);
// True when the file's keys are exactly these age recipients, group by group (order inside a
// group does not matter, as sops' updatekeys compares them), and nothing else.
bool same_recipients(const Metadata& metadata, const std::vector<std::vector<std::string>>& recipient_groups);
// Encrypts `plaintext` as the next version of `previous`: same data key, same selector, IVs of
// unchanged (path, value) pairs reused, new lastmodified and MAC, version raised to ours when
// older (as `sops edit`). The key entries stay as they are, unless `rule` asks for other
// recipients: then the same data key is wrapped anew for them (as `sops updatekeys`).
// When neither the plaintext nor the recipients changed, returns `previous_bytes` as they are.
std::string reencrypt(const OpenedFile& previous, std::string_view previous_bytes, Documents plaintext, Format format,
                      const StoreConfig& config = {}, const CreationRule* rule = nullptr);
// The same without shortcuts: `plaintext` encrypted with previous' data key and IVs under
// `metadata` (previous' own, or one whose key groups wrap that same data key).
std::string encrypt_next(const OpenedFile& previous, Metadata metadata, Documents plaintext, Format format,
                         const StoreConfig& config = {});

// ---- --extract ---------------------------------------------------------------------------------

struct PathStep {
    bool is_index = false;
    std::string key;
    std::size_t index = 0;
};
// `["a"]["b"][0]` (also '…'), as sops' parseTreePath. Error(invalid_tree_path = 91).
std::vector<PathStep> parse_tree_path(std::string_view text);
// Follows the path in the first document. Error(generic) when a step is missing.
const Node& extract(const Documents& documents, std::span<const PathStep> path);

// ---- checks without a key (the policy classifier) ---------------------------------------------------

// True when `text` is an ENC[...] value sops' parser accepts: its fields, their base64 and a
// known type (aes/cipher.go parse, then Decrypt's type switch). No key needed.
bool is_valid_encrypted_value(std::string_view text);

// A value of an encrypted file that is not as the file's own selector requires.
struct ValueIssue {
    std::size_t document = 0;
    std::vector<PathStep> path;
    bool damaged = false;  // true: an ENC[...] that does not parse; false: in clear but required encrypted
};
// Walks the (still encrypted) documents as sops decides encryption, with the selector recorded in
// `metadata`: a key the selector matches decides for its whole subtree. Comment selectors leave
// no trace of their decision but the ENC[ markers, so then every ENC[ must parse and clear
// values count as chosen. Empty strings are never required encrypted.
std::vector<ValueIssue> audit_values(const Documents& documents, const Metadata& metadata);

// ---- three-way merge of decrypted documents (the merge driver) -------------------------------------

// A key path where both sides changed the same value differently. `ours`/`theirs` hold the
// plaintext values (nullopt: that side deleted the key); they never go into a message.
struct MergeConflict {
    enum class Kind : std::uint8_t {
        changed_both,     // changed on both sides
        added_both,       // added on both sides with different values
        deleted_ours,     // deleted in ours, changed in theirs
        deleted_theirs,   // changed in ours, deleted in theirs
        comments,         // the comments of one mapping changed on both sides (values: sequences of them)
        documents,        // documents added or removed on both sides (values: sequences of documents)
    };
    Kind kind = Kind::changed_both;
    std::size_t document = 0;     // 0-based; unused for `documents`
    std::vector<PathStep> path;   // empty: the document itself (or the mapping, for `comments`)
    std::optional<Node> ours, theirs;
};
// "changed on both sides", ...
std::string_view conflict_kind_text(MergeConflict::Kind kind);
// `["data"]["password"]`, as `decrypt --extract` takes it; `[]` for the document itself.
std::string tree_path_text(std::span<const PathStep> path);
// Where a conflict is: its tree_path_text, or "(the list of documents)".
std::string conflict_path_text(const MergeConflict& conflict);

// How the n-th conflict of a merge was settled: a value, or nullopt to delete the key. For
// `comments` and `documents` only ours' or theirs' value is accepted.
using MergeResolution = std::optional<Node>;

struct MergeResult {
    Documents merged;                      // conflicts hold ours' value (or the resolution)
    std::vector<MergeConflict> conflicts;  // in document order
};

// Merges per key path: a value changed on one side takes that side, the same change on both is
// kept once, different changes conflict; additions and deletions likewise; sequences are whole
// values unless both sides only appended; mappings keep the key order and comments of the side
// that changed them. `base` may be empty (no common ancestor). With `resolutions` (one per
// conflict of the unresolved merge, in order), conflicts take them instead of ours' values; a
// resolution of the wrong shape throws Error(generic).
MergeResult merge_documents(const Documents& base, const Documents& ours, const Documents& theirs,
                            const std::vector<MergeResolution>* resolutions = nullptr);

// ---- .sops.yaml ----------------------------------------------------------------------------------

// What a creation rule asks for (also what `encrypt_plaintext` takes).
struct CreationRule {
    std::vector<std::vector<std::string>> age_groups;  // recipients per key group
    int shamir_threshold = 0;
    SelectorSettings selectors;
    bool mac_only_encrypted = false;
};

class Config {
public:
    // Reads and validates a `.sops.yaml`. Error(generic) naming the file when unreadable.
    static Config load(const std::filesystem::path& path);
    // The same from text already in memory (a `.sops.yaml` blob of some revision); `path` names
    // it in messages and its folder is the one rules are relative to.
    static Config parse(std::string_view text, const std::filesystem::path& path);

    const std::filesystem::path& path() const { return path_; }
    const StoreConfig& stores() const { return stores_; }
    // A config without `creation_rules` counts as no config for encryption.
    bool has_creation_rules() const { return has_rules_; }
    // The first rule whose path_regex matches `file` (an absolute path; matched relative to the
    // config's folder). Error(generic) naming the file and the config when none matches.
    CreationRule rule_for(const std::filesystem::path& file) const;
    // The first rule whose path_regex matches `path` (already relative to the config's folder),
    // without throwing: a rule with an invalid path_regex never matches, and rules listing key
    // types git-sops cannot encrypt for are returned too (checks only read them).
    std::optional<CreationRule> find_rule(std::string_view path_relative_to_config_dir) const;

    struct Rule;  // defined in config.cpp

private:
    std::filesystem::path path_;
    std::filesystem::path dir_;
    StoreConfig stores_;
    bool has_rules_ = false;
    std::vector<std::shared_ptr<const Rule>> rules_;
};

// The config to use: `explicit_path` (--config), else $SOPS_CONFIG, else `.sops.yaml` in `start`
// (default: the current directory, as sops) or one of its 100 nearest parents. Empty when none.
std::optional<std::filesystem::path> find_config(const std::optional<std::string>& explicit_path,
                                                 const std::filesystem::path& start = {});

}  // namespace gitsops::sops
