// `git sops rotate`: replace a cluster's key, journaled so that every step can be resumed or
// rolled back.
//
// Order of steps, and why a crash between any two of them is safe:
//   1. plan: new public key and the list of files go to the journal. Nothing else changed yet;
//      a rerun that finds the new key nowhere simply starts over.
//   2. the new private key goes into the cluster as age.agekey, the old one moves to
//      age-old.agekey: Flux now opens files encrypted for either key. (--no-cluster: the key is
//      printed here, and a rerun needs it back in SOPS_AGE_KEY.)
//   3. each file is re-encrypted for the new key with a new data key, written atomically (its
//      previous bytes kept under the journal first), then marked done. A file is always whole:
//      old key or new key.
//   4. .sops.yaml lists the new key instead of the old one (previous text kept first).
//   5. the record is updated, the key printed, the journal removed.
// `--abort` puts back the kept files and .sops.yaml, then the old key in the cluster.
// `--finish` (after the push reached Flux) drops age-old.agekey.
#include <algorithm>
#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/install.hpp"
#include "lifecycle/common.hpp"
#include "lifecycle/rotation.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::vector<std::size_t> rules_listing(const SopsYaml& config, std::string_view recipient) {
    std::vector<std::size_t> out;
    for (const auto& r : config.rules())
        if (r.lists(recipient)) out.push_back(r.index);
    return out;
}

std::optional<std::string> read_if_exists(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    return io::read_file(p);
}

// Tracked, encrypted files whose rule is one of `rules`; the others are named and skipped.
std::vector<std::string> files_of(const Workspace& ws, const SopsYaml& config, const std::vector<std::size_t>& rules) {
    std::vector<std::string> out;
    for (const auto& path : ws.tracked_files()) {
        const fs::path abs = ws.top / path;
        auto i = config.rule_for(ws.rule_name(abs));
        if (!i || std::find(rules.begin(), rules.end(), *i) == rules.end()) continue;
        if (path.find('\n') != std::string::npos) {
            note("skipping a file whose name holds a line break: rename it");
            continue;
        }
        auto bytes = read_if_exists(abs);
        if (!bytes) {
            note("skipping " + path + ": deleted in the worktree");
            continue;
        }
        try {
            if (!sops::is_encrypted(*bytes, sops::format_for_path(path))) {
                note("skipping " + path + ": not a sops file (the clean filter encrypts it when it is staged)");
                continue;
            }
        } catch (const Error& e) {
            note("skipping " + path + ": " + e.what());
            continue;
        }
        out.push_back(path);
    }
    return out;
}

// The file's rule as sops reads it, with the old cluster key replaced by the new one.
sops::CreationRule rotated_rule(const sops::Config& config, const fs::path& abs, std::string_view from,
                                std::string_view to) {
    sops::CreationRule rule = config.rule_for(abs);
    for (auto& group : rule.age_groups)
        for (auto& r : group)
            if (r == from) r = std::string(to);
    return rule;
}

// A file's next version for new recipients: new data key, fresh IVs, new lastmodified and MAC.
std::string rewrap_all(const sops::OpenedFile& file, const sops::CreationRule& rule, sops::Format format,
                       const sops::StoreConfig& stores) {
    sops::DataKey key = sops::generate_data_key();
    int threshold = rule.shamir_threshold;
    sops::Metadata md = file.metadata;
    md.key_groups = sops::wrap_data_key(key, rule.age_groups, threshold);
    md.shamir_threshold = threshold;
    md.version = std::string(sops::kSopsVersion);
    sops::Documents docs = file.plaintext;
    sops::encrypt_documents(docs, md, key);
    return sops::emit_encrypted(docs, md, format, stores);
}

std::optional<std::string> only_recipient(const keys::SecretEntries& entries, std::string_view entry) {
    auto r = keys::entry_recipients(entries, entry);
    if (r.size() != 1) return std::nullopt;
    return r[0];
}

// The rule to rotate: --rule; else the only rule init recorded; else, with several clusters, the
// one whose context is --context or kubectl's current context (the cluster you are pointing at);
// else the only rule there is.
std::size_t choose_rule(const Workspace& ws, const SopsYaml& config, const std::string& spec,
                        const ClusterOptions& options) {
    if (!spec.empty()) {
        if (auto i = config.find_rule(spec)) return *i;
        throw Error(config.path().string() + " has no rule '" + spec + "' (give its position or its path_regex)");
    }
    std::vector<std::pair<std::size_t, const ClusterRecord*>> recorded;
    const Records records = ws.records();
    for (const auto& rec : records.all())
        for (const auto& r : config.rules())
            if (r.id() == rec.rule) recorded.emplace_back(r.index, &rec);
    if (recorded.size() == 1) return recorded[0].first;
    if (recorded.size() > 1 && !options.no_cluster) {
        keys::Cluster pointed(keys::ClusterSecret{options.context.value_or(""), {}, {}});
        const std::string& context = pointed.context();
        std::vector<std::size_t> here;
        for (const auto& [index, rec] : recorded)
            if (!rec->no_cluster && rec->secret.context == context) here.push_back(index);
        if (here.size() == 1) {
            note("rotating the key of context " + context + ": " + config.rules()[here[0]].describe() +
                 " (--rule chooses another)");
            return here[0];
        }
    }
    if (config.rules().size() == 1) return 0;
    std::string list;
    for (const auto& r : config.rules()) list += "\n  " + r.describe();
    throw Error("which cluster key? pass --rule N or --rule 'PATH_REGEX':" + list);
}

// ---- the steps ----------------------------------------------------------------------------------------

class Rotation {
public:
    Rotation(const Workspace& ws, Journal journal, KeyRing& ring) : ws_(ws), j_(std::move(journal)), ring_(ring) {}

    Journal& journal() { return j_; }
    void save() { j_.save(ws_.repo.git_dir()); }

    // Steps 3 to 5. `print` is the new private key when this run must print it.
    void complete(const std::optional<SecureBytes>& print) {
        rewrite_files();
        update_config();
        check_cluster_key();
        Records records = ws_.records();
        ClusterRecord rec = j_.cluster;
        rec.rule = j_.rule;
        rec.recipient = j_.new_recipient;
        records.put(rec);
        records.save();
        crash_point("finish");
        std::size_t n = j_.files.size();
        note("rotated " + std::to_string(n) + " file(s) to " + j_.new_recipient + "; .sops.yaml lists the new key");
        if (print) print_private_key(*print, j_.new_recipient, "new age key of " + j_.cluster.describe());
        Journal::remove(ws_.repo.git_dir());
        if (j_.cluster.no_cluster)
            note("commit and push the rotated files; files encrypted for the old key can no longer be opened once you "
                 "discard it");
        else
            note("commit and push the rotated files; once Flux has applied them, run `git sops rotate --finish` to "
                 "drop the old key (entry " + std::string(keys::kOldAgeKeyEntry) + ") from the cluster");
    }

private:
    // A kubectl started by an interrupted run outlives it and may land its update after this
    // run's: the cluster would then hold a key no file is encrypted for, and Flux would stop.
    // Checked last, with the journal still there, so that --abort can restore every file.
    void check_cluster_key() {
        if (j_.cluster.no_cluster) return;
        keys::Cluster cluster(j_.cluster.secret);
        const auto entries = cluster.read();
        const auto now = entries ? only_recipient(*entries, keys::kAgeKeyEntry) : std::nullopt;
        if (now == j_.new_recipient) return;
        throw Error(cluster.describe() + " no longer holds the new key " + j_.new_recipient + " in " +
                    std::string(keys::kAgeKeyEntry) + " (it now holds " + (now ? *now : std::string("no single key")) +
                    ": another process changed it, such as the kubectl of an interrupted run). Run `git sops rotate "
                    "--abort` to restore the files and .sops.yaml (the old key stays in " +
                    std::string(keys::kOldAgeKeyEntry) + "), then check the cluster with `git sops status --cluster`");
    }

    void rewrite_files() {
        const fs::path git_dir = ws_.repo.git_dir();
        const sops::Config sops_config = ws_.sops_config();
        const sops::StoreConfig stores = sops_config.stores();
        const SopsYaml config = ws_.config();
        for (std::size_t i = 0; i < j_.files.size(); ++i) {
            auto& f = j_.files[i];
            if (f.done) continue;
            const fs::path abs = ws_.top / f.path;
            auto bytes = read_if_exists(abs);
            if (!bytes) {
                note("skipping " + f.path + ": deleted in the worktree meanwhile");
                f.done = true;
                save();
                continue;
            }
            const sops::Format format = sops::format_for_path(f.path);
            auto recipients = sops::load_encrypted(*bytes, format, stores).metadata.age_recipients();
            if (contains(recipients, j_.new_recipient) && !contains(recipients, j_.old_recipient)) {
                f.done = true;  // written before an interruption that came before its done flag
                save();
                continue;
            }
            const fs::path kept = Journal::original(git_dir, i);
            std::error_code ec;
            if (!fs::exists(kept, ec)) {
                fs::create_directories(kept.parent_path());
                io::atomic_write(kept, *bytes, 0600);
            }
            const std::string rule_id = config.rules()[rule_index(config, ws_.rule_name(abs), f.path)].id();
            sops::OpenedFile opened = ring_.open(*bytes, format, stores, rule_id);
            std::string next =
                rewrap_all(opened, rotated_rule(sops_config, abs, j_.old_recipient, j_.new_recipient), format, stores);
            io::atomic_write(abs, next);
            crash_point("file-" + std::to_string(i + 1));
            f.done = true;
            save();
        }
    }

    void update_config() {
        if (j_.state == Journal::State::config_updated) return;
        const fs::path git_dir = ws_.repo.git_dir();
        SopsYaml config = ws_.config();
        if (!j_.config_saved) {
            fs::create_directories(Journal::original_config(git_dir).parent_path());
            io::atomic_write(Journal::original_config(git_dir), config.text(), 0600);
            j_.config_saved = true;
            save();
        }
        auto rules = rules_listing(config, j_.old_recipient);
        if (!rules.empty()) {
            io::atomic_write(ws_.config_path, config.replace_recipient(rules, j_.old_recipient, j_.new_recipient));
            (void)sops::Config::load(ws_.config_path);  // sops must still read it
        }
        crash_point("config");
        j_.state = Journal::State::config_updated;
        save();
    }

    const Workspace& ws_;
    Journal j_;
    KeyRing& ring_;
};

// Steps 1 and 2, then the rest.
void start(const Workspace& ws, std::size_t rule_index_, const ClusterOptions& options) {
    // In a decrypted worktree the files are plaintext and the clean filter keeps their stored
    // blobs (old key) as long as the plaintext is unchanged: rotating would change nothing that
    // gets committed, and --finish would then cut Flux off. Refuse before any step.
    if (git::decrypted_worktree(ws.repo))
        throw Error("this worktree is decrypted (git sops unlock), and rotate re-encrypts the files as they are "
                    "stored: run `git sops lock`, then rotate, commit, and `git sops unlock` again");
    const SopsYaml config = ws.config();
    const RuleView& rule = config.rules().at(rule_index_);
    Records records = ws.records();
    const ClusterRecord* record = records.by_rule(rule.id());
    const bool no_cluster = options.no_cluster || (record && record->no_cluster && !options.context);

    KeyRing ring(records, options, !no_cluster);
    ClusterRecord where{rule.id(), "", no_cluster, {}};
    std::optional<keys::Cluster> cluster;
    std::optional<keys::SecretEntries> entries;
    std::string old;
    if (!no_cluster) {
        cluster.emplace(cluster_secret(options, record));
        entries = cluster->read();
        if (!entries) throw Error("no " + cluster->describe() + ": run `git sops init` first");
        if (entries->count(std::string(keys::kOldAgeKeyEntry)))
            throw Error("the previous rotation is not finished: " + cluster->describe() + " still has " +
                        std::string(keys::kOldAgeKeyEntry) +
                        ". Run `git sops rotate --finish` once Flux has applied the rotated files");
        auto current = only_recipient(*entries, keys::kAgeKeyEntry);
        if (!current)
            throw Error(cluster->describe() + ": entry " + std::string(keys::kAgeKeyEntry) +
                        " must hold exactly one age key to be rotated");
        old = *current;
        where.secret = cluster->secret();
        where.secret.context = cluster->context();
        ring.add(keys::agekey_identities(*entries), cluster->describe());
    } else {
        if (record) old = record->recipient;
        else if (rule.age_groups.size() == 1 && rule.age_groups[0].size() == 1) old = rule.age_groups[0][0];
        else throw Error("which key of " + rule.describe() + " is the cluster's? run `git sops init` for it first");
    }
    where.recipient = old;
    if (!rule.lists(old))
        throw Error("the cluster key " + old + " is not among the keys of " + rule.describe() +
                    ": see `git sops status --cluster`");

    const auto rules = rules_listing(config, old);
    if (rules.size() > 1)
        note("rules " + [&] {
            std::string s;
            for (auto i : rules) s += (s.empty() ? "" : ", ") + std::to_string(i + 1);
            return s;
        }() + " all list this key: their files are rotated together");
    Journal journal;
    journal.rule = rule.id();
    journal.old_recipient = old;
    journal.cluster = where;
    for (auto& path : files_of(ws, config, rules)) journal.files.push_back(Journal::File{std::move(path), false});

    // Before anything changes: every file must open, so the rotation cannot stop half-way for
    // want of a key.
    const sops::StoreConfig stores = ws.sops_config().stores();
    for (const auto& f : journal.files) {
        std::string bytes = io::read_file(ws.top / f.path);
        try {
            (void)ring.data_key(sops::load_encrypted(bytes, sops::format_for_path(f.path), stores).metadata, rule.id());
        } catch (const Error& e) {
            throw Error(f.path + ": cannot open it, so nothing was rotated: " + e.what(), e.code());
        }
    }

    age::X25519Keypair keypair = age::generate_x25519();
    journal.new_recipient = keypair.recipient;
    Rotation rotation(ws, std::move(journal), ring);
    rotation.save();
    crash_point("planned");
    if (cluster) {
        std::vector<keys::Cluster::EntryChange> changes;
        changes.push_back({std::string(keys::kAgeKeyEntry), agekey_entry(keypair)});
        changes.push_back({std::string(keys::kOldAgeKeyEntry), entries->at(std::string(keys::kAgeKeyEntry))});
        cluster->update(changes);
        note("stored the new key in " + cluster->describe() + "; the old key stays as " +
             std::string(keys::kOldAgeKeyEntry) + " until `git sops rotate --finish`");
    } else {
        print_private_key(keypair, "new age key for rule '" + rule.id() + "' (not stored in any cluster)");
        note("rotation started: if it is interrupted, rerun it with this key (and the old one) in SOPS_AGE_KEY");
    }
    rotation.journal().state = Journal::State::key_stored;
    rotation.save();
    crash_point("key-stored");
    rotation.complete(cluster ? std::optional<SecureBytes>(keypair.identity) : std::nullopt);
}

void resume(const Workspace& ws, Journal journal, const ClusterOptions& options) {
    note("resuming the rotation of rule '" + journal.rule + "' to " + journal.new_recipient + " (" +
         state_name(journal.state) + ")");
    KeyRing ring(ws.records(), options, !journal.cluster.no_cluster);
    std::optional<SecureBytes> print;
    bool key_in_place = false;
    if (!journal.cluster.no_cluster) {
        keys::Cluster cluster(journal.cluster.secret);
        auto entries = cluster.read();
        if (!entries) throw Error("no " + cluster.describe() + " any more: run `git sops rotate --abort`");
        key_in_place = only_recipient(*entries, keys::kAgeKeyEntry) == journal.new_recipient;
        if (key_in_place) {
            ring.add(keys::agekey_identities(*entries), cluster.describe());
            print = entries->at(std::string(keys::kAgeKeyEntry));
        }
    } else {
        key_in_place = contains(recipients_of(ring.discovered()), journal.new_recipient);
    }
    if (!key_in_place) {
        if (journal.state == Journal::State::planned) {  // the new key never left the dead process
            note("the interrupted rotation had not stored its new key yet: starting over");
            Journal::remove(ws.repo.git_dir());
            const SopsYaml config = ws.config();
            auto i = config.find_rule(journal.rule);
            if (!i) throw Error("rule '" + journal.rule + "' is no longer in " + config.path().string());
            try {
                start(ws, *i, options);
            } catch (const Error&) {
                // A kubectl the killed run had started outlives it and may store that run's key
                // after we looked (start() then finds age-old.agekey): keep the journal, so that
                // a rerun finds the key in place and resumes, and --abort can still roll back.
                if (!Journal::load(ws.repo.git_dir())) journal.save(ws.repo.git_dir());
                throw;
            }
            return;
        }
        if (journal.cluster.no_cluster)
            throw Error("the new key " + journal.new_recipient +
                        " was printed by the interrupted run: put it (and the old key) in SOPS_AGE_KEY and rerun, or "
                        "run `git sops rotate --abort`");
        throw Error(journal.cluster.describe() + " no longer holds the new key " + journal.new_recipient +
                    ": run `git sops rotate --abort`");
    }
    Rotation rotation(ws, std::move(journal), ring);
    if (rotation.journal().state == Journal::State::planned) {
        rotation.journal().state = Journal::State::key_stored;
        rotation.save();
    }
    rotation.complete(print);
}

void abort_rotation(const Workspace& ws, const Journal& journal) {
    const fs::path git_dir = ws.repo.git_dir();
    std::size_t restored = 0;
    for (std::size_t i = 0; i < journal.files.size(); ++i) {
        if (auto kept = read_if_exists(Journal::original(git_dir, i))) {
            io::atomic_write(ws.top / journal.files[i].path, *kept);
            ++restored;
        }
    }
    if (journal.config_saved)
        if (auto kept = read_if_exists(Journal::original_config(git_dir))) io::atomic_write(ws.config_path, *kept);
    // Files first, the cluster last: until here the cluster still opens both versions.
    if (!journal.cluster.no_cluster) {
        keys::Cluster cluster(journal.cluster.secret);
        auto entries = cluster.read();
        const std::string old_entry(keys::kOldAgeKeyEntry);
        if (entries && only_recipient(*entries, keys::kAgeKeyEntry) == journal.new_recipient && entries->count(old_entry)) {
            std::vector<keys::Cluster::EntryChange> changes;
            changes.push_back({std::string(keys::kAgeKeyEntry), entries->at(old_entry)});
            changes.push_back({old_entry, std::nullopt});
            cluster.update(changes);
            note("put the old key back into " + cluster.describe());
        }
    }
    Journal::remove(git_dir);
    note("rotation aborted: " + std::to_string(restored) + " file(s) and .sops.yaml restored; the new key " +
         journal.new_recipient + " is discarded");
}

// Every tracked file (worktree and HEAD) that still lists one of `old`.
std::vector<std::string> still_old(const Workspace& ws, const std::vector<std::string>& old) {
    std::vector<std::string> out;
    auto lists_old = [&](std::string_view bytes, const std::string& path) {
        try {
            sops::Format f = sops::format_for_path(path);
            if (!sops::is_encrypted(bytes, f)) return false;
            for (const auto& r : sops::load_encrypted(bytes, f).metadata.age_recipients())
                if (contains(old, r)) return true;
        } catch (const Error&) {
        }
        return false;
    };
    for (const auto& path : ws.tracked_files()) {
        if (auto bytes = read_if_exists(ws.top / path); bytes && lists_old(*bytes, path)) {
            out.push_back(path + " (worktree)");
            continue;
        }
        if (auto blob = ws.repo.blob_at("HEAD", path); blob && lists_old(view_of(blob->bytes()), path))
            out.push_back(path + " (HEAD: commit the rotated version)");
    }
    return out;
}

void finish(const Workspace& ws, const RotateOptions& options) {
    const SopsYaml config = ws.config();
    const std::size_t i = choose_rule(ws, config, options.rule, options.cluster);
    Records records = ws.records();
    const ClusterRecord* record = records.by_rule(config.rules()[i].id());
    if (options.cluster.no_cluster || (record && record->no_cluster && !options.cluster.context)) {
        note("nothing to finish without a cluster: discard the old key yourself once nothing needs it");
        return;
    }
    keys::Cluster cluster(cluster_secret(options.cluster, record));
    auto entries = cluster.read();
    if (!entries) throw Error("no " + cluster.describe());
    const std::string old_entry(keys::kOldAgeKeyEntry);
    if (!entries->count(old_entry)) {
        note("nothing to finish: " + cluster.describe() + " has no " + old_entry);
        return;
    }
    auto old = keys::entry_recipients(*entries, old_entry);
    auto left = still_old(ws, old);
    if (!left.empty()) {
        std::string list;
        for (std::size_t k = 0; k < left.size() && k < 10; ++k) list += "\n  " + left[k];
        throw Error("the old key is still needed by:" + list +
                    "\nRotate or commit these first; the cluster keeps the old key until then");
    }
    cluster.update({{old_entry, std::nullopt}});
    note("removed the old key from " + cluster.describe() + ": Flux now decrypts with the new key only");
}

}  // namespace

void rotate_rule(const Workspace& ws, std::size_t rule, const ClusterOptions& options) {
    if (auto journal = Journal::load(ws.repo.git_dir()))
        throw Error("a rotation is already in progress: run `git sops rotate` to complete it or `git sops rotate --abort`");
    start(ws, rule, options);
}

void rotate(const RotateOptions& options) {
    harden_process();
    Workspace ws = Workspace::open();
    auto journal = Journal::load(ws.repo.git_dir());
    if (options.abort) {
        if (!journal) throw Error("no rotation in progress: nothing to abort");
        abort_rotation(ws, *journal);
        return;
    }
    if (options.finish) {
        if (journal)
            throw Error("a rotation is in progress: run `git sops rotate` to complete it (or --abort) before --finish");
        finish(ws, options);
        return;
    }
    if (journal) {
        if (!options.rule.empty()) {
            const SopsYaml config = ws.config();
            auto i = config.find_rule(options.rule);
            if (!i || config.rules()[*i].id() != journal->rule)
                throw Error("a rotation of rule '" + journal->rule + "' is in progress: complete it first (rerun without "
                            "--rule) or --abort it");
        }
        resume(ws, std::move(*journal), options.cluster);
        return;
    }
    const SopsYaml config = ws.config();
    rotate_rule(ws, choose_rule(ws, config, options.rule, options.cluster), options.cluster);
}

}  // namespace gitsops::lifecycle
