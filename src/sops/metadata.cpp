// The `sops` metadata block (stores/stores.go, stores/metadata.go).
//
// Reading follows sops' mapstructure decode with weakly typed input: orders do not matter,
// unknown keys are ignored, a list may be absent, `null` or `[]`, and dotenv/INI deliver every
// value as a string ("2", "true"). Writing follows sops 3.13: every mapping's keys sorted
// byte-wise, empty lists omitted (but `age` and `hc_vault` always present inside key groups).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "sops/go_format.hpp"
#include "sops/sops.hpp"

namespace gitsops::sops {

namespace {

constexpr int kBadInput = exit_code::could_not_read_input;

// Key types git-sops carries but cannot use (in sops' metadata struct order).
constexpr std::string_view kOtherKeyTypes[] = {"kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp"};

[[noreturn]] void fail(std::string what) { throw Error("sops metadata: " + what, kBadInput); }

// mapstructure's weak decoding into a string.
std::string weak_string(const Node* n, std::string_view field) {
    if (!n) return {};
    switch (n->type) {
        case Node::Type::null:
            return {};
        case Node::Type::string:
        case Node::Type::time:
            return std::string(sv(n->text));
        case Node::Type::integer:
            return std::to_string(n->i);
        case Node::Type::floating:
            return format_float_f(n->f);
        case Node::Type::boolean:
            return n->b ? "1" : "0";
        default:
            fail(std::string(field) + " must be a string");
    }
}

int weak_int(const Node* n, std::string_view field) {
    if (!n) return 0;
    switch (n->type) {
        case Node::Type::null:
            return 0;
        case Node::Type::integer:
            return static_cast<int>(n->i);
        case Node::Type::floating:
            return static_cast<int>(n->f);
        case Node::Type::boolean:
            return n->b ? 1 : 0;
        case Node::Type::string: {
            std::string_view s = sv(n->text);
            if (s.empty()) return 0;
            int v = 0;
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
            if (ec == std::errc() && end == s.data() + s.size()) return v;
            fail(std::string(field) + " must be an integer");
        }
        default:
            fail(std::string(field) + " must be an integer");
    }
}

bool weak_bool(const Node* n, std::string_view field) {
    if (!n) return false;
    switch (n->type) {
        case Node::Type::null:
            return false;
        case Node::Type::boolean:
            return n->b;
        case Node::Type::integer:
            return n->i != 0;
        case Node::Type::floating:
            return n->f != 0;
        case Node::Type::string: {
            std::string_view s = sv(n->text);
            if (s.empty() || s == "0" || s == "f" || s == "F" || s == "false" || s == "False" || s == "FALSE")
                return false;
            if (s == "1" || s == "t" || s == "T" || s == "true" || s == "True" || s == "TRUE") return true;
            fail(std::string(field) + " must be a boolean");
        }
        default:
            fail(std::string(field) + " must be a boolean");
    }
}

// The last item with this key wins, as when sops turns the mapping into a Go map.
const Node* field(const Node& mapping, std::string_view key) {
    const Node* found = nullptr;
    for (const auto& it : mapping.items)
        if (!it.is_comment() && sv(it.key.text) == key) found = &it.value;
    return found;
}

// A list field: absent/null -> empty; a single mapping counts as a one-element list.
std::vector<const Node*> list_field(const Node& mapping, std::string_view key) {
    const Node* n = field(mapping, key);
    std::vector<const Node*> out;
    if (!n || n->type == Node::Type::null) return out;
    if (n->type == Node::Type::mapping) {
        out.push_back(n);
        return out;
    }
    if (n->type != Node::Type::sequence) fail(std::string(key) + " must be a list");
    for (const auto& e : n->elements)
        if (!e.is_comment()) out.push_back(&e);
    return out;
}

AgeEntry parse_age_entry(const Node& n) {
    if (n.type != Node::Type::mapping) fail("age entry must be a mapping");
    return AgeEntry{weak_string(field(n, "recipient"), "recipient"), weak_string(field(n, "enc"), "enc")};
}

// Entries of other key types are kept as nodes; sops requires their created_at to be RFC 3339.
Node parse_other_entries(std::string_view type, const std::vector<const Node*>& entries) {
    Node seq = Node::sequence();
    for (const Node* e : entries) {
        if (e->type != Node::Type::mapping) fail(std::string(type) + " entry must be a mapping");
        normalize_lastmodified(weak_string(field(*e, "created_at"), "created_at"));
        seq.elements.push_back(*e);
    }
    return seq;
}

KeyGroup parse_group(const Node& mapping) {
    KeyGroup g;
    for (const Node* e : list_field(mapping, "age")) g.age.push_back(parse_age_entry(*e));
    for (auto type : kOtherKeyTypes) {
        auto entries = list_field(mapping, type);
        if (!entries.empty()) g.others.emplace_back(std::string(type), parse_other_entries(type, entries));
    }
    return g;
}

Selector parse_selector(const Node& m) {
    SelectorSettings s;
    s.unencrypted_suffix = weak_string(field(m, "unencrypted_suffix"), "unencrypted_suffix");
    s.encrypted_suffix = weak_string(field(m, "encrypted_suffix"), "encrypted_suffix");
    s.unencrypted_regex = weak_string(field(m, "unencrypted_regex"), "unencrypted_regex");
    s.encrypted_regex = weak_string(field(m, "encrypted_regex"), "encrypted_regex");
    s.unencrypted_comment_regex = weak_string(field(m, "unencrypted_comment_regex"), "unencrypted_comment_regex");
    s.encrypted_comment_regex = weak_string(field(m, "encrypted_comment_regex"), "encrypted_comment_regex");
    return selector_from(s, kBadInput);
}

// A copy whose mappings have their keys sorted byte-wise at every level (sops 3.13 goToSops).
Node sorted_deep(const Node& n) {
    Node out = n;
    if (out.type == Node::Type::mapping) {
        std::erase_if(out.items, [](const MapItem& it) { return it.is_comment(); });
        for (auto& it : out.items) it.value = sorted_deep(it.value);
        std::stable_sort(out.items.begin(), out.items.end(),
                         [](const MapItem& a, const MapItem& b) { return sv(a.key.text) < sv(b.key.text); });
    } else if (out.type == Node::Type::sequence) {
        std::erase_if(out.elements, [](const Node& e) { return e.is_comment(); });
        for (auto& e : out.elements) e = sorted_deep(e);
    }
    return out;
}

Node age_list(const std::vector<AgeEntry>& entries) {
    Node seq = Node::sequence();
    for (const auto& e : entries) {
        Node m = Node::mapping();
        m.add("enc", Node::string(e.enc));
        m.add("recipient", Node::string(e.recipient));
        seq.elements.push_back(std::move(m));
    }
    return seq;
}

Node sorted_mapping(std::vector<std::pair<std::string, Node>> items) {
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Node m = Node::mapping();
    for (auto& [k, v] : items) m.add(k, std::move(v));
    return m;
}

// The per-type lists of one group. Inside key_groups sops always writes `age` and `hc_vault`.
void add_group_lists(std::vector<std::pair<std::string, Node>>& items, const KeyGroup& g, bool in_key_groups) {
    if (!g.age.empty() || in_key_groups) items.emplace_back("age", age_list(g.age));
    bool have_vault = false;
    for (const auto& [type, seq] : g.others) {
        if (seq.elements.empty()) continue;
        have_vault = have_vault || type == "hc_vault";
        items.emplace_back(type, sorted_deep(seq));
    }
    if (in_key_groups && !have_vault) items.emplace_back("hc_vault", Node::sequence());
}

// ---- RFC 3339 ----------------------------------------------------------------------------------

struct Rfc3339 {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    int offset_minutes = 0;
};

bool digits(std::string_view s, std::size_t n, int& out) {
    if (s.size() < n) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}

int days_in_month(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

// Go time.Parse(time.RFC3339, s): 4-digit year, 2-digit month/day/minute/second, a 1- or
// 2-digit hour, an optional fraction after the seconds, then Z or ±hh:mm.
std::optional<Rfc3339> parse_rfc3339(std::string_view s) {
    Rfc3339 t;
    if (!digits(s, 4, t.year) || s.size() < 5 || s[4] != '-') return std::nullopt;
    s.remove_prefix(5);
    if (!digits(s, 2, t.month) || s.size() < 3 || s[2] != '-') return std::nullopt;
    s.remove_prefix(3);
    if (!digits(s, 2, t.day) || s.size() < 3 || s[2] != 'T') return std::nullopt;
    s.remove_prefix(3);
    std::size_t hour_len = s.size() > 1 && s[1] >= '0' && s[1] <= '9' ? 2 : 1;
    if (!digits(s, hour_len, t.hour) || s.size() < hour_len + 1 || s[hour_len] != ':') return std::nullopt;
    s.remove_prefix(hour_len + 1);
    if (!digits(s, 2, t.minute) || s.size() < 3 || s[2] != ':') return std::nullopt;
    s.remove_prefix(3);
    if (!digits(s, 2, t.second)) return std::nullopt;
    s.remove_prefix(2);
    if (!s.empty() && (s[0] == '.' || s[0] == ',') && s.size() > 1 && s[1] >= '0' && s[1] <= '9') {
        s.remove_prefix(1);
        while (!s.empty() && s[0] >= '0' && s[0] <= '9') s.remove_prefix(1);
    }
    if (s == "Z") {
        t.offset_minutes = 0;
    } else {
        int hh = 0, mm = 0;
        if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !digits(s.substr(1), 2, hh) ||
            !digits(s.substr(4), 2, mm) || hh > 24 || mm > 60)
            return std::nullopt;
        t.offset_minutes = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    }
    if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month) || t.hour > 23 ||
        t.minute > 59 || t.second > 59)
        return std::nullopt;
    return t;
}

}  // namespace

std::size_t KeyGroup::key_count() const {
    std::size_t n = age.size();
    for (const auto& [type, seq] : others) n += seq.elements.size();
    return n;
}

Selector Metadata::effective_selector() const {
    return selector.kind == SelectorKind::none ? default_selector() : selector;
}

std::vector<std::string> Metadata::age_recipients() const {
    std::vector<std::string> out;
    for (const auto& g : key_groups)
        for (const auto& e : g.age) out.push_back(e.recipient);
    return out;
}

std::string normalize_lastmodified(std::string_view text) {
    auto t = parse_rfc3339(text);
    if (!t) throw Error("sops metadata: \"" + std::string(text) + "\" is not an RFC 3339 time", kBadInput);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", t->year, t->month, t->day, t->hour,
                          t->minute, t->second);
    std::string out(buf, static_cast<std::size_t>(n));
    if (t->offset_minutes == 0) {
        out += 'Z';
    } else {
        int m = t->offset_minutes < 0 ? -t->offset_minutes : t->offset_minutes;
        n = std::snprintf(buf, sizeof buf, "%c%02d:%02d", t->offset_minutes < 0 ? '-' : '+', m / 60, m % 60);
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::string now_lastmodified() {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[32];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(buf, n);
}

Metadata parse_metadata(const Node& m) {
    if (m.type != Node::Type::mapping) fail("the sops entry is not a mapping");
    Metadata md;
    md.lastmodified = weak_string(field(m, "lastmodified"), "lastmodified");
    normalize_lastmodified(md.lastmodified);
    md.mac = weak_string(field(m, "mac"), "mac");
    md.version = weak_string(field(m, "version"), "version");
    md.shamir_threshold = weak_int(field(m, "shamir_threshold"), "shamir_threshold");
    md.mac_only_encrypted = weak_bool(field(m, "mac_only_encrypted"), "mac_only_encrypted");
    md.selector = parse_selector(m);

    // Top-level lists win over key_groups when both are present (stores.go internalKeygroups).
    KeyGroup top = parse_group(m);
    if (top.key_count() > 0) {
        md.key_groups.push_back(std::move(top));
    } else {
        for (const Node* g : list_field(m, "key_groups")) {
            if (g->type != Node::Type::mapping) fail("key group must be a mapping");
            md.key_groups.push_back(parse_group(*g));
        }
    }
    if (md.key_groups.empty()) fail("no keys found in file");
    return md;
}

Node metadata_node(const Metadata& md) {
    std::vector<std::pair<std::string, Node>> items;
    if (md.key_groups.size() == 1) {
        add_group_lists(items, md.key_groups[0], false);
    } else {
        Node groups = Node::sequence();
        for (const auto& g : md.key_groups) {
            std::vector<std::pair<std::string, Node>> group_items;
            add_group_lists(group_items, g, true);
            groups.elements.push_back(sorted_mapping(std::move(group_items)));
        }
        items.emplace_back("key_groups", std::move(groups));
    }
    if (md.shamir_threshold > 0) items.emplace_back("shamir_threshold", Node::integer(md.shamir_threshold));
    items.emplace_back("lastmodified", Node::string(md.lastmodified));
    items.emplace_back("mac", Node::string(md.mac));
    if (md.selector.kind != SelectorKind::none)
        items.emplace_back(std::string(selector_name(md.selector.kind)), Node::string(md.selector.pattern));
    if (md.mac_only_encrypted) items.emplace_back("mac_only_encrypted", Node::boolean(true));
    items.emplace_back("version", Node::string(md.version));
    return sorted_mapping(std::move(items));
}

}  // namespace gitsops::sops
