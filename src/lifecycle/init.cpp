// `git sops init`: a new cluster key, stored in the cluster, listed in .sops.yaml, printed once.
#include <cctype>
#include <algorithm>
#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"
#include "lifecycle/common.hpp"
#include "lifecycle/rotation.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string list_rules(const SopsYaml& config) {
    std::string out;
    for (const auto& r : config.rules()) out += "\n  " + r.describe();
    return out;
}

// Which rule gets the key, decided before anything changes: an existing rule, a rule to append,
// or a new .sops.yaml.
struct Target {
    enum class Kind { existing, append, new_file } kind = Kind::new_file;
    std::size_t index = 0;
    std::string regex;  // for append and new_file
    std::string id;     // what records call the rule
};

Target choose_target(const std::optional<SopsYaml>& config, const std::string& rule,
                     const std::optional<std::string>& remembered) {
    Target t;
    if (!config) {
        if (all_digits(rule))
            throw Error("there is no .sops.yaml yet, so --rule " + rule + " names no rule: give a path_regex instead");
        t.regex = rule.empty() ? std::string(kDefaultPathRegex) : rule;
        t.id = t.regex;
        return t;
    }
    if (!rule.empty()) {
        if (auto i = config->find_rule(rule)) {
            t.kind = Target::Kind::existing;
            t.index = *i;
            t.id = config->rules()[*i].id();
            return t;
        }
        if (all_digits(rule))
            throw Error(config->path().string() + " has no rule " + rule + "; its rules:" + list_rules(*config));
        t.kind = Target::Kind::append;
        t.regex = t.id = rule;
        return t;
    }
    for (const auto& r : config->rules()) {
        if (remembered && r.id() == *remembered) {
            t.kind = Target::Kind::existing;
            t.index = r.index;
            t.id = r.id();
            return t;
        }
    }
    if (config->rules().size() == 1) {
        t.kind = Target::Kind::existing;
        t.id = config->rules()[0].id();
        return t;
    }
    if (config->rules().empty()) {
        t.kind = Target::Kind::append;
        t.regex = t.id = std::string(kDefaultPathRegex);
        return t;
    }
    throw Error(config->path().string() + " has several creation rules: pass --rule N or --rule 'PATH_REGEX' to say which "
                                          "one is this cluster's:" + list_rules(*config));
}

std::string edited_config(const std::optional<SopsYaml>& config, const Target& t, std::string_view recipient) {
    switch (t.kind) {
        case Target::Kind::existing: return config->add_recipient(t.index, recipient);
        case Target::Kind::append: return config->append_rule(t.regex, recipient);
        case Target::Kind::new_file: return SopsYaml::new_file(t.regex, recipient);
    }
    return {};
}

// Writes the new .sops.yaml and checks that sops' own reader accepts it; restores it otherwise.
void write_config(const Workspace& ws, const std::optional<SopsYaml>& before, const std::string& text) {
    io::atomic_write(ws.config_path, text);
    try {
        (void)sops::Config::load(ws.config_path);
    } catch (const Error&) {
        if (before) io::atomic_write(ws.config_path, before->text());
        else fs::remove(ws.config_path);
        throw;
    }
}

// Files this rule routes that are encrypted without the new key: updatekeys adds it.
std::size_t files_without(const Workspace& ws, const SopsYaml& config, const std::string& rule_id,
                          std::string_view recipient) {
    std::size_t n = 0;
    for (const auto& path : ws.tracked_files()) {
        fs::path abs = ws.top / path;
        auto i = config.rule_for(ws.rule_name(abs));
        if (!i || config.rules()[*i].id() != rule_id) continue;
        try {
            std::string bytes = io::read_file(abs);
            sops::Format f = sops::format_for_path(path);
            if (!sops::is_encrypted(bytes, f)) continue;
            auto recips = sops::load_encrypted(bytes, f).metadata.age_recipients();
            if (std::find(recips.begin(), recips.end(), recipient) == recips.end()) ++n;
        } catch (const Error&) {
        }
    }
    return n;
}

// Without --rule in a .sops.yaml with several rules: the rule init recorded for the context in
// use (--context, else kubectl's current one), so that `init --force` needs no flag either.
std::optional<std::string> remembered_rule(const std::optional<SopsYaml>& config, const Records& records,
                                           const InitOptions& options) {
    if (!options.rule.empty() || !config || config->rules().size() < 2 || options.cluster.no_cluster ||
        records.all().empty())
        return std::nullopt;
    keys::Cluster pointed(keys::ClusterSecret{options.cluster.context.value_or(""), {}, {}});
    std::optional<std::string> found;
    for (const auto& rec : records.all()) {
        if (rec.no_cluster || rec.secret.context != pointed.context()) continue;
        if (found) return std::nullopt;  // two rules for one context: let the user say which
        found = rec.rule;
    }
    return found;
}

}  // namespace

void init(const InitOptions& options) {
    harden_process();
    Workspace ws = Workspace::open();
    Records records = ws.records();
    std::optional<SopsYaml> config;
    if (ws.has_config()) config = ws.config();
    const Target target = choose_target(config, options.rule, remembered_rule(config, records, options));
    const ClusterRecord* record = records.by_rule(target.id);
    const bool no_cluster = options.cluster.no_cluster;

    std::optional<keys::Cluster> cluster;
    if (!no_cluster) {
        cluster.emplace(cluster_secret(options.cluster, record));
        if (cluster->read()) {
            if (options.force && target.kind == Target::Kind::existing) {
                note(cluster->describe() + " exists: --force replaces its key (a rotation)");
                rotate_rule(ws, target.index, options.cluster);
                return;
            }
            if (options.force)
                throw Error(cluster->describe() + " exists but .sops.yaml has no rule '" + target.id +
                            "' listing its key: nothing to rotate");
            note("already initialised: " + cluster->describe() +
                 " exists; nothing changed (`git sops init --force` replaces the key and re-encrypts the files)");
            return;
        }
    } else if (record) {
        if (options.force && target.kind == Target::Kind::existing) {
            rotate_rule(ws, target.index, options.cluster);
            return;
        }
        note("already initialised: rule '" + target.id + "' has the key " + record->recipient + " (" +
             record->describe() + "); nothing changed (--force replaces it)");
        return;
    }

    // Everything that can fail is checked before the key leaves this process.
    age::X25519Keypair keypair = age::generate_x25519();
    const std::string text = edited_config(config, target, keypair.recipient);
    ClusterRecord added{target.id, keypair.recipient, no_cluster, {}};
    if (cluster) {
        cluster->create(keys::kAgeKeyEntry, agekey_entry(keypair));
        added.secret = cluster->secret();
        added.secret.context = cluster->context();
        note("stored the new age key in " + cluster->describe() + " (entry " + std::string(keys::kAgeKeyEntry) + ")");
    }
    try {
        write_config(ws, config, text);
        records.put(added);
        records.save();
    } catch (const Error& e) {
        if (cluster) {  // the cluster has the key already: hand it over with what is left to do
            print_private_key(keypair, "age key of " + cluster->describe());
            note("the key is in the cluster, but " + ws.config_path.string() + " was not updated (" + e.what() +
                 "): add " + keypair.recipient + " to the rule by hand");
        }
        throw;
    }
    std::string rule_text = target.kind == Target::Kind::new_file ? "a new rule (path_regex '" + target.regex + "') of"
                            : target.kind == Target::Kind::append ? "a new rule (path_regex '" + target.regex + "') at the end of"
                                                                  : config->rules()[target.index].describe() + " in";
    note("added " + keypair.recipient + " to " + rule_text + " " + ws.config_path.string());
    const SopsYaml now = ws.config();
    if (std::size_t n = files_without(ws, now, target.id, keypair.recipient))
        note(std::to_string(n) + " file(s) of this rule are not encrypted for the new key yet: run `git sops updatekeys "
                                 "--all`");
    print_private_key(keypair, cluster ? "age key of " + cluster->describe()
                                       : std::string("age key for rule '") + target.id + "' (not stored in any cluster)");
}

}  // namespace gitsops::lifecycle
