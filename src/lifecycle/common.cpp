// Shared pieces of the lifecycle commands.
#include "lifecycle/common.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <set>
#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

// ---- Workspace ---------------------------------------------------------------------------------------

Workspace Workspace::open() {
    auto ws = try_open();
    if (!ws) throw Error("not inside a git repository: run this in the worktree of your GitOps repository");
    return std::move(*ws);
}

std::optional<Workspace> Workspace::try_open() {
    std::optional<git::Repository> repo;
    try {
        repo.emplace(git::Repository::open_from_env());
    } catch (const Error&) {
        return std::nullopt;
    }
    auto top = repo->workdir();
    if (!top) throw Error("this is a bare repository: git-sops key commands need a worktree");
    fs::path config = *top / ".sops.yaml";
    if (auto env = io::getenv("SOPS_CONFIG"); env && !env->empty()) config = fs::absolute(*env);
    return Workspace{std::move(*repo), fs::absolute(*top).lexically_normal(), config.lexically_normal()};
}

bool Workspace::has_config() const {
    std::error_code ec;
    return fs::exists(config_path, ec);
}

SopsYaml Workspace::config() const {
    if (!has_config())
        throw Error(config_path.string() + " does not exist: run `git sops init` to create it with a rule for your "
                                           "cluster");
    return SopsYaml::parse(io::read_file(config_path), config_path);
}

sops::Config Workspace::sops_config() const { return sops::Config::load(config_path); }

std::string rule_name(const fs::path& config_path, const fs::path& absolute) {
    std::string name = absolute.lexically_normal().string();
    std::string prefix = fs::absolute(config_path).lexically_normal().parent_path().string();
    if (!prefix.ends_with('/')) prefix += '/';
    if (name.starts_with(prefix)) name.erase(0, prefix.size());
    return name;
}

std::string Workspace::rule_name(const fs::path& absolute) const { return lifecycle::rule_name(config_path, absolute); }

std::vector<std::string> Workspace::tracked_files() const {
    std::vector<std::string> out;
    for (const auto& e : repo.index().entries()) {
        if (e.stage != 0) continue;
        if (e.mode != 0100644 && e.mode != 0100755) continue;  // no symlinks, no submodules
        out.push_back(e.path);
    }
    return out;
}

std::size_t rule_index(const SopsYaml& config, std::string_view name, std::string_view display) {
    auto i = config.rule_for(name);
    if (!i)
        throw Error("no creation rule in " + config.path().string() + " matches " + std::string(display) +
                    ": add a rule for it (or run `git sops init --rule 'REGEX'`)");
    return *i;
}

// ---- output --------------------------------------------------------------------------------------------

void note(std::string_view line) { std::cerr << "git-sops: " << line << '\n'; }

void print_private_key(std::span<const std::uint8_t> identity, std::string_view recipient, std::string_view what) {
    std::cout.flush();
    std::fflush(stdout);
    SecureBytes out;
    auto put = [&](std::string_view s) { out.insert(out.end(), s.begin(), s.end()); };
    put("# git-sops: ");
    put(what);
    put("\n# public key: ");
    put(recipient);
    put("\n");
    std::string_view key = view_of(identity);
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.remove_suffix(1);
    put(key);
    put("\n# Store this private key in your password manager now (e.g. KeePass): git-sops wrote it to no file,\n"
        "# and this is the only time it is printed.\n");
    io::write_all(STDOUT_FILENO, out);
}

void print_private_key(const age::X25519Keypair& keypair, std::string_view what) {
    print_private_key(keypair.identity, keypair.recipient, what);
}

SecureBytes agekey_entry(const age::X25519Keypair& keypair) {
    SecureBytes out = keypair.identity;
    if (out.empty() || out.back() != '\n') out.push_back('\n');
    return out;
}

void harden_process() {
    struct rlimit none {};
    ::setrlimit(RLIMIT_CORE, &none);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // children get theirs back at execve
}

void crash_point(std::string_view step) {
    auto at = io::getenv("GIT_SOPS_TEST_CRASH_AT");
    if (at && *at == step) ::kill(::getpid(), SIGKILL);
}

keys::ClusterSecret cluster_secret(const ClusterOptions& options, const ClusterRecord* record) {
    keys::ClusterSecret s;
    if (record && !record->no_cluster) s = record->secret;
    if (options.context) s.context = *options.context;
    if (options.namespace_name) s.namespace_name = *options.namespace_name;
    if (options.secret) s.name = *options.secret;
    return s;
}

std::vector<std::string> recipients_of(const age::Identities& ids) {
    std::vector<std::string> out;
    for (const auto& id : ids)
        if (auto r = id->recipient()) out.push_back(r->to_string());
    return out;
}

// ---- KeyRing ---------------------------------------------------------------------------------------------

struct KeyRing::Source final : sops::IdentitySource {
    age::Identities ids;
    std::string where;
    const age::Identities& identities(std::string_view) override { return ids; }
};

KeyRing::KeyRing(Records records, ClusterOptions options, bool allow_cluster)
    : records_(std::move(records)),
      options_(std::move(options)),
      allow_cluster_(allow_cluster),
      discovery_(keys::Environment::from_process()) {}

KeyRing::~KeyRing() = default;

void KeyRing::add(age::Identities ids, std::string where) {
    auto s = std::make_unique<Source>();
    s->ids = std::move(ids);
    s->where = std::move(where);
    extra_.push_back(std::move(s));
}

const age::Identities& KeyRing::discovered() { return discovery_.identities(""); }

KeyRing::Source* KeyRing::cluster_source(const keys::ClusterSecret& secret) {
    const std::string id = secret.context + "\x1f" + secret.namespace_name + "\x1f" + secret.name;
    if (auto it = clusters_.find(id); it != clusters_.end()) return it->second.get();
    keys::Cluster cluster(secret);
    auto s = std::make_unique<Source>();
    s->where = cluster.describe();
    auto entries = cluster.read();
    if (entries) {
        s->ids = keys::agekey_identities(*entries);
        note("using the age key" + std::string(s->ids.size() > 1 ? "s" : "") + " of " + s->where);
    } else {
        note("no " + s->where + " to take a key from");
    }
    return clusters_.emplace(id, std::move(s)).first->second.get();
}

sops::IdentitySource& KeyRing::source_for(const sops::Metadata& metadata, std::string_view rule_id) {
    std::string first_error;
    auto opens = [&](sops::IdentitySource& s) {
        try {
            (void)sops::get_data_key(metadata, s);
            return true;
        } catch (const Error& e) {
            if (e.code() != exit_code::could_not_retrieve_key) throw;
            if (first_error.empty()) first_error = e.what();
            return false;
        }
    };
    if (opens(discovery_)) return discovery_;
    for (auto& s : extra_)
        if (opens(*s)) return *s;

    std::string hint;
    if (allow_cluster_ && !options_.no_cluster) {
        std::vector<keys::ClusterSecret> candidates;
        std::set<std::string> seen;
        auto consider = [&](const ClusterRecord* rec) {
            if (!rec || rec->no_cluster) return;
            keys::ClusterSecret s = cluster_secret(options_, rec);
            if (seen.insert(s.context + "\x1f" + s.namespace_name + "\x1f" + s.name).second) candidates.push_back(s);
        };
        for (const auto& r : metadata.age_recipients()) consider(records_.by_recipient(r));
        consider(records_.by_rule(rule_id));
        if (candidates.empty() && (options_.context || options_.namespace_name || options_.secret))
            candidates.push_back(cluster_secret(options_, nullptr));
        for (const auto& c : candidates)
            if (Source* s = cluster_source(c); s && opens(*s)) return *s;
        if (candidates.empty()) {
            // Nothing recorded (a fresh clone): try the Secret of the cluster kubectl points at, as
            // a guess whose failure only adds to the message.
            try {
                if (Source* s = cluster_source(cluster_secret(options_, nullptr)); s && opens(*s)) return *s;
                hint = "\nNo cluster is recorded for this file's keys or rule, and the key in kubectl's current "
                       "context does not open it: set SOPS_AGE_KEY, or pass --context (and --namespace/--secret)";
            } catch (const Error& e) {
                hint = std::string("\nNo cluster is recorded for this file's keys or rule (") + e.what() +
                       "): set SOPS_AGE_KEY, or pass --context (and --namespace/--secret)";
            }
        } else {
            hint = "\nThe cluster's key does not open it either";
        }
    }
    throw Error(first_error + hint, exit_code::could_not_retrieve_key);
}

sops::DataKey KeyRing::data_key(const sops::Metadata& metadata, std::string_view rule_id) {
    return sops::get_data_key(metadata, source_for(metadata, rule_id));
}

sops::OpenedFile KeyRing::open(std::string_view bytes, sops::Format format, const sops::StoreConfig& stores,
                               std::string_view rule_id, bool ignore_mac) {
    sops::EncryptedFile file = sops::load_encrypted(bytes, format, stores);
    sops::IdentitySource& source = source_for(file.metadata, rule_id);
    return sops::open_encrypted(bytes, format, stores, source, ignore_mac);
}

}  // namespace gitsops::lifecycle
