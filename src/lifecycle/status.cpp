// `git sops status`: every file a rule routes, the filter and hooks, and (--cluster) whether the
// cluster's key is the one its rule lists.
#include <git2.h>

#include <algorithm>
#include <iostream>
#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/install.hpp"
#include "lifecycle/common.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

struct Report {
    bool ok = true;
    void line(const std::string& s) { std::cout << s << '\n'; }
    void problem(const std::string& s) {
        ok = false;
        line(s);
    }
};

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
    return out;
}

std::optional<std::string> read_if_exists(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    return io::read_file(p);
}

// The value of the `filter` attribute git applies to `path`, or "" when unset.
std::string filter_attribute(const git::Repository& repo, const std::string& path) {
    const char* value = nullptr;
    if (git_attr_get(&value, repo.raw(), GIT_ATTR_CHECK_FILE_THEN_INDEX, path.c_str(), "filter") != 0) return {};
    if (git_attr_value(value) != GIT_ATTR_VALUE_STRING) return {};
    return value;
}

void check_installation(const Workspace& ws, Report& r) {
    const git::Config config = ws.repo.config();
    bool filter = config.get_string("filter.sops.process") || config.get_string("filter.sops.clean");
    if (filter) r.line("filter:  installed (filter.sops)");
    else r.problem("filter:  NOT installed: run `git sops install`");
    std::vector<std::string> missing;
    for (auto hook : git::install_detail::hooks) {
        auto text = read_if_exists(git::hooks_dir(ws.repo) / std::string(hook));
        if (!text || !git::install_detail::is_shim(*text)) missing.emplace_back(hook);
    }
    if (missing.empty()) r.line("hooks:   installed (pre-commit, pre-receive)");
    else r.problem("hooks:   missing " + join(missing, ", ") + ": run `git sops install`");
}

// The recipients check: what the file lists against what its rule lists.
std::string keys_state(const sops::Metadata& md, const sops::CreationRule& rule, bool& drift) {
    std::vector<std::string> have = md.age_recipients(), want;
    for (const auto& g : rule.age_groups) want.insert(want.end(), g.begin(), g.end());
    std::vector<std::string> added, removed;
    for (const auto& w : want)
        if (std::find(have.begin(), have.end(), w) == have.end()) added.push_back("+" + w);
    for (const auto& h : have)
        if (std::find(want.begin(), want.end(), h) == want.end()) removed.push_back("-" + h);
    drift = !added.empty() || !removed.empty() || md.key_groups.size() != rule.age_groups.size();
    if (!drift) return "keys match rule";
    added.insert(added.end(), removed.begin(), removed.end());
    return "KEYS DRIFT from rule (" + (added.empty() ? std::string("group layout differs") : join(added, " ")) +
           "): run `git sops updatekeys`";
}

std::string mac_state(KeyRing& ring, std::string_view bytes, sops::Format format, const sops::StoreConfig& stores,
                      const std::string& rule_id, bool& bad) {
    try {
        (void)ring.open(bytes, format, stores, rule_id);
        return "MAC ok";
    } catch (const Error& e) {
        if (e.code() == exit_code::could_not_retrieve_key) return "MAC not checked (no key at hand)";
        bad = true;
        if (e.code() == exit_code::mac_mismatch) return "MAC MISMATCH";
        return std::string("DOES NOT DECRYPT: ") + e.what();
    }
}

void check_file(const Workspace& ws, const SopsYaml& yaml, const sops::Config& config, KeyRing& ring,
                const std::string& path, Report& r) {
    const fs::path abs = ws.top / path;
    auto i = yaml.rule_for(ws.rule_name(abs));
    if (!i) return;
    const RuleView& rule = yaml.rules()[*i];
    const sops::Format format = sops::format_for_path(path);
    std::string where = "worktree";
    std::optional<std::string> bytes = read_if_exists(abs);
    auto encrypted = [&](const std::optional<std::string>& b) {
        try {
            return b && sops::is_encrypted(*b, format, config.stores());
        } catch (const Error&) {
            return false;
        }
    };
    std::string head = path + ": rule " + std::to_string(*i + 1) + ", ";
    if (!encrypted(bytes)) {
        auto blob = ws.repo.index().blob_id(path);
        std::optional<std::string> stored;
        if (blob) {
            auto b = ws.repo.blob(*blob);
            stored = std::string(view_of(b.bytes()));
        }
        if (!encrypted(stored)) {
            r.problem(head + "NOT ENCRYPTED (a plaintext file a rule routes)");
            return;
        }
        head += "plaintext in worktree, ";
        where = "index";
        bytes = std::move(stored);
    }
    std::string filter = filter_attribute(ws.repo, path);
    sops::CreationRule creation;
    try {
        creation = config.rule_for(abs);
    } catch (const Error& e) {
        r.problem(head + "encrypted (" + where + "), " + e.what());
        return;
    }
    bool drift = false, bad_mac = false;
    sops::Metadata md = sops::load_encrypted(*bytes, format, config.stores()).metadata;
    std::string line = head + "encrypted (" + where + "), " + keys_state(md, creation, drift) + ", " +
                       mac_state(ring, *bytes, format, config.stores(), rule.id(), bad_mac);
    if (filter != "sops") line += ", .gitattributes does not route it to the sops filter";
    if (drift || bad_mac) r.problem(line);
    else r.line(line);
}

void check_clusters(const Workspace& ws, const SopsYaml& yaml, const ClusterOptions& options, KeyRing& ring,
                    Report& r) {
    const Records records = ws.records();
    std::vector<std::pair<std::string, keys::ClusterSecret>> targets;  // rule id, secret
    for (const auto& rec : records.all())
        if (!rec.no_cluster) targets.emplace_back(rec.rule, cluster_secret(options, &rec));
    if (targets.empty() && yaml.rules().size() == 1)
        targets.emplace_back(yaml.rules()[0].id(), cluster_secret(options, nullptr));
    if (targets.empty()) {
        r.line("cluster: no cluster recorded (run `git sops init`, or pass --context and check one rule)");
        return;
    }
    for (const auto& [rule_id, secret] : targets) {
        keys::Cluster cluster(secret);
        const std::string name = cluster.describe();
        auto entries = cluster.read();
        if (!entries) {
            r.problem("cluster: " + name + " does not exist: run `git sops init`");
            continue;
        }
        auto current = keys::entry_recipients(*entries, keys::kAgeKeyEntry);
        auto rule = std::find_if(yaml.rules().begin(), yaml.rules().end(),
                                 [&id = rule_id](const RuleView& v) { return v.id() == id; });
        if (rule == yaml.rules().end()) {
            r.problem("cluster: " + name + " belongs to rule '" + rule_id + "', which .sops.yaml no longer has");
            continue;
        }
        bool listed = !current.empty() && std::all_of(current.begin(), current.end(),
                                                      [&](const std::string& k) { return rule->lists(k); });
        if (listed)
            r.line("cluster: " + name + " holds " + join(current, ", ") + ", listed by " + rule->describe());
        else
            r.problem("cluster: " + name + " holds " + (current.empty() ? std::string("no age key") : join(current, ", ")) +
                      ", which " + rule->describe() + " does NOT list: files of that rule will not decrypt in the cluster");
        if (entries->count(std::string(keys::kOldAgeKeyEntry)))
            r.line("cluster: " + name + " still has the previous key (" + std::string(keys::kOldAgeKeyEntry) +
                   "): run `git sops rotate --finish` once Flux has applied the rotated files");
        ring.add(keys::agekey_identities(*entries), name);
    }
}

}  // namespace

bool status(const StatusOptions& options) {
    harden_process();
    Workspace ws = Workspace::open();
    Report r;
    check_installation(ws, r);
    if (!ws.has_config()) {
        r.problem("config:  no " + ws.config_path.string() + ": run `git sops init`");
        return r.ok;
    }
    const SopsYaml yaml = ws.config();
    const sops::Config config = ws.sops_config();
    KeyRing ring(ws.records(), options.cluster, options.check_cluster);
    if (auto journal = Journal::load(ws.repo.git_dir()))
        r.problem("rotate:  a rotation to " + journal->new_recipient + " is in progress (" + state_name(journal->state) +
                  "): rerun `git sops rotate` or `git sops rotate --abort`");
    if (options.check_cluster) check_clusters(ws, yaml, options.cluster, ring, r);
    std::size_t files = 0;
    for (const auto& path : ws.tracked_files()) {
        if (!yaml.rule_for(ws.rule_name(ws.top / path))) continue;
        ++files;
        check_file(ws, yaml, config, ring, path, r);
    }
    if (files == 0) r.line("files:   no tracked file is routed by a creation rule");
    return r.ok;
}

}  // namespace gitsops::lifecycle
