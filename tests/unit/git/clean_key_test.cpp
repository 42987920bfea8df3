// The filter's wrapped data keys: the spare made while git works (FilterContext::prepare_next_key)
// is a fresh key like any other, used once, and only for the recipients it was made for.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "git/clean.hpp"

using namespace gitsops;
using namespace gitsops::git;

namespace {

struct Key {
    age::X25519Keypair pair = age::generate_x25519();
    age::Identities identities() const { return age::parse_identity_file(pair.identity, "test identity"); }
};

sops::CreationRule rule_for(std::vector<std::vector<std::string>> groups, int threshold = 0) {
    sops::CreationRule rule;
    rule.age_groups = std::move(groups);
    rule.shamir_threshold = threshold;
    return rule;
}

std::vector<std::string> recipients_of(const FilterContext::WrappedKey& k) {
    std::vector<std::string> out;
    for (const auto& g : k.groups)
        for (const auto& e : g.age) out.push_back(e.recipient);
    return out;
}

// The key the wrapped entries give `who`, as a reader of the file would unwrap it.
sops::DataKey opened_by(const FilterContext::WrappedKey& k, const Key& who) {
    sops::Metadata md = sops::new_metadata(sops::Format::yaml, sops::Selector{}, false, k.groups, k.threshold);
    sops::FixedIdentities ids(who.identities());
    return sops::get_data_key(md, ids);
}

bool same(const sops::DataKey& a, const sops::DataKey& b) { return std::equal(a.data(), a.data() + 32, b.data()); }

}  // namespace

TEST_CASE("filter keys: the spare serves the next file of the same rule, once, and opens like a new key") {
    Key a;
    const auto rule = rule_for({{a.pair.recipient}});
    FilterContext context;  // no repository needed: keys are made from the rule alone
    context.prepare_next_key();  // nothing encrypted yet: no recipients to make a spare for
    CHECK_FALSE(context.has_spare_key());

    std::vector<sops::DataKey> seen;
    for (int i = 0; i < 4; ++i) {
        const auto k = context.new_wrapped_key(rule);
        CHECK(recipients_of(k) == std::vector<std::string>{a.pair.recipient});
        CHECK(same(opened_by(k, a), k.key));
        for (const auto& earlier : seen) CHECK_FALSE(same(earlier, k.key));
        seen.push_back(k.key);
        CHECK_FALSE(context.has_spare_key());  // taken (or never made): each key serves one file
        if (i % 2 == 0) context.prepare_next_key();
        context.prepare_next_key();  // twice: still one spare, not a second one held back
        CHECK(context.has_spare_key());
    }
}

TEST_CASE("filter keys: a spare made for other recipients or another threshold is never used") {
    Key a, b, c;
    const auto for_a = rule_for({{a.pair.recipient}});
    const auto for_b = rule_for({{b.pair.recipient}});
    const auto all_three = rule_for({{a.pair.recipient}, {b.pair.recipient}, {c.pair.recipient}}, 3);
    const auto two_of_three = rule_for({{a.pair.recipient}, {b.pair.recipient}, {c.pair.recipient}}, 2);
    FilterContext context;

    (void)context.new_wrapped_key(for_a);
    context.prepare_next_key();  // made for a
    REQUIRE(context.has_spare_key());
    const auto kb = context.new_wrapped_key(for_b);
    CHECK_FALSE(context.has_spare_key());  // dropped, not kept for a later file of rule a
    CHECK(recipients_of(kb) == std::vector<std::string>{b.pair.recipient});
    CHECK(same(opened_by(kb, b), kb.key));
    CHECK_THROWS(opened_by(kb, a));

    context.prepare_next_key();  // made for b
    const auto k3 = context.new_wrapped_key(all_three);
    CHECK(k3.threshold == 3);
    CHECK(recipients_of(k3) == std::vector<std::string>{a.pair.recipient, b.pair.recipient, c.pair.recipient});

    context.prepare_next_key();  // made for three groups, threshold 3
    const auto k2 = context.new_wrapped_key(two_of_three);
    CHECK(k2.threshold == 2);
    // Shares made for threshold 2: a file readers open with any two of the three groups' keys.
    sops::Metadata md = sops::new_metadata(sops::Format::yaml, sops::Selector{}, false, k2.groups, k2.threshold);
    age::Identities two = a.identities();
    for (auto& id : c.identities()) two.push_back(std::move(id));
    sops::FixedIdentities ids(std::move(two));
    CHECK(same(sops::get_data_key(md, ids), k2.key));
}
