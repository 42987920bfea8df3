// `git sops updatekeys`: the data key of each file re-wrapped for the recipients its rule lists
// now, as `sops updatekeys` does: values, lastmodified, mac and version stay as they are; only
// the key entries change.
#include <algorithm>
#include <iostream>
#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"
#include "lifecycle/common.hpp"
#include "lifecycle/editor.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

struct Pending {
    std::string display;
    fs::path abs;
    std::string bytes;
    sops::Format format;
    sops::EncryptedFile file;
    sops::CreationRule rule;
    std::string rule_id;
};

std::vector<std::vector<std::string>> file_groups(const sops::Metadata& md) {
    std::vector<std::vector<std::string>> out;
    for (const auto& g : md.key_groups) {
        out.emplace_back();
        for (const auto& a : g.age) out.back().push_back(a.recipient);
    }
    return out;
}

bool same_keys(const sops::Metadata& md, const sops::CreationRule& rule) {
    auto have = file_groups(md);
    if (have.size() != rule.age_groups.size()) return false;
    for (const auto& g : md.key_groups)
        if (!g.others.empty()) return false;
    for (std::size_t i = 0; i < have.size(); ++i) {
        auto a = have[i], b = rule.age_groups[i];
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        if (a != b) return false;
    }
    return true;
}

// "  + age1…" / "  - age1…" lines, per group when there are several.
std::string describe_change(const sops::Metadata& md, const sops::CreationRule& rule) {
    auto have = file_groups(md);
    const auto& want = rule.age_groups;
    std::string out;
    std::size_t groups = std::max(have.size(), want.size());
    for (std::size_t g = 0; g < groups; ++g) {
        std::vector<std::string> h = g < have.size() ? have[g] : std::vector<std::string>{};
        std::vector<std::string> w = g < want.size() ? want[g] : std::vector<std::string>{};
        std::string prefix = groups > 1 ? "  group " + std::to_string(g) + ": " : "  ";
        for (const auto& r : w)
            if (std::find(h.begin(), h.end(), r) == h.end()) out += prefix + "+ " + r + "\n";
        for (const auto& r : h)
            if (std::find(w.begin(), w.end(), r) == w.end()) out += prefix + "- " + r + "\n";
    }
    for (const auto& g : md.key_groups)
        for (const auto& [type, node] : g.others) out += "  - all " + type + " keys (git-sops writes age keys only)\n";
    return out;
}

}  // namespace

void updatekeys(const UpdatekeysOptions& options) {
    harden_process();
    std::optional<Workspace> ws = Workspace::try_open();
    if (options.all && !ws) throw Error("--all needs a git repository: name the files instead");
    if (!options.all && options.files.empty()) throw Error("name the files to update, or pass --all", exit_code::usage);

    // The config: the repository's for --all, else as sops looks it up from the current folder.
    std::optional<fs::path> config_path;
    if (options.all) config_path = ws->config_path;
    else config_path = sops::find_config(std::nullopt);
    if (!config_path || !fs::exists(*config_path))
        throw Error("no .sops.yaml: updatekeys takes each file's recipients from its creation rule");
    const sops::Config config = sops::Config::load(*config_path);
    const SopsYaml yaml = SopsYaml::parse(io::read_file(*config_path), *config_path);

    std::vector<std::pair<std::string, fs::path>> targets;  // display name, absolute path
    if (options.all) {
        for (const auto& path : ws->tracked_files()) {
            fs::path abs = ws->top / path;
            if (yaml.rule_for(rule_name(*config_path, abs))) targets.emplace_back(path, abs);
        }
    } else {
        for (const auto& f : options.files) targets.emplace_back(f, fs::absolute(f).lexically_normal());
    }

    std::vector<Pending> pending;
    for (auto& [display, abs] : targets) {
        std::error_code ec;
        if (!fs::exists(abs, ec)) {
            if (options.all) continue;
            throw Error(display + ": no such file", exit_code::no_file);
        }
        std::string bytes = io::read_file(abs);
        const sops::Format format = sops::format_for_path(abs.string());
        if (!sops::is_encrypted(bytes, format, config.stores())) {
            if (options.all) continue;
            throw Error(display + ": not a sops file (no sops metadata)");
        }
        sops::EncryptedFile file = sops::load_encrypted(bytes, format, config.stores());
        sops::CreationRule rule = config.rule_for(abs);
        std::string rule_id = yaml.rules()[rule_index(yaml, rule_name(*config_path, abs), display)].id();
        if (same_keys(file.metadata, rule)) {
            note(display + ": keys already match its creation rule");
            continue;
        }
        std::cout << display << ":\n" << describe_change(file.metadata, rule);
        pending.push_back(Pending{display, abs, std::move(bytes), format, std::move(file), std::move(rule), rule_id});
    }
    std::cout.flush();
    if (pending.empty()) {
        note("nothing to update");
        return;
    }
    if (!options.yes) {
        auto ok = ask_tty("Update the keys of " + std::to_string(pending.size()) + " file(s)?", false);
        if (!ok) throw Error("no terminal to confirm on: pass -y to update without asking; nothing changed");
        if (!*ok) {
            note("nothing changed");
            return;
        }
    }
    KeyRing ring(ws ? ws->records() : Records{}, options.cluster, true);
    for (auto& p : pending) {
        sops::DataKey key = ring.data_key(p.file.metadata, p.rule_id);
        int threshold = p.rule.shamir_threshold;
        sops::Metadata md = p.file.metadata;
        md.key_groups = sops::wrap_data_key(key, p.rule.age_groups, threshold);
        md.shamir_threshold = threshold;
        io::atomic_write(p.abs, sops::emit_encrypted(p.file.documents, md, p.format, config.stores()));
        note("updated the keys of " + p.display);
    }
}

}  // namespace gitsops::lifecycle
