// The pieces of the kubectl dialogue that need no cluster: reading `get secret -o json`, the
// merge patch written to kubectl's stdin, and kubectl's error lines with key material withheld.
#include <catch2/catch.hpp>

#include <string>

#include "base/error.hpp"
#include "crypto/crypto.hpp"
#include "keys/cluster.hpp"

using namespace gitsops;
using namespace gitsops::keys;

namespace {

const std::string kKey = "AGE-SECRET-KEY-1UANWAJWJ33HRACAPF47X5MVWDLRSKZ7FY3VU57QZSGU0R8YRMSDSV3QLLJ\n";

std::string b64(std::string_view s) { return crypto::base64_encode(bytes_of(s), true); }

SecretEntries parse(const std::string& json) { return cluster_detail::parse_secret_json(bytes_of(json)); }

}  // namespace

TEST_CASE("kubectl get secret -o json: the data entries, decoded") {
    const std::string json = "{\n"
                             "    \"apiVersion\": \"v1\",\n"
                             "    \"data\": {\n"
                             "        \"age.agekey\": \"" + b64(kKey) + "\",\n"
                             "        \"age-old.agekey\": \"" + b64("old\n") + "\"\n"
                             "    },\n"
                             "    \"kind\": \"Secret\",\n"
                             "    \"metadata\": {\"annotations\": {\"note\": \"a \\\"quoted\\\" \\u003cvalue\\u003e\"},\n"
                             "                 \"finalizers\": [], \"managedFields\": [{\"a\": [1, 2.5, true, null]}],\n"
                             "                 \"name\": \"sops-age\", \"namespace\": \"flux-system\"},\n"
                             "    \"type\": \"Opaque\"\n"
                             "}\n";
    SecretEntries e = parse(json);
    REQUIRE(e.size() == 2);
    CHECK(view_of(e.at("age.agekey")) == kKey);
    CHECK(view_of(e.at("age-old.agekey")) == "old\n");
    CHECK(parse("{\"kind\":\"Secret\"}").empty());
    CHECK(parse("{\"data\":{}}").empty());
}

TEST_CASE("a Secret kubectl printed wrongly is an error that quotes nothing of it") {
    CHECK_THROWS_AS(parse(""), Error);
    CHECK_THROWS_AS(parse("{\"data\":{\"a\":\"!!!\"}}"), Error);
    CHECK_THROWS_AS(parse("{\"data\":{\"a\":\"QUJD\""), Error);
    CHECK_THROWS_AS(parse("[1]"), Error);
    CHECK_THROWS_WITH(parse("{\"data\":{\"age.agekey\":\"" + b64(kKey) + "}"),
                      !Catch::Contains("AGE-SECRET-KEY") && !Catch::Contains(b64(kKey).substr(0, 20)));
}

TEST_CASE("the merge patch sets and removes entries") {
    std::vector<Cluster::EntryChange> changes;
    changes.push_back({"age.agekey", secure_copy(kKey)});
    changes.push_back({"age-old.agekey", std::nullopt});
    SecureBytes patch = cluster_detail::merge_patch(changes);
    CHECK(view_of(patch) == "{\"data\":{\"age.agekey\":\"" + b64(kKey) + "\",\"age-old.agekey\":null}}");
    std::vector<Cluster::EntryChange> bad;
    bad.push_back({"a\"b", std::nullopt});
    CHECK_THROWS_AS(cluster_detail::merge_patch(bad), Error);
}

TEST_CASE("kubectl's error line, with key material withheld") {
    CHECK(cluster_detail::error_line("\n  Error from server (Forbidden): no\r\nsecond\n", {}) ==
          "  Error from server (Forbidden): no");
    CHECK(cluster_detail::error_line("", {}) == "kubectl gave no reason");
    const std::span<const std::uint8_t> secrets[] = {bytes_of(kKey)};
    CHECK(cluster_detail::error_line("error: bad data " + b64(kKey), secrets).find("withheld") != std::string::npos);
    CHECK(cluster_detail::error_line("invalid: age-secret-key-1abc", {}).find("withheld") != std::string::npos);
    CHECK(cluster_detail::error_line("error: refused", secrets) == "error: refused");
}
