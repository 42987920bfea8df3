// `.sops.yaml` (sops config/config.go): where it is, `stores:` and the creation rules.
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <system_error>

#include "base/io.hpp"
#include "sops/sops.hpp"

namespace gitsops::sops {

namespace fs = std::filesystem;

struct Config::Rule {
    bool has_regex = false;
    std::unique_ptr<RE2> regex;
    std::string regex_error;
    CreationRule rule;
    std::vector<std::string> unsupported;  // key types listed that git-sops cannot encrypt for
};

namespace {

constexpr int kMaxDepth = 100;  // sops' config lookup limit

[[noreturn]] void config_error(const fs::path& path, const std::string& what) {
    throw Error(path.string() + ": " + what);
}

std::string scalar(const YAML::Node& n, const fs::path& path, std::string_view field) {
    if (!n || n.IsNull()) return {};
    if (!n.IsScalar()) config_error(path, std::string(field) + " must be a string");
    return n.Scalar();
}

int integer(const YAML::Node& n, const fs::path& path, std::string_view field, int fallback) {
    if (!n || n.IsNull()) return fallback;
    try {
        return n.as<int>();
    } catch (const YAML::Exception&) {
        config_error(path, std::string(field) + " must be an integer");
    }
}

bool boolean(const YAML::Node& n, const fs::path& path, std::string_view field) {
    if (!n || n.IsNull()) return false;
    try {
        return n.as<bool>();
    } catch (const YAML::Exception&) {
        config_error(path, std::string(field) + " must be a boolean");
    }
}

// A key field: a comma-separated string or (sops >= 3.11) a list of strings; each item may hold
// several comma-separated keys.
std::vector<std::string> key_list(const YAML::Node& n, const fs::path& path, std::string_view field) {
    std::vector<std::string> out;
    if (!n || n.IsNull()) return out;
    auto add = [&](const std::string& s) {
        for (auto& k : split_recipients(s)) out.push_back(std::move(k));
    };
    if (n.IsScalar()) {
        add(n.Scalar());
    } else if (n.IsSequence()) {
        for (const auto& item : n) {
            if (!item.IsScalar())
                config_error(path,
                             "invalid " + std::string(field) + " key configuration: expected a string in the list");
            add(item.Scalar());
        }
    } else {
        config_error(path, "invalid " + std::string(field) + " key configuration: expected a string or a list");
    }
    return out;
}

bool non_empty(const YAML::Node& n) {
    if (!n || n.IsNull()) return false;
    if (n.IsScalar()) return !n.Scalar().empty();
    return n.size() > 0;
}

// One key group, `merge:` groups flattened into it, duplicate recipients dropped (sops >= 3.9).
void collect_group(const YAML::Node& g, const fs::path& path, std::vector<std::string>& age,
                   std::vector<std::string>& unsupported) {
    if (!g.IsMap()) config_error(path, "a key group must be a mapping");
    for (const auto& merged : g["merge"]) collect_group(merged, path, age, unsupported);
    for (auto& r : key_list(g["age"], path, "age"))
        if (std::find(age.begin(), age.end(), r) == age.end()) age.push_back(std::move(r));
    for (const char* type : {"pgp", "kms", "gcp_kms", "azure_keyvault", "hc_vault", "hckms"})
        if (non_empty(g[type])) unsupported.emplace_back(type);
}

std::shared_ptr<const Config::Rule> parse_rule(const YAML::Node& r, const fs::path& path) {
    if (!r.IsMap()) config_error(path, "a creation rule must be a mapping");
    auto rule = std::make_shared<Config::Rule>();
    std::string regex = scalar(r["path_regex"], path, "path_regex");
    if (!regex.empty()) {
        rule->has_regex = true;
        RE2::Options o;
        o.set_log_errors(false);
        rule->regex = std::make_unique<RE2>(regex, o);
        if (!rule->regex->ok()) rule->regex_error = rule->regex->error();
    }
    CreationRule& c = rule->rule;
    const YAML::Node groups = r["key_groups"];
    if (groups && groups.IsSequence() && groups.size() > 0) {
        for (const auto& g : groups) {
            c.age_groups.emplace_back();
            collect_group(g, path, c.age_groups.back(), rule->unsupported);
        }
    } else {
        c.age_groups.push_back(key_list(r["age"], path, "age"));
        for (const char* type : {"pgp", "kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms"})
            if (non_empty(r[type])) rule->unsupported.emplace_back(type);
    }
    c.shamir_threshold = integer(r["shamir_threshold"], path, "shamir_threshold", 0);
    c.selectors.unencrypted_suffix = scalar(r["unencrypted_suffix"], path, "unencrypted_suffix");
    c.selectors.encrypted_suffix = scalar(r["encrypted_suffix"], path, "encrypted_suffix");
    c.selectors.unencrypted_regex = scalar(r["unencrypted_regex"], path, "unencrypted_regex");
    c.selectors.encrypted_regex = scalar(r["encrypted_regex"], path, "encrypted_regex");
    c.selectors.unencrypted_comment_regex = scalar(r["unencrypted_comment_regex"], path, "unencrypted_comment_regex");
    c.selectors.encrypted_comment_regex = scalar(r["encrypted_comment_regex"], path, "encrypted_comment_regex");
    c.mac_only_encrypted = boolean(r["mac_only_encrypted"], path, "mac_only_encrypted");
    return rule;
}

StoreConfig parse_stores(const YAML::Node& s, const fs::path& path) {
    StoreConfig out;
    if (!s || s.IsNull()) return out;
    if (!s.IsMap()) config_error(path, "stores must be a mapping");
    auto indent = [&](const char* store, int fallback) {
        const YAML::Node n = s[store];
        if (!n || n.IsNull()) return fallback;
        if (!n.IsMap()) config_error(path, std::string("stores.") + store + " must be a mapping");
        return integer(n["indent"], path, std::string("stores.") + store + ".indent", fallback);
    };
    out.yaml_indent = indent("yaml", out.yaml_indent);
    out.json_indent = indent("json", out.json_indent);
    out.json_binary_indent = indent("json_binary", out.json_binary_indent);
    return out;
}

fs::path absolute_normal(const fs::path& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    return (ec ? p : abs).lexically_normal();
}

}  // namespace

Config Config::load(const fs::path& path) {
    std::string text;
    try {
        text = io::read_file(path);
    } catch (const Error& e) {
        throw Error(std::string("could not read config file: ") + e.what());
    }
    return parse(text, path);
}

Config Config::parse(std::string_view text, const fs::path& path) {
    Config c;
    c.path_ = path;
    c.dir_ = absolute_normal(path).parent_path();
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        config_error(path, std::string("could not unmarshal config file: ") + e.what());
    }
    if (!root || root.IsNull()) return c;
    if (!root.IsMap()) config_error(path, "the config must be a mapping");
    c.stores_ = parse_stores(root["stores"], path);
    const YAML::Node rules = root["creation_rules"];
    if (rules && !rules.IsNull()) {
        if (!rules.IsSequence()) config_error(path, "creation_rules must be a list");
        c.has_rules_ = true;
        for (const auto& r : rules) c.rules_.push_back(parse_rule(r, path));
    }
    return c;
}

CreationRule Config::rule_for(const fs::path& file) const {
    // Rules see the path relative to the config's folder when the file is inside it.
    std::string name = absolute_normal(file).string();
    std::string prefix = dir_.string();
    if (!prefix.ends_with('/')) prefix += '/';
    if (name.starts_with(prefix)) name.erase(0, prefix.size());
    for (const auto& rule : rules_) {
        if (rule->has_regex) {
            if (!rule->regex_error.empty()) config_error(path_, "can not compile path_regex: " + rule->regex_error);
            if (!RE2::PartialMatch(name, *rule->regex)) continue;
        }
        if (!rule->unsupported.empty()) {
            std::string types;
            for (const auto& t : rule->unsupported) types += (types.empty() ? "" : ", ") + t;
            config_error(path_, "the creation rule for " + file.string() + " lists " + types +
                                    " keys; git-sops encrypts for age recipients only");
        }
        selector_from(rule->rule.selectors, exit_code::generic);  // at most one, as sops checks
        return rule->rule;
    }
    throw Error("no matching creation rules found for " + file.string() + " in " + path_.string());
}

std::optional<CreationRule> Config::find_rule(std::string_view path_relative_to_config_dir) const {
    const re2::StringPiece name(path_relative_to_config_dir.data(), path_relative_to_config_dir.size());
    for (const auto& rule : rules_) {
        if (rule->has_regex && (!rule->regex_error.empty() || !RE2::PartialMatch(name, *rule->regex))) continue;
        return rule->rule;
    }
    return std::nullopt;
}

std::optional<fs::path> find_config(const std::optional<std::string>& explicit_path, const fs::path& start) {
    if (explicit_path && !explicit_path->empty()) return fs::path(*explicit_path);
    if (auto env = io::getenv("SOPS_CONFIG"); env && !env->empty()) return fs::path(*env);
    std::error_code ec;
    fs::path dir = start.empty() ? fs::current_path(ec) : absolute_normal(start);
    if (ec) return std::nullopt;
    for (int i = 0; i < kMaxDepth; ++i) {
        fs::path candidate = dir / ".sops.yaml";
        if (fs::exists(candidate, ec)) return candidate;
        if (dir == dir.root_path()) break;
        dir = dir.parent_path();
    }
    return std::nullopt;
}

}  // namespace gitsops::sops
