// `.sops.yaml`: rule lookup as sops does it, and line-level edits of a rule's age keys.
#include "lifecycle/sops_yaml.hpp"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "base/error.hpp"
#include "sops/sops.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

// ---- reading ---------------------------------------------------------------------------------------

struct SopsYaml::Layout {
    YAML::Node root;
    std::vector<std::shared_ptr<RE2>> regexes;  // per rule; null when the rule has no path_regex
};

namespace {

[[noreturn]] void config_error(const fs::path& path, const std::string& what) {
    throw Error(path.string() + ": " + what);
}

// A key field as sops reads it: a comma-separated string or a list of such strings.
void add_keys(const YAML::Node& n, std::vector<std::string>& out) {
    if (!n || n.IsNull()) return;
    auto add = [&](const std::string& s) {
        for (auto& k : sops::split_recipients(s))
            if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(std::move(k));
    };
    if (n.IsScalar()) {
        add(n.Scalar());
    } else if (n.IsSequence()) {
        for (const auto& item : n)
            if (item.IsScalar()) add(item.Scalar());
    }
}

void collect_group(const YAML::Node& g, std::vector<std::string>& out) {
    if (!g.IsMap()) return;
    for (const auto& merged : g["merge"]) collect_group(merged, out);
    add_keys(g["age"], out);
}

RuleView read_rule(const YAML::Node& r, std::size_t index, const fs::path& path) {
    if (!r.IsMap()) config_error(path, "creation rule " + std::to_string(index + 1) + " is not a mapping");
    RuleView v;
    v.index = index;
    if (const YAML::Node re = r["path_regex"]; re && !re.IsNull()) {
        if (!re.IsScalar()) config_error(path, "path_regex of rule " + std::to_string(index + 1) + " is not a string");
        if (!re.Scalar().empty()) v.path_regex = re.Scalar();
    }
    const YAML::Node groups = r["key_groups"];
    if (groups && groups.IsSequence() && groups.size() > 0) {
        v.key_groups = true;
        for (const auto& g : groups) {
            v.age_groups.emplace_back();
            collect_group(g, v.age_groups.back());
        }
    } else {
        v.age_groups.emplace_back();
        add_keys(r["age"], v.age_groups.back());
    }
    return v;
}

// ---- lines -------------------------------------------------------------------------------------

// The file as lines, so that edits insert or change whole lines and keep the line endings.
struct Lines {
    std::vector<std::string> lines;
    std::string eol = "\n";
    bool final_eol = true;

    explicit Lines(std::string_view text) {
        if (text.find("\r\n") != std::string_view::npos) eol = "\r\n";
        final_eol = text.empty() || text.ends_with('\n');
        while (!text.empty()) {
            auto lf = text.find('\n');
            std::string_view line = text.substr(0, lf);
            if (line.ends_with('\r')) line.remove_suffix(1);
            lines.emplace_back(line);
            if (lf == std::string_view::npos) break;
            text.remove_prefix(lf + 1);
        }
    }
    std::string join() const {
        std::string out;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            out += lines[i];
            if (i + 1 < lines.size() || final_eol) out += eol;
        }
        return out;
    }
    std::string& at(std::size_t i) { return lines.at(i); }
    void insert(std::size_t before, std::string line) {
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(std::min(before, lines.size())), std::move(line));
        if (before >= lines.size() - 1) final_eol = true;
    }
};

std::size_t indent_of(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    return i;
}

bool blank_or_comment(std::string_view line) {
    std::size_t i = indent_of(line);
    return i == line.size() || line[i] == '#';
}

std::string spaces(std::size_t n) { return std::string(n, ' '); }

std::string single_quoted(std::string_view s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

struct Manual {};  // an edit this code will not risk: the caller explains what to do by hand

std::size_t line_of(const YAML::Node& n) { return static_cast<std::size_t>(n.Mark().line); }
std::size_t col_of(const YAML::Node& n) { return static_cast<std::size_t>(n.Mark().column); }

// Where a single-line scalar's text ends on its line: after the closing quote, or after the plain
// text, which must read exactly as the value (else the layout is unusual).
std::size_t scalar_end(const std::string& line, const YAML::Node& n) {
    std::size_t col = col_of(n);
    if (col >= line.size()) throw Manual{};
    char q = line[col];
    if (q == '\'' || q == '"') {
        std::size_t close = line.find(q, col + 1);
        if (close == std::string::npos || line.substr(col + 1, close - col - 1) != n.Scalar()) throw Manual{};
        return close + 1;
    }
    if (line.compare(col, n.Scalar().size(), n.Scalar()) != 0) throw Manual{};
    return col + n.Scalar().size();
}

// The comment part of a line after `from` (" # ..."), or "".
std::string trailing_comment(const std::string& line, std::size_t from) {
    for (std::size_t i = from; i < line.size(); ++i)
        if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return line.substr(i);
    return {};
}

// Adds `recipient` to the value `v` of the key `k` (an `age:` entry).
void add_to_value(Lines& L, const YAML::Node& k, const YAML::Node& v, std::string_view recipient) {
    const std::string r(recipient);
    if (v.IsNull()) {  // `age:`, `age: ~`, `age: null`, maybe with a comment
        std::string& line = L.at(line_of(k));
        std::size_t colon = line.find(':', col_of(k));
        if (colon == std::string::npos) throw Manual{};
        std::string comment = trailing_comment(line, colon + 1);
        line = line.substr(0, colon + 1) + " " + r + (comment.empty() ? "" : " " + comment);
        return;
    }
    if (v.IsScalar()) {
        std::string& line = L.at(line_of(v));
        std::size_t col = col_of(v);
        if (col >= line.size()) throw Manual{};
        char c = line[col];
        if (c == '|' || c == '>') {  // block scalar: one more line at the content's indentation
            std::size_t key_col = col_of(k), last = 0;
            bool found = false;
            for (std::size_t j = line_of(v) + 1; j < L.lines.size(); ++j) {
                const std::string& l = L.lines[j];
                if (indent_of(l) == l.size()) continue;
                if (indent_of(l) <= key_col) break;
                last = j;
                found = true;
            }
            if (!found) throw Manual{};
            std::string& tail = L.at(last);
            while (!tail.empty() && tail.back() == ' ') tail.pop_back();
            if (!tail.ends_with(',')) tail += ',';
            L.insert(last + 1, spaces(indent_of(tail)) + r);
            return;
        }
        std::size_t end = scalar_end(line, v);
        bool quoted = c == '\'' || c == '"';
        std::string_view inner = std::string_view(line).substr(quoted ? col + 1 : col, v.Scalar().size());
        bool empty = std::all_of(inner.begin(), inner.end(), [](char ch) { return ch == ' '; });
        std::string trimmed(inner);
        while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
        std::string glue = empty || trimmed.ends_with(',') ? "" : ",";
        std::size_t at = quoted ? end - 1 : end;
        line.insert(at, glue + r);
        return;
    }
    if (v.IsSequence()) {
        if (v.Style() == YAML::EmitterStyle::Flow) {
            if (v.size() == 0) {
                std::string& line = L.at(line_of(v));
                std::size_t open = col_of(v);
                if (open >= line.size() || line[open] != '[') throw Manual{};
                std::size_t close = line.find(']', open);
                if (close == std::string::npos) throw Manual{};
                line.replace(open, close - open + 1, "[" + r + "]");
                return;
            }
            const YAML::Node last = v[v.size() - 1];
            if (!last.IsScalar()) throw Manual{};
            std::string& line = L.at(line_of(last));
            line.insert(scalar_end(line, last), ", " + r);
            return;
        }
        const YAML::Node last = v[v.size() - 1];
        if (!last.IsScalar()) throw Manual{};
        const std::string& line = L.at(line_of(last));
        std::string prefix = line.substr(0, std::min(col_of(last), line.size()));
        std::string trimmed = prefix;
        while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
        if (!trimmed.ends_with('-') || indent_of(trimmed) != trimmed.size() - 1) throw Manual{};
        L.insert(line_of(last) + 1, prefix + r);
        return;
    }
    throw Manual{};
}

}  // namespace

// ---- SopsYaml ----------------------------------------------------------------------------------------

std::string RuleView::describe() const {
    return "rule " + std::to_string(index + 1) + (path_regex ? " (path_regex '" + *path_regex + "')" : " (every file)");
}

bool RuleView::lists(std::string_view recipient) const {
    for (const auto& g : age_groups)
        if (std::find(g.begin(), g.end(), recipient) != g.end()) return true;
    return false;
}

SopsYaml SopsYaml::parse(std::string text, fs::path path) {
    SopsYaml s;
    s.path_ = std::move(path);
    auto layout = std::make_shared<Layout>();
    try {
        layout->root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        config_error(s.path_, std::string("not valid YAML: ") + e.what());
    }
    const YAML::Node& root = layout->root;
    if (root && !root.IsNull() && !root.IsMap()) config_error(s.path_, "the config must be a mapping");
    if (root && root.IsMap()) {
        const YAML::Node rules = root["creation_rules"];
        if (rules && !rules.IsNull()) {
            if (!rules.IsSequence()) config_error(s.path_, "creation_rules must be a list");
            std::size_t i = 0;
            for (const auto& r : rules) {
                s.rules_.push_back(read_rule(r, i++, s.path_));
                std::shared_ptr<RE2> re;
                if (s.rules_.back().path_regex) {
                    RE2::Options o;
                    o.set_log_errors(false);
                    re = std::make_shared<RE2>(*s.rules_.back().path_regex, o);
                }
                layout->regexes.push_back(std::move(re));
            }
        }
    }
    s.text_ = std::move(text);
    s.layout_ = std::move(layout);
    return s;
}

std::optional<std::size_t> SopsYaml::rule_for(std::string_view relative) const {
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const auto& re = layout_->regexes[i];
        if (!re) return i;
        if (!re->ok()) config_error(path_, "can not compile path_regex of rule " + std::to_string(i + 1) + ": " +
                                               re->error());
        if (RE2::PartialMatch(relative, *re)) return i;
    }
    return std::nullopt;
}

std::optional<std::size_t> SopsYaml::find_rule(std::string_view spec) const {
    if (!spec.empty() && std::all_of(spec.begin(), spec.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        std::size_t n = std::stoul(std::string(spec));
        if (n >= 1 && n <= rules_.size()) return n - 1;
        return std::nullopt;
    }
    for (const auto& r : rules_)
        if (r.path_regex && *r.path_regex == spec) return r.index;
    return std::nullopt;
}

namespace {

// The lines [first, end) rule `i` owns: from its first key to the line before the next rule,
// without the blank and comment lines that lead into what follows.
std::pair<std::size_t, std::size_t> rule_span(const Lines& L, const YAML::Node& rules, std::size_t i) {
    const YAML::Node rule = rules[i];
    if (!rule.IsMap() || rule.Style() == YAML::EmitterStyle::Flow) throw Manual{};
    std::size_t first = line_of(rule), key_col = col_of(rule), end = L.lines.size();
    if (i + 1 < rules.size()) {
        end = line_of(rules[i + 1]);
    } else {
        for (std::size_t j = first + 1; j < L.lines.size(); ++j) {
            if (blank_or_comment(L.lines[j])) continue;
            if (indent_of(L.lines[j]) < key_col) {
                end = j;
                break;
            }
        }
    }
    while (end > first + 1 && blank_or_comment(L.lines[end - 1])) --end;
    return {first, end};
}

// The key node and value of `key` in a block mapping; nullopt when absent.
std::optional<std::pair<YAML::Node, YAML::Node>> entry(const YAML::Node& map, std::string_view key) {
    for (auto it = map.begin(); it != map.end(); ++it)
        if (it->first.IsScalar() && it->first.Scalar() == key) return std::make_pair(it->first, it->second);
    return std::nullopt;
}

// The edited text must parse, and its rules read exactly as `want` (path_regex and age keys).
void check_reads_as(const std::string& text, const fs::path& path, const std::vector<RuleView>& want,
                    const std::string& how) {
    std::vector<RuleView> got;
    try {
        got = SopsYaml::parse(text, path).rules();
    } catch (const Error&) {
        config_error(path, "the edit would break the file: " + how);
    }
    bool same = got.size() == want.size();
    for (std::size_t i = 0; same && i < want.size(); ++i)
        same = got[i].age_groups == want[i].age_groups && got[i].path_regex == want[i].path_regex;
    if (!same) config_error(path, "the edit did not read back as intended: " + how);
}

bool recipient_boundary(const std::string& line, std::size_t pos) {
    if (pos >= line.size()) return true;
    char c = line[pos];
    return !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=');
}

}  // namespace

std::string SopsYaml::add_recipient(std::size_t rule, std::string_view recipient) const {
    const RuleView& view = rules_.at(rule);
    const std::string how = "add " + std::string(recipient) + " to the age keys of " + view.describe() +
                            " by hand, then rerun";
    Lines L(text_);
    try {
        const YAML::Node rules = layout_->root["creation_rules"];
        // (yaml-cpp's Node assignment writes through to the tree, so nodes are bound once.)
        const YAML::Node rule_node = rules[rule];
        const YAML::Node target = view.key_groups ? rule_node["key_groups"][0] : rule_node;
        if (!target.IsMap() || target.Style() == YAML::EmitterStyle::Flow) throw Manual{};
        if (auto age = entry(target, "age")) {
            add_to_value(L, age->first, age->second, recipient);
        } else {
            if (view.key_groups) throw Manual{};
            auto [first, end] = rule_span(L, rules, rule);
            (void)first;
            L.insert(end, spaces(col_of(rules[rule])) + "age: " + std::string(recipient));
        }
    } catch (const Manual&) {
        config_error(path_, "cannot edit this layout safely: " + how);
    }
    std::string out = L.join();
    // This rule gains the key in its first group; nothing else moves.
    std::vector<RuleView> want = rules_;
    want[rule].age_groups.front().emplace_back(recipient);
    check_reads_as(out, path_, want, how);
    return out;
}

std::string SopsYaml::replace_recipient(std::span<const std::size_t> rules, std::string_view from,
                                        std::string_view to) const {
    Lines L(text_);
    const YAML::Node nodes = layout_->root["creation_rules"];
    std::vector<RuleView> want = rules_;
    const std::string how = "replace " + std::string(from) + " by " + std::string(to) + " in " + path_.string() +
                            " by hand";
    for (std::size_t i : rules) {
        try {
            auto [first, end] = rule_span(L, nodes, i);
            for (std::size_t j = first; j < end; ++j) {
                std::string& line = L.at(j);
                for (std::size_t pos = line.find(from); pos != std::string::npos; pos = line.find(from, pos)) {
                    bool bounded = (pos == 0 || recipient_boundary(line, pos - 1)) &&
                                   recipient_boundary(line, pos + from.size());
                    if (bounded) {
                        line.replace(pos, from.size(), to);
                        pos += to.size();
                    } else {
                        pos += from.size();
                    }
                }
            }
        } catch (const Manual&) {
            config_error(path_, "cannot edit this layout safely: " + how);
        }
        for (auto& g : want[i].age_groups)
            for (auto& r : g)
                if (r == from) r = std::string(to);
    }
    std::string out = L.join();
    check_reads_as(out, path_, want, how);
    return out;
}

std::string SopsYaml::append_rule(std::string_view path_regex, std::string_view recipient) const {
    const std::string how = "add a creation rule for '" + std::string(path_regex) + "' with age key " +
                            std::string(recipient) + " by hand, then rerun";
    if (path_regex.find_first_of("\r\n") != std::string_view::npos)
        config_error(path_, "a path_regex cannot span lines");
    Lines L(text_);
    const YAML::Node root = layout_->root;
    // The dash and the keys at the columns the last rule uses, so the new item lines up.
    auto rule_lines = [&](std::size_t dash_col, std::size_t key_col) {
        return std::vector<std::string>{
            spaces(dash_col) + "-" + spaces(key_col - dash_col - 1) + "path_regex: " + single_quoted(path_regex),
            spaces(key_col) + "encrypted_regex: " + single_quoted(kDefaultEncryptedRegex),
            spaces(key_col) + "age: " + std::string(recipient),
        };
    };
    try {
        std::vector<std::string> add;
        std::size_t at = 0;
        const YAML::Node rules = root && root.IsMap() ? root["creation_rules"] : YAML::Node();
        if (rules && rules.IsSequence() && rules.size() > 0) {
            if (rules.Style() == YAML::EmitterStyle::Flow) throw Manual{};
            std::size_t last = rules.size() - 1;
            auto [first, end] = rule_span(L, rules, last);
            std::size_t key_col = col_of(rules[last]);
            const std::string& head = L.lines.at(first);
            std::size_t dash = head.rfind('-', key_col == 0 ? 0 : key_col - 1);
            if (dash == std::string::npos || indent_of(head) != dash || key_col <= dash) throw Manual{};
            add = rule_lines(dash, key_col);
            at = end;
        } else if (auto cr = root && root.IsMap() ? entry(root, "creation_rules") : std::nullopt) {
            if (!cr->second.IsNull()) throw Manual{};  // `creation_rules: []` and the like
            add = rule_lines(2, 4);
            at = line_of(cr->first) + 1;
        } else {
            if (root && !root.IsNull() && !root.IsMap()) throw Manual{};
            add = {"creation_rules:"};
            for (auto& l : rule_lines(2, 4)) add.push_back(std::move(l));
            at = L.lines.size();
        }
        for (auto& l : add) L.insert(at++, std::move(l));
    } catch (const Manual&) {
        config_error(path_, "cannot edit this layout safely: " + how);
    }
    std::string out = L.join();
    std::vector<RuleView> want = rules_;
    RuleView added;
    added.index = want.size();
    added.path_regex = std::string(path_regex);
    added.age_groups = {{std::string(recipient)}};
    want.push_back(std::move(added));
    check_reads_as(out, path_, want, how);
    return out;
}

std::string SopsYaml::new_file(std::string_view path_regex, std::string_view recipient) {
    return "# Creation rules for sops and git-sops: the first rule whose path_regex matches a file decides\n"
           "# which keys it is encrypted for. Written by `git sops init`; edit freely, comments are kept.\n"
           "creation_rules:\n"
           "  - path_regex: " +
           single_quoted(path_regex) +
           "\n"
           "    encrypted_regex: " +
           single_quoted(kDefaultEncryptedRegex) +
           "\n"
           "    age: " +
           std::string(recipient) + "\n";
}

}  // namespace gitsops::lifecycle
