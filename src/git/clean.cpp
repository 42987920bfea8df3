#include "git/clean.hpp"

#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/install.hpp"
#include "keys/keys.hpp"
#include "policy/policy.hpp"

namespace gitsops::git {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNoRuleMessage = "no matching creation rules found";

SecureBytes copy_of(std::span<const std::uint8_t> bytes) { return secure_copy(bytes); }

// An id for the key entries of a file: every version re-encrypted from it shares them, so one
// unwrap serves them all.
crypto::Sha256 key_entries_id(const sops::Metadata& metadata) {
    std::string all = std::to_string(metadata.shamir_threshold);
    for (const auto& group : metadata.key_groups) {
        all += "\n--group";
        for (const auto& entry : group.age) all.append("\n").append(entry.recipient).append("\n").append(entry.enc);
    }
    return crypto::sha256(bytes_of(all));
}

using sops::is_metadata_not_found;

// ---- paths no rule covers ----------------------------------------------------------------------

std::string documents_named(const std::vector<policy::Finding>& findings) {
    std::set<int> documents;
    for (const auto& f : findings)
        if (f.document >= 0) documents.insert(f.document);
    if (documents.empty()) return "the file";
    std::string out;
    std::size_t i = 0;
    for (int d : documents) {
        if (i > 0) out += i + 1 == documents.size() ? " and " : ", ";
        out += std::to_string(d + 1);
        ++i;
    }
    return (documents.size() == 1 ? "document " : "documents ") + out;
}

std::string keys_named(const std::vector<policy::Finding>& findings) {
    std::string out;
    std::size_t shown = 0;
    for (const auto& f : findings) {
        if (f.key_path.empty() || shown == 3) continue;
        out += (shown ? ", " : "") + (f.document >= 0 ? "doc " + std::to_string(f.document + 1) + ": " : "") + f.key_path;
        ++shown;
    }
    if (findings.size() > shown && shown > 0) out += ", ...";
    return out;
}

// One message for the whole file: git prints it after "git-sops: <path>: ".
std::string refusal(std::string_view path, const std::vector<policy::Finding>& findings) {
    const std::string keys = keys_named(findings);
    // kustomize's secretGenerator literals: encrypting the kustomization would break the build.
    const bool generator_only = std::all_of(findings.begin(), findings.end(), [](const policy::Finding& f) {
        return f.key_path.starts_with("secretGenerator[");
    });
    // A manifest that declares a Secret and does not parse: its one finding says why.
    if (findings.size() == 1 && findings.front().key_path.empty())
        return findings.front().message + "; it was not staged. Fix: " + findings.front().fix + ".";
    if (generator_only)
        return "kustomize secretGenerator literals in clear (" + keys + "), so it was not staged. Fix: " +
               findings.front().fix + ".";
    return "plaintext Kubernetes Secret (" + documents_named(findings) + (keys.empty() ? "" : "; values in clear: " + keys) +
           ") and no creation rule in .sops.yaml covers this path, so it was not staged. Fix: add a creation rule "
           "whose path_regex matches '" + std::string(path) + "' to .sops.yaml (git add then encrypts it), or encrypt it "
           "in place with `git sops encrypt -i " + std::string(path) + "`.";
}

// Whether the bytes are the staged blob itself. Asked only where the answer changes the outcome:
// hashing every file costs a tenth of a `git status` that re-cleans touched files.
class StagedCheck {
public:
    StagedCheck(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content)
        : context_(context), path_(path), content_(content) {}
    bool operator()() const {
        const auto staged = context_.staged_id(path_);
        return staged && *staged == blob_id_of(content_);
    }

private:
    FilterContext& context_;
    std::string_view path_;
    std::span<const std::uint8_t> content_;
};

SecureBytes clean_uncovered(std::string_view path, std::span<const std::uint8_t> content, const StagedCheck& is_staged) {
    if (!policy::may_have_findings(content, path, policy::Context{})) return copy_of(content);
    // Already in the object store as it is: storing it again adds nothing, and failing here would
    // make every `git status` die on a file committed before git-sops was installed. The hooks
    // and `git sops check` report such blobs.
    if (is_staged()) return copy_of(content);
    const auto findings = policy::plaintext_secrets(content, path);
    if (!findings.empty()) throw Error(refusal(path, findings));
    return copy_of(content);
}

// ---- sops files on covered paths -------------------------------------------------------------------

[[noreturn]] void not_a_sops_file(std::string_view why) {
    throw Error("this path matches a .sops.yaml creation rule and the file has a sops block, but it is not a valid "
                "sops file (" + std::string(why) + "). Fix: restore the stored version with `git checkout --` and this "
                "path, or save the decrypted plaintext instead: git add encrypts it");
}

// Loads `text` as a sops file. nullopt when it has no sops metadata (it is plaintext); throws when
// the metadata is there but broken.
std::optional<sops::EncryptedFile> load_sops(std::string_view text, sops::Format format,
                                             const sops::StoreConfig& stores) {
    std::optional<sops::EncryptedFile> file;
    try {
        file = sops::load_encrypted(text, format, stores);
    } catch (const Error& e) {
        // The binary store takes any bytes as plaintext: only a file it reads counts as sops.
        if (is_metadata_not_found(e) || format == sops::Format::binary) return std::nullopt;
        not_a_sops_file(e.what());
    }
    if (file->metadata.version.empty() || file->metadata.mac.empty())
        not_a_sops_file("its sops block has no version or no mac");
    return file;
}

// A sops file someone wrote (sops edit, git sops encrypt): kept as it is if it is complete.
void require_complete(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content) {
    const policy::Context check{context.config(), false};
    std::string problems;
    for (const auto& f : policy::classify(content, path, check)) {
        if (f.severity != policy::Severity::error) continue;
        if (f.kind == policy::FindingKind::rule_not_encrypted) continue;  // we encrypt those ourselves
        problems += (problems.empty() ? "" : "; ") + policy::format_text(f);
    }
    if (!problems.empty())
        throw Error("this sops file is not completely encrypted: " + problems +
                    ". Fix: open it with `git sops edit` (or decrypt it and save the plaintext) so every value its "
                    "selectors name is encrypted again");
}

// The metadata a sops file cannot be opened without (an encrypted mac, a version), found by a
// scan instead of a parse. Every store writes `mac` and its ENC[...] value with only separators
// between them: `mac: ENC[` (YAML), `"mac": "ENC[` (JSON), `mac = ENC[` (INI), `sops_mac=ENC[`.
bool has_sops_metadata(std::string_view text) {
    constexpr std::string_view enc = "ENC[AES256_GCM,data:";
    if (!may_be_sops(text) || text.find("version") == std::string_view::npos) return false;
    for (auto at = text.find("mac"); at != std::string_view::npos; at = text.find("mac", at + 3)) {
        const std::string_view after = text.substr(at + 3, 48);
        const auto value = after.find(enc);
        if (value != std::string_view::npos && after.substr(0, value).find_first_not_of(" \t\"=:") == std::string_view::npos)
            return true;
    }
    return false;
}

// A blob the cache names, before it is handed back. The entry was written only for a blob clean
// produced or smudge decrypted (MAC checked), and blob ids name contents, so the staged version
// needs no full parse on every `git status`: a scan shows it is still a sops file. Any other
// (older) blob is parsed and must be wrapped for the rule's recipients.
bool usable_blob(FilterContext& context, const Blob& blob, sops::Format format, const sops::CreationRule& rule,
                 bool is_previous) {
    const std::string_view text = view_of(blob.bytes());
    if (!has_sops_metadata(text)) return false;
    if (is_previous) return true;
    try {
        const auto file = load_sops(text, format, context.stores());
        return file && same_recipients(file->metadata, rule);
    } catch (const Error&) {
        return false;
    }
}

// ---- plaintext on covered paths --------------------------------------------------------------

std::string encrypt_new(FilterContext& context, sops::Documents documents, const sops::CreationRule& rule,
                        sops::Format format, const sops::StoreConfig& stores) {
    // The binary store's one value is always encrypted: sops >= 3.11 records no selector.
    sops::Selector selector = format == sops::Format::binary
                                  ? sops::Selector{}
                                  : sops::selector_from(rule.selectors, exit_code::conflicting_options);
    FilterContext::WrappedKey wrapped = context.new_wrapped_key(rule);
    sops::Metadata metadata = sops::new_metadata(format, std::move(selector), rule.mac_only_encrypted,
                                                 std::move(wrapped.groups), wrapped.threshold);
    sops::encrypt_documents(documents, metadata, wrapped.key);
    return sops::emit_encrypted(documents, metadata, format, stores);
}

struct Plaintext {
    std::string_view path;
    std::span<const std::uint8_t> bytes;
    sops::Format format;
    const sops::CreationRule& rule;
};

class CoveredClean {
public:
    CoveredClean(FilterContext& context, const Plaintext& in) : c_(context), in_(in), stores_(context.stores()) {}

    SecureBytes run() {
        CleanCache* cache = c_.cache();
        if (cache) digest_ = cache->digest(in_.path, in_.bytes);
        previous_ = c_.previous_blob(in_.path);
        // A hit needs no parse: these exact bytes were parsed when the entry was written.
        if (auto hit = from_cache()) return *hit;
        sops::Documents documents = sops::load_plain_for_encryption(view_of(in_.bytes), in_.format, stores_);
        if (auto next = from_previous(documents)) return *next;
        return remembered(encrypt_new(c_, std::move(documents), in_.rule, in_.format, stores_));
    }

private:
    // The cache says this exact plaintext at this path became a blob before: hand it back if it
    // is still a valid sops file. The previous blob is reused whatever its recipients (stability
    // first); an older one only if it is wrapped for the rule's recipients.
    std::optional<SecureBytes> from_cache() {
        if (!digest_) return std::nullopt;
        const auto id = c_.cache()->find(*digest_);
        if (!id) return std::nullopt;
        if (previous_ && previous_->id() == *id) {
            if (usable_blob(c_, *previous_, in_.format, in_.rule, true)) return copy_of(previous_->bytes());
            return std::nullopt;
        }
        const auto blob = c_.find_blob(*id);
        if (blob && usable_blob(c_, *blob, in_.format, in_.rule, false)) return copy_of(blob->bytes());
        return std::nullopt;
    }

    // With a key: the previous blob as it is when the plaintext is unchanged; else the next
    // version of it (same data key and entries, unchanged values keep their IVs) when it is
    // wrapped for the rule's recipients.
    std::optional<SecureBytes> from_previous(sops::Documents& documents) {
        if (!previous_ || !may_be_sops(view_of(previous_->bytes()))) return std::nullopt;
        const std::string_view before = view_of(previous_->bytes());
        std::optional<sops::OpenedFile> opened;
        try {
            std::string why;
            opened = open_sops(c_, before, in_.format, why);
        } catch (const Error&) {
            return std::nullopt;  // a broken previous version: start anew
        }
        if (!opened) return std::nullopt;
        if (sops::same_plaintext(*opened, documents)) {
            remember(previous_->id());
            return copy_of(previous_->bytes());
        }
        if (!same_recipients(opened->metadata, in_.rule)) return std::nullopt;
        return remembered(sops::reencrypt(*opened, before, std::move(documents), in_.format, stores_));
    }

    SecureBytes remembered(std::string ciphertext) {
        SecureBytes out = secure_copy(ciphertext);
        remember(blob_id_of(out));
        return out;
    }

    void remember(const Oid& id) {
        if (digest_) c_.cache()->remember(*digest_, id);
    }

    FilterContext& c_;
    const Plaintext& in_;
    sops::StoreConfig stores_;
    std::optional<CleanCache::Digest> digest_;
    std::optional<Blob> previous_;
};

SecureBytes clean_covered(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content,
                          const sops::CreationRule& rule, const StagedCheck& is_staged) {
    const sops::Format format = sops::format_for_path(path);
    const std::string_view text = view_of(content);
    if (may_be_sops(text)) {
        // The staged sops file itself (the worktree keeps ciphertext): checked when it was staged.
        if (is_staged()) return copy_of(content);
        if (load_sops(text, format, context.stores())) {
            require_complete(context, path, content);
            return copy_of(content);
        }
    }
    const Plaintext in{path, content, format, rule};
    return CoveredClean(context, in).run();
}

}  // namespace

// ---- FilterContext ---------------------------------------------------------------------------

FilterContext::FilterContext() = default;
FilterContext::FilterContext(Repository repo) : repo_(std::move(repo)) {}
FilterContext::~FilterContext() { flush(); }

const Repository& FilterContext::repo() {
    if (!repo_) {
        repo_ = Repository::open_from_env();
        // No re-hashing of each blob read (SHA-1DC was a sixth of a `git status` that re-cleans
        // touched files): git does not re-hash on read either, it hashes what clean returns and
        // compares that with the index, and every reused blob's values and MAC are checked when
        // it is decrypted.
        git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    }
    return *repo_;
}

const sops::Config* FilterContext::config() {
    if (!config_loaded_) {
        config_loaded_ = true;
        try {
            if (const auto top = repo().workdir()) {
                const fs::path file = *top / ".sops.yaml";
                std::error_code ec;
                if (fs::exists(file, ec)) config_ = sops::Config::load(file);
            }
        } catch (const Error& e) {
            config_error_ = e.what();
        }
    }
    if (config_error_) throw Error(*config_error_);
    return config_ ? &*config_ : nullptr;
}

sops::StoreConfig FilterContext::stores() {
    try {
        if (const auto* c = config()) return c->stores();
    } catch (const Error&) {
    }
    return {};
}

std::optional<sops::CreationRule> FilterContext::rule_for(std::string_view path) {
    const sops::Config* c = config();
    if (!c || !c->has_creation_rules()) return std::nullopt;
    const fs::path file = *repo().workdir() / fs::path(path);
    // find_rule skips invalid path_regexes; rule_for is strict (other key types, selector
    // conflicts, an invalid path_regex before the match) and names the config in its errors.
    if (c->find_rule(path)) return c->rule_for(file);
    if (!rules_probed_) {
        rules_probed_ = true;
        try {
            (void)c->rule_for(file);
        } catch (const Error& e) {
            // Every path no rule matches reaches the same invalid rule, if there is one.
            if (std::string_view(e.what()).find(kNoRuleMessage) == std::string_view::npos) rules_error_ = e.what();
        }
    }
    if (rules_error_) throw Error(*rules_error_);
    return std::nullopt;
}

// The index file's identity: git writes a new index by renaming a new file over it.
FilterContext::FileStamp FilterContext::index_stamp() {
    if (index_file_.empty()) {
        const auto env = io::getenv("GIT_INDEX_FILE");
        index_file_ = env && !env->empty() ? fs::path(*env) : repo().git_dir() / "index";
    }
    struct stat st {};
    if (::stat(index_file_.c_str(), &st) != 0) return {};
    return {st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

std::optional<Oid> FilterContext::staged_id(std::string_view path) {
    // One stat(2) per call: libgit2's own check opens the file and reads its checksum.
    const FileStamp now = index_stamp();
    if (!index_) {
        index_ = repo().index();
    } else if (now != index_read_at_) {
        index_->reload();  // git wrote a new index during this command (stash, rebase)
    }
    index_read_at_ = now;
    return index_->blob_id(path);
}

std::optional<Blob> FilterContext::previous_blob(std::string_view path) {
    if (const auto id = staged_id(path)) return find_blob(*id);
    if (!head_loaded_) {
        head_loaded_ = true;
        if (const auto head = repo().resolve_commit("HEAD")) head_ = repo().commit(*head).tree();
    }
    if (!head_) return std::nullopt;
    const auto id = head_->entry_id(path);
    return id ? find_blob(*id) : std::nullopt;
}

std::optional<Blob> FilterContext::find_blob(const Oid& id) {
    try {
        return repo().blob(id);
    } catch (const Error&) {
        return std::nullopt;  // not there (pruned), or not a blob
    }
}

std::optional<sops::DataKey> FilterContext::data_key(const sops::Metadata& metadata, std::string& why) {
    const crypto::Sha256 id = key_entries_id(metadata);
    if (const auto it = keys_.find(id); it != keys_.end()) return it->second;
    if (const auto it = key_failures_.find(id); it != key_failures_.end()) {
        why = it->second;
        return std::nullopt;
    }
    if (!identities_) identities_ = std::make_unique<keys::Discovery>(keys::Environment::from_process());
    try {
        sops::DataKey key = sops::get_data_key(metadata, *identities_);
        return keys_.emplace(id, std::move(key)).first->second;
    } catch (const Error& e) {
        why = e.what();
        key_failures_.emplace(id, why);
        return std::nullopt;
    }
}

CleanCache* FilterContext::cache() {
    if (!cache_opened_) {
        cache_opened_ = true;
        try {
            cache_ = std::make_unique<CleanCache>(repo().common_dir() / "git-sops");
        } catch (const Error& e) {
            warn_once("cache", std::string("git-sops: the clean cache is not available (") + e.what() +
                                   "); files are re-encrypted unless a private key opens the staged version\n");
        }
    }
    return cache_.get();
}

namespace {

FilterContext::WrappedKey wrap_new_key(const std::vector<std::vector<std::string>>& groups, int threshold) {
    FilterContext::WrappedKey out{sops::generate_data_key(), {}, threshold};
    out.groups = sops::wrap_data_key(out.key, groups, out.threshold);
    return out;
}

}  // namespace

FilterContext::WrappedKey FilterContext::new_wrapped_key(const sops::CreationRule& rule) {
    KeyRecipients wanted{rule.age_groups, rule.shamir_threshold};
    std::optional<WrappedKey> spare = std::exchange(spare_key_, std::nullopt);
    const bool fits = spare && last_recipients_ == wanted;
    last_recipients_ = std::move(wanted);
    if (fits) return std::move(*spare);
    return wrap_new_key(rule.age_groups, rule.shamir_threshold);
}

void FilterContext::prepare_next_key() {
    if (spare_key_ || !last_recipients_) return;
    spare_key_ = wrap_new_key(last_recipients_->groups, last_recipients_->threshold);
}

bool FilterContext::decrypted_worktree() {
    if (!decrypted_worktree_) decrypted_worktree_ = git::decrypted_worktree(repo());
    return *decrypted_worktree_;
}

void FilterContext::warn_once(std::string_view topic, const std::string& line) {
    if (!warned_.emplace(topic).second) return;
    try {
        io::write_all(STDERR_FILENO, line);
    } catch (const Error&) {  // no stderr: nothing left to tell
    }
}

void FilterContext::flush() noexcept {
    if (!cache_ || !cache_->dirty()) return;
    try {
        cache_->flush();
    } catch (const std::exception& e) {
        warn_once("cache-write", std::string("git-sops: cannot write the clean cache: ") + e.what() + "\n");
    }
}

// ---- free functions --------------------------------------------------------------------------

Oid blob_id_of(std::span<const std::uint8_t> bytes) {
    git_oid id;
    if (git_odb_hash(&id, bytes.data(), bytes.size(), GIT_OBJECT_BLOB) != 0)
        throw Error("cannot compute a blob id");
    return Oid(std::span<const std::uint8_t, Oid::size>(id.id, Oid::size));
}

bool may_be_sops(std::string_view text) {
    return text.find("ENC[AES256_GCM,data:") != std::string_view::npos && text.find("sops") != std::string_view::npos;
}

std::optional<sops::OpenedFile> open_sops(FilterContext& context, std::string_view bytes, sops::Format format,
                                          std::string& why) {
    auto file = load_sops(bytes, format, context.stores());
    if (!file) throw Error("not a sops file (no sops metadata)");
    auto key = context.data_key(file->metadata, why);
    if (!key) return std::nullopt;
    sops::OpenedFile out{std::move(file->documents), std::move(file->metadata), std::move(*key), {}};
    sops::DecryptOptions options;
    options.stash = &out.stash;
    options.keep_inline_comments = true;  // so that smudge -> clean gives the same documents
    sops::decrypt_documents(out.plaintext, out.metadata, out.key, options);
    return out;
}

bool same_recipients(const sops::Metadata& metadata, const sops::CreationRule& rule) {
    if (metadata.key_groups.size() != rule.age_groups.size()) return false;
    for (std::size_t g = 0; g < rule.age_groups.size(); ++g) {
        const auto& group = metadata.key_groups[g];
        if (!group.others.empty()) return false;
        std::set<std::string_view> have, want;
        for (const auto& e : group.age) have.insert(e.recipient);
        for (const auto& r : rule.age_groups[g]) want.insert(r);
        if (have != want) return false;
    }
    if (rule.age_groups.size() > 1) {
        const int groups = static_cast<int>(rule.age_groups.size());
        const int wanted = rule.shamir_threshold > 0 ? rule.shamir_threshold : groups;
        const int had = metadata.shamir_threshold > 0 ? metadata.shamir_threshold : groups;
        if (wanted != had) return false;
    }
    return true;
}

SecureBytes clean(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content) {
    if (content.empty()) return {};  // nothing to protect, and sops cannot encrypt an empty file
    const StagedCheck is_staged(context, path, content);
    const auto rule = context.rule_for(path);
    if (!rule) return clean_uncovered(path, content, is_staged);
    return clean_covered(context, path, content, *rule, is_staged);
}

}  // namespace gitsops::git
