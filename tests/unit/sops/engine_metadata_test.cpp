// Metadata: every layout sops 3.x wrote, validation, and the 3.13.2 sorted layout.
#include <catch2/catch.hpp>

#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;

namespace {

Node age_entry(std::string_view recipient, std::string_view enc, bool sorted) {
    Node m = Node::mapping();
    if (sorted) {
        m.add("enc", Node::string(enc));
        m.add("recipient", Node::string(recipient));
    } else {
        m.add("recipient", Node::string(recipient));
        m.add("enc", Node::string(enc));
    }
    return m;
}

Node seq(std::initializer_list<Node> e) {
    Node s = Node::sequence();
    for (const auto& x : e) s.elements.push_back(x);
    return s;
}

std::vector<std::string> keys_of(const Node& m) {
    std::vector<std::string> out;
    for (const auto& it : m.items) out.emplace_back(sv(it.key.text));
    return out;
}

constexpr std::string_view kMac = "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]";

}  // namespace

TEST_CASE("engine: metadata of sops 3.9 (empty lists, struct order) parses") {
    Node m = Node::mapping();
    m.add("kms", Node::sequence());
    m.add("gcp_kms", Node::sequence());
    m.add("azure_kv", Node::sequence());
    m.add("hc_vault", Node::sequence());
    m.add("age", seq({age_entry("age1x", "-----BEGIN AGE ENCRYPTED FILE-----\n", false)}));
    m.add("lastmodified", Node::string("2024-11-12T13:33:42Z"));
    m.add("mac", Node::string(kMac));
    m.add("pgp", Node::null_value());
    m.add("encrypted_regex", Node::string("^(data|stringData)$"));
    m.add("version", Node::string("3.9.0"));
    m.add("some_future_key", Node::string("ignored"));
    Metadata md = parse_metadata(m);
    REQUIRE(md.key_groups.size() == 1);
    CHECK(md.key_groups[0].age.size() == 1);
    CHECK(md.key_groups[0].age[0].recipient == "age1x");
    CHECK(md.key_groups[0].others.empty());
    CHECK(md.selector == Selector{SelectorKind::encrypted_regex, "^(data|stringData)$"});
    CHECK(md.version == "3.9.0");
    CHECK(!md.mac_only_encrypted);

    Node out = metadata_node(md);
    CHECK(keys_of(out) == std::vector<std::string>{"age", "encrypted_regex", "lastmodified", "mac", "version"});
    CHECK(keys_of(out.find("age")->elements[0]) == std::vector<std::string>{"enc", "recipient"});
}

TEST_CASE("engine: string-typed values (dotenv, INI) decode weakly; a missing selector is the default") {
    Node m = Node::mapping();
    m.add("age", seq({age_entry("age1x", "e", true)}));
    m.add("lastmodified", Node::string("2024-11-12T13:33:42Z"));
    m.add("mac", Node::string(kMac));
    m.add("mac_only_encrypted", Node::string("true"));
    m.add("shamir_threshold", Node::string("2"));
    m.add("version", Node::string("3.13.2"));
    Metadata md = parse_metadata(m);
    CHECK(md.mac_only_encrypted);
    CHECK(md.shamir_threshold == 2);
    CHECK(md.selector.kind == SelectorKind::none);
    CHECK(md.effective_selector() == default_selector());
    // Written back without a selector (binary files have none).
    CHECK(metadata_node(md).find("unencrypted_suffix") == nullptr);
    CHECK(metadata_node(md).find("mac_only_encrypted")->type == Node::Type::boolean);
}

TEST_CASE("engine: other key types are kept verbatim, sorted, and round-trip") {
    Node pgp = Node::mapping();
    pgp.add("fp", Node::string("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"));
    pgp.add("created_at", Node::string("2023-01-01T00:00:00Z"));
    pgp.add("enc", Node::string("-----BEGIN PGP MESSAGE-----\n"));
    Node m = Node::mapping();
    m.add("age", seq({age_entry("age1x", "e", false)}));
    m.add("pgp", seq({pgp}));
    m.add("lastmodified", Node::string("2024-11-12T13:33:42Z"));
    m.add("mac", Node::string(kMac));
    m.add("unencrypted_suffix", Node::string("_unencrypted"));
    m.add("version", Node::string("3.7.3"));
    Metadata md = parse_metadata(m);
    REQUIRE(md.key_groups[0].others.size() == 1);
    CHECK(md.key_groups[0].others[0].first == "pgp");
    Node out = metadata_node(md);
    CHECK(keys_of(out) ==
          std::vector<std::string>{"age", "lastmodified", "mac", "pgp", "unencrypted_suffix", "version"});
    CHECK(keys_of(out.find("pgp")->elements[0]) == std::vector<std::string>{"created_at", "enc", "fp"});
    CHECK(parse_metadata(out).key_groups[0].others[0].second == *out.find("pgp"));
}

TEST_CASE("engine: key_groups and Shamir threshold") {
    Node g1 = Node::mapping();
    g1.add("age", seq({age_entry("age1a", "e1", false)}));
    Node g2 = Node::mapping();
    g2.add("age", seq({age_entry("age1b", "e2", false)}));
    g2.add("hc_vault", Node::sequence());
    Node m = Node::mapping();
    m.add("shamir_threshold", Node::integer(2));
    m.add("key_groups", seq({g1, g2}));
    m.add("lastmodified", Node::string("2024-11-12T13:33:42Z"));
    m.add("mac", Node::string(kMac));
    m.add("version", Node::string("3.8.1"));
    Metadata md = parse_metadata(m);
    REQUIRE(md.key_groups.size() == 2);
    CHECK(md.shamir_threshold == 2);
    CHECK(md.age_recipients() == std::vector<std::string>{"age1a", "age1b"});
    Node out = metadata_node(md);
    CHECK(keys_of(out) == std::vector<std::string>{"key_groups", "lastmodified", "mac", "shamir_threshold", "version"});
    CHECK(keys_of(out.find("key_groups")->elements[0]) == std::vector<std::string>{"age", "hc_vault"});
}

TEST_CASE("engine: invalid metadata is rejected") {
    auto base = [] {
        Node m = Node::mapping();
        m.add("age", seq({age_entry("age1x", "e", true)}));
        m.add("lastmodified", Node::string("2024-11-12T13:33:42Z"));
        m.add("mac", Node::string(kMac));
        m.add("version", Node::string("3.13.2"));
        return m;
    };
    CHECK_NOTHROW(parse_metadata(base()));
    CHECK_THROWS(parse_metadata(Node::string("x")));
    Node no_keys = base();
    no_keys.items.erase(no_keys.items.begin());
    CHECK_THROWS(parse_metadata(no_keys));
    Node bad_time = base();
    bad_time.find("lastmodified")->text = to_sstring("yesterday");
    CHECK_THROWS(parse_metadata(bad_time));
    Node two = base();
    two.add("encrypted_regex", Node::string("a"));
    two.add("unencrypted_suffix", Node::string("_u"));
    CHECK_THROWS(parse_metadata(two));
    Node bad_pgp = base();
    Node pgp = Node::mapping();
    pgp.add("fp", Node::string("x"));
    bad_pgp.add("pgp", seq({pgp}));  // created_at missing: sops cannot parse it either
    CHECK_THROWS(parse_metadata(bad_pgp));
}

TEST_CASE("engine: new metadata records the default selector, except for binary files") {
    Metadata yaml = new_metadata(Format::yaml, Selector{}, false, {}, 0);
    CHECK(yaml.selector == default_selector());
    CHECK(yaml.version == "3.13.2");
    Metadata bin = new_metadata(Format::binary, Selector{SelectorKind::encrypted_regex, "x"}, true, {}, 0);
    CHECK(bin.selector.kind == SelectorKind::none);
    CHECK(!bin.mac_only_encrypted);
    SelectorSettings s;
    s.encrypted_regex = "a";
    s.encrypted_suffix = "b";
    try {
        selector_from(s, exit_code::conflicting_options);
        FAIL("two selectors accepted");
    } catch (const Error& e) {
        CHECK(e.code() == exit_code::conflicting_options);
    }
}
