// Reports: text lines, JSON that always parses (hostile paths included), and the SARIF 2.1.0
// shape code scanning needs. The engine's own JSON store reads the output back.
#include <catch2/catch.hpp>

#include "base/error.hpp"
#include "policy/report.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::policy;

namespace {

sops::Node parse_json(const std::string& text) {
    auto docs = sops::make_store(sops::Format::json)->load_plain(text);
    REQUIRE(docs.size() == 1);
    return docs[0];
}

std::string str(const sops::Node* n) {
    REQUIRE(n);
    REQUIRE(n->type == sops::Node::Type::string);
    return std::string(sops::sv(n->text));
}

std::vector<Occurrence> sample() {
    Finding secret{FindingKind::plaintext_secret, Severity::error, "apps/all.yaml", 2, "stringData.password",
                   "a Kubernetes Secret holds this value in clear", "encrypt it"};
    Finding drift{FindingKind::recipient_drift, Severity::warning, "we\"ird\\ \x01 p\xffth.yaml", -1, "sops",
                  "recipients differ", "updatekeys"};
    Finding key{FindingKind::private_key, Severity::error, "k.txt", -1, "", "OpenSSH private key at line 3", "remove",
                3};
    return {Occurrence{secret, "0123456789abcdef0123456789abcdef01234567", "Add db"}, Occurrence{drift, "", ""},
            Occurrence{key, "", ""}};
}

}  // namespace

TEST_CASE("report: text lines carry severity, commit and the finding") {
    auto text = render_text(sample(), "GL-HOOK-ERR: ");
    CHECK(text.find("GL-HOOK-ERR: error: commit 0123456789ab (Add db): apps/all.yaml:doc 3: stringData.password: ") !=
          std::string::npos);
    CHECK(text.find("GL-HOOK-ERR: warning: we") != std::string::npos);
    auto t = tally(sample());
    CHECK(t.errors == 2);
    CHECK(t.warnings == 1);
}

TEST_CASE("report: JSON parses, escapes and counts") {
    auto root = parse_json(render_json(sample()));
    const sops::Node* findings = root.find("findings");
    REQUIRE(findings);
    REQUIRE(findings->elements.size() == 3);
    const auto& first = findings->elements[0];
    CHECK(str(first.find("kind")) == "plaintext-secret");
    CHECK(first.find("document_index")->i == 2);
    CHECK(str(first.find("commit")) == "0123456789abcdef0123456789abcdef01234567");
    CHECK(str(findings->elements[1].find("path")) == "we\"ird\\ \x01 p\xEF\xBF\xBDth.yaml");
    CHECK(findings->elements[1].find("document_index") == nullptr);
    CHECK(findings->elements[2].find("line")->i == 3);
    CHECK(root.find("errors")->i == 2);
    CHECK(root.find("warnings")->i == 1);
    CHECK(parse_json(render_json({})).find("findings")->elements.empty());
}

TEST_CASE("report: SARIF 2.1.0 shape") {
    auto root = parse_json(render_sarif(sample(), "1.2.3"));
    CHECK(str(root.find("version")) == "2.1.0");
    const sops::Node* runs = root.find("runs");
    REQUIRE(runs);
    REQUIRE(runs->elements.size() == 1);
    const auto& run = runs->elements[0];
    const sops::Node* driver = run.find("tool")->find("driver");
    CHECK(str(driver->find("name")) == "git-sops");
    const auto& rules = driver->find("rules")->elements;
    REQUIRE(rules.size() == 5);
    const auto& results = run.find("results")->elements;
    REQUIRE(results.size() == 3);
    for (const auto& r : results) {
        std::string id = str(r.find("ruleId"));
        auto index = static_cast<std::size_t>(r.find("ruleIndex")->i);
        REQUIRE(index < rules.size());
        CHECK(str(rules[index].find("id")) == id);
        std::string level = str(r.find("level"));
        CHECK((level == "error" || level == "warning"));
        CHECK_FALSE(str(r.find("message")->find("text")).empty());
        const auto& loc = r.find("locations")->elements.at(0).find("physicalLocation");
        CHECK_FALSE(str(loc->find("artifactLocation")->find("uri")).empty());
        CHECK(loc->find("region")->find("startLine")->i >= 1);
    }
    CHECK(str(results[1].find("locations")->elements[0].find("physicalLocation")->find("artifactLocation")->find(
              "uri")) == "we%22ird%5C%20%01%20p%FFth.yaml");
    CHECK(results[2].find("locations")->elements[0].find("physicalLocation")->find("region")->find("startLine")->i == 3);
    CHECK(run.find("results")->elements.size() == 3);
    CHECK(parse_json(render_sarif({}, "1")).find("runs")->elements[0].find("results")->elements.empty());
}

TEST_CASE("report: format names") {
    CHECK(parse_report_format("sarif") == ReportFormat::sarif);
    CHECK(parse_report_format("json") == ReportFormat::json);
    CHECK(parse_report_format("text") == ReportFormat::text);
    try {
        parse_report_format("xml");
        FAIL("accepted xml");
    } catch (const Error& e) {
        CHECK(e.code() == exit_code::usage);
    }
}
