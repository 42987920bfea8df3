// The classifier, table-driven: every case is a blob, a path, an optional .sops.yaml and the
// exact findings expected (kind, severity, document, key path). Every case also proves that no
// secret value reaches a message: the secrets in the inputs all contain "SECRETVALUE".
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "base/io.hpp"
#include "base/secure.hpp"
#include "policy/policy.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::policy;
namespace fs = std::filesystem;

namespace {

const fs::path kSet = fs::path(GITSOPS_SHARED) / "fixtures" / "sops-3.13.2";
const fs::path kReal = fs::path(GITSOPS_SHARED) / "fixtures" / "sops-age-real";
constexpr const char* kR1 = "age1g74wj3g2m2l2x37frsn6q0efutcsl2zgrt0uwv9r64dpsawaughq5lxmhp";
constexpr const char* kR2 = "age1t8l9y8ex3av75rasg43wzwshvn27dtegs2m27pxp78pj6yq5fdxqzujd4e";
constexpr std::string_view kLeakMarker = "SECRETVALUE";

using F = FindingKind;
constexpr auto E = Severity::error;
constexpr auto W = Severity::warning;

struct Expect {
    FindingKind kind;
    Severity severity;
    int document;
    std::string key_path;
    auto tie() const { return std::tie(kind, severity, document, key_path); }
    bool operator<(const Expect& o) const { return tie() < o.tie(); }
    bool operator==(const Expect& o) const { return tie() == o.tie(); }
};

std::string describe(const std::vector<Expect>& v) {
    std::string out;
    for (const auto& e : v)
        out += std::string(kind_name(e.kind)) + (e.severity == E ? "/error" : "/warning") + " doc " +
               std::to_string(e.document) + " [" + e.key_path + "]\n";
    return out.empty() ? "(none)\n" : out;
}

// Routes `secrets/` through Kubernetes-style partial encryption for the first recipient and
// `clusters/staging/*.enc.yaml` through full encryption for the second.
const sops::Config& repo_config() {
    static const sops::Config config = sops::Config::parse(std::string("creation_rules:\n"
                                                                       "  - path_regex: ^secrets/\n"
                                                                       "    encrypted_regex: ^(data|stringData)$\n"
                                                                       "    age: ") +
                                                               kR1 +
                                                               "\n"
                                                               "  - path_regex: ^clusters/staging/.*\\.enc\\.yaml$\n"
                                                               "    age: " +
                                                               kR2 + "\n",
                                                           ".sops.yaml");
    return config;
}

std::string encrypt(std::string_view plain, sops::SelectorSettings selectors, std::vector<std::string> recipients,
                    sops::Format format = sops::Format::yaml) {
    init_sodium();
    sops::CreationRule rule;
    rule.age_groups = {std::move(recipients)};
    rule.selectors = std::move(selectors);
    return sops::encrypt_plaintext(plain, rule, format, format, {}, {});
}

sops::SelectorSettings kube_regex() {
    sops::SelectorSettings s;
    s.encrypted_regex = "^(data|stringData)$";
    return s;
}

// Replaces the value on the first line that starts (after indentation) with `key: `.
std::string set_line_value(std::string text, std::string_view key, std::string_view value) {
    std::string needle = std::string(key) + ": ";
    std::size_t at = 0;
    while ((at = text.find(needle, at)) != std::string::npos) {
        std::size_t line_start = text.rfind('\n', at);
        line_start = line_start == std::string::npos ? 0 : line_start + 1;
        if (text.find_first_not_of(' ', line_start) == at) break;
        at += needle.size();
    }
    REQUIRE(at != std::string::npos);
    std::size_t start = at + needle.size();
    std::size_t end = text.find('\n', start);
    return text.replace(start, end - start, value);
}

std::string drop_line(std::string text, std::string_view starts_with) {
    std::size_t at = text.find(std::string("\n") + std::string(starts_with));
    REQUIRE(at != std::string::npos);
    std::size_t end = text.find('\n', at + 1);
    return text.erase(at, end - at);
}

std::string read(const fs::path& p) { return io::read_file(p); }

// The ENC[...] of the first line holding `key: ENC[`, to break it in a controlled way.
std::string break_enc(std::string text, std::string_view key, std::string_view from, std::string_view to) {
    std::size_t at = text.find(std::string(key) + ": ENC[");
    REQUIRE(at != std::string::npos);
    std::size_t f = text.find(from, at);
    REQUIRE(f != std::string::npos);
    return text.replace(f, from.size(), to);
}

const std::string kPlainSecret = R"(apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  username: admin
  password: hunter2-SECRETVALUE
)";

const std::string kConfigMap = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  LOG_LEVEL: debug
  note: "Secret rotation happens weekly; sops handles it"
)";

const std::string kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: db, key: password}
      imagePullSecrets: [{name: registry}]
)";

std::string ssh_key() { return read(kSet / "ssh_ed25519"); }
std::string age_key_line() {
    std::istringstream in(read(kSet / "key.txt"));
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("AGE-SECRET-KEY-")) return line;
    FAIL("no key in key.txt");
    return {};
}

std::string indent(std::string_view text, std::string_view by) {
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        out.append(by).append(text.substr(start, end - start)).push_back('\n');
        start = end + 1;
    }
    return out;
}

const std::string kRsaBody =
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";

struct Case {
    std::string name;
    std::string path;
    std::string content;
    bool with_config = true;
    bool strict = false;
    std::vector<Expect> expected;
};

std::vector<Case> cases() {
    const std::string enc_secret = encrypt(kPlainSecret, kube_regex(), {kR1});
    const std::string enc_full = encrypt(kPlainSecret, {}, {kR2});
    const std::string enc_cm = encrypt(kConfigMap, {}, {kR2});
    const std::string two_recipients = encrypt(kPlainSecret, kube_regex(), {kR1, kR2});
    const std::string enc_json =
        encrypt(read(kSet / "plain" / "secret.json"), kube_regex(), {kR1}, sops::Format::json);
    const std::string marked = read(kSet / "enc" / "marked.enccomment.yaml");
    const std::string key = ssh_key();

    std::vector<Case> v;
    // ---- 1. plaintext Kubernetes Secrets -----------------------------------------------------
    v.push_back({"stringData in clear", "apps/db.yaml", kPlainSecret, true, false,
                 {{F::plaintext_secret, E, -1, "stringData.username"},
                  {F::plaintext_secret, E, -1, "stringData.password"}}});
    v.push_back({"data in clear", "apps/db.yaml",
                 "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata:\n  token: U0VDUkVUVkFMVUUtdG9rZW4=\n",
                 true, false, {{F::plaintext_secret, E, -1, "data.token"}}});
    v.push_back({"kind double-quoted", "apps/db.yaml",
                 "apiVersion: v1\nkind: \"Secret\"\nstringData:\n  pw: SECRETVALUE-1\n", true, false,
                 {{F::plaintext_secret, E, -1, "stringData.pw"}}});
    v.push_back({"kind single-quoted", "apps/db.yml", "kind: 'Secret'\nstringData:\n  pw: SECRETVALUE-1\n", true,
                 false, {{F::plaintext_secret, E, -1, "stringData.pw"}}});
    v.push_back({"kind spelt with a JSON \\u escape", "apps/db.json",
                 R"({"kind":"\u0053ecret","stringData":{"pw":"SECRETVALUE-1"}})", true, false,
                 {{F::plaintext_secret, E, -1, "stringData.pw"}}});
    v.push_back({"kind spelt with YAML \\x and \\u escapes", "apps/db.yaml",
                 "apiVersion: v1\nkind: \"Secr\\x65t\"\nstringData:\n  pw: SECRETVALUE-1\n---\n\"\\u006bind\": "
                 "\"\\u0053ecret\"\ndata:\n  k: U0VDUkVUVkFMVUU=\n",
                 true, false, {{F::plaintext_secret, E, 0, "stringData.pw"}, {F::plaintext_secret, E, 1, "data.k"}}});
    v.push_back({"kind folded over an escaped line break", "apps/db.yaml",
                 "kind: \"Sec\\\n  ret\"\nstringData:\n  pw: SECRETVALUE-1\n", true, false,
                 {{F::plaintext_secret, E, -1, "stringData.pw"}}});
    v.push_back({"a backslash alone is no finding", "apps/cm.yaml",
                 "kind: ConfigMap\ndata:\n  re: \"a\\\\d+\"\n", true, false, {}});
    v.push_back({"kustomize secretGenerator literals in clear", "apps/kustomization.yaml",
                 "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nsecretGenerator:\n"
                 "  - name: db\n    envs: [db.env]\n  - name: api\n    literals:\n      - user=admin\n"
                 "      - 'token=\"SECRETVALUE-2\"'\n      - empty=\n      - sealed=ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n",
                 true, false,
                 {{F::plaintext_secret, E, -1, "secretGenerator[1].literals[0]"},
                  {F::plaintext_secret, E, -1, "secretGenerator[1].literals[1]"}}});
    v.push_back({"Secret third of three documents", "apps/all.yaml",
                 kConfigMap + "---\n" + kDeployment + "---\n" + kPlainSecret, true, false,
                 {{F::plaintext_secret, E, 2, "stringData.username"},
                  {F::plaintext_secret, E, 2, "stringData.password"}}});
    v.push_back({"leading --- and a Secret third", "apps/all.yaml",
                 "---\n" + kConfigMap + "---\n" + kConfigMap + "---\nkind: Secret\ndata:\n  k: U0VDUkVUVkFMVUU=\n",
                 true, false, {{F::plaintext_secret, E, 2, "data.k"}}});
    v.push_back({"JSON Secret", "apps/oauth.json", read(kSet / "plain" / "secret.json"), true, false,
                 {{F::plaintext_secret, E, -1, "stringData.client_id"},
                  {F::plaintext_secret, E, -1, "stringData.client_secret"},
                  {F::plaintext_secret, E, -1, "data.ca.crt"}}});
    v.push_back({"JSON List of Secrets", "apps/list.json",
                 R"({"apiVersion":"v1","kind":"List","items":[
                      {"kind":"ConfigMap","data":{"a":"b"}},
                      {"kind":"Secret","stringData":{"pw":"SECRETVALUE"}}]})",
                 true, false, {{F::plaintext_secret, E, -1, "items[1].stringData.pw"}}});
    v.push_back({"YAML List: one sealed Secret, one in clear", "apps/list.yaml",
                 "kind: List\nitems:\n"
                 "  - kind: Secret\n    data:\n      a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n"
                 "  - kind: Secret\n    data:\n      b: U0VDUkVUVkFMVUU=\n",
                 true, false, {{F::plaintext_secret, E, -1, "items[1].data.b"}}});
    v.push_back({"SecretList", "apps/list.yaml", "kind: SecretList\nitems:\n  - kind: Secret\n    stringData: {x: SECRETVALUE}\n",
                 true, false, {{F::plaintext_secret, E, -1, "items[0].stringData.x"}}});
    v.push_back({"stringData only, a non-string value too", "apps/db.yaml",
                 "kind: Secret\nstringData:\n  port: 5432\n  pass: SECRETVALUE\n", true, false,
                 {{F::plaintext_secret, E, -1, "stringData.port"}, {F::plaintext_secret, E, -1, "stringData.pass"}}});
    v.push_back({"empty and null values carry nothing", "apps/db.yaml",
                 "kind: Secret\ndata:\n  a: \"\"\n  b: null\nstringData: {}\n", true, false, {}});
    v.push_back({"Secret without data", "apps/sa.yaml",
                 "kind: Secret\ntype: kubernetes.io/service-account-token\nmetadata:\n  annotations:\n"
                 "    kubernetes.io/service-account.name: build\n",
                 true, false, {}});
    v.push_back({"comments inside a plaintext Secret are not values", "apps/db.yaml",
                 "kind: Secret\nstringData:\n  # the SECRETVALUE rotates monthly\n  pw: SECRETVALUE\n", true, false,
                 {{F::plaintext_secret, E, -1, "stringData.pw"}}});
    v.push_back({"ConfigMap passes", "apps/settings.yaml", kConfigMap, true, false, {}});
    v.push_back({"Deployment referencing Secrets passes", "apps/api.yaml", kDeployment, true, false, {}});
    v.push_back({"Flux: a data value that is a base64 sops file", "apps/inside.yaml",
                 read(kReal / "flux-kustomize-controller" / "inside-secret.yaml"), true, false, {}});
    // A manifest that declares a Secret and does not parse cannot be shown to be sealed: refused.
    v.push_back({"unparseable YAML declaring a Secret", "apps/broken.yaml",
                 "kind: Secret\nstringData: {pw: [SECRETVALUE\n", true, false, {{F::plaintext_secret, E, -1, ""}}});
    v.push_back({"unparseable JSON declaring a Secret", "apps/broken.json",
                 "{\"kind\" : \"Secret\", \"data\": {\"pw\": \"SECRETVALUE\"}", true, false,
                 {{F::plaintext_secret, E, -1, ""}}});
    v.push_back({"unparseable YAML, quoted kind", "apps/broken.yaml",
                 "apiVersion: v1\nkind:\t'Secret' # db\nstringData:\n  pw: \"SECRETVALUE\n", true, false,
                 {{F::plaintext_secret, E, -1, ""}}});
    v.push_back({"unparseable YAML naming Secret elsewhere passes", "apps/broken.yaml",
                 "kind: ConfigMap\ndata:\n  note: [the Secret is elsewhere\n", true, false, {}});
    v.push_back({"unparseable YAML of another kind passes", "apps/broken.yaml",
                 "kind: SecretProviderClass\nkind_: Secret\nsubkind: Secret\nx: [\n", true, false, {}});
    v.push_back({"a Helm template declaring a Secret passes", "charts/db/templates/secret.yaml",
                 "{{- if .Values.enabled }}\nkind: Secret\nstringData:\n  pw: {{ .Values.pw | quote }}\n{{- end }}\n",
                 true, false, {}});

    // ---- 2. creation rule without encryption --------------------------------------------------
    v.push_back({"rule path holding a plaintext Secret", "secrets/db.yaml", kPlainSecret, true, false,
                 {{F::rule_not_encrypted, E, -1, ""},
                  {F::plaintext_secret, E, -1, "stringData.username"},
                  {F::plaintext_secret, E, -1, "stringData.password"}}});
    v.push_back({"rule path holding a ConfigMap", "secrets/settings.yaml", kConfigMap, true, false,
                 {{F::rule_not_encrypted, E, -1, ""}}});
    v.push_back({"rule path that does not parse", "secrets/x.yaml", "a: [SECRETVALUE\n", true, false,
                 {{F::rule_not_encrypted, E, -1, ""}}});
    v.push_back({"rule path holding a plain dotenv", "secrets/app.env", "DB_PASS=SECRETVALUE\n", true, false,
                 {{F::rule_not_encrypted, E, -1, ""}}});
    v.push_back({"rule path holding raw binary", "secrets/blob.bin", std::string("\x01\x02\0SECRETVALUE", 15), true,
                 false, {{F::rule_not_encrypted, E, -1, ""}}});
    v.push_back({"rule path, empty file", "secrets/empty.yaml", "", true, false, {}});
    v.push_back({"same plaintext outside the rules is only a Secret finding", "apps/db.yaml", kPlainSecret, true,
                 false,
                 {{F::plaintext_secret, E, -1, "stringData.username"},
                  {F::plaintext_secret, E, -1, "stringData.password"}}});
    v.push_back({".sops.yaml itself is never a secret file", ".sops.yaml",
                 "creation_rules:\n  - path_regex: .*\n    age: x\n", true, false, {}});
    v.push_back({"ConfigMap without a config", "secrets/settings.yaml", kConfigMap, false, false, {}});

    // ---- 3. sops files ----------------------------------------------------------------------
    v.push_back({"encrypted_regex Secret, metadata in clear, under its rule", "secrets/db.yaml", enc_secret, true,
                 false, {}});
    v.push_back({"fully encrypted file under its rule", "clusters/staging/db.enc.yaml", enc_full, true, false, {}});
    v.push_back({"fully encrypted ConfigMap under its rule", "clusters/staging/cm.enc.yaml", enc_cm, true, false, {}});
    v.push_back({"encrypted JSON Secret", "secrets/oauth.json", enc_json, true, false, {}});
    v.push_back({"one value hand-edited to plaintext", "secrets/db.yaml",
                 set_line_value(enc_secret, "password", "hunter2-SECRETVALUE"), true, false,
                 {{F::partly_plaintext, E, -1, "stringData.password"}}});
    v.push_back({"hand-edited value in a fully encrypted file", "clusters/staging/cm.enc.yaml",
                 set_line_value(enc_cm, "LOG_LEVEL", "SECRETVALUE"), true, false,
                 {{F::partly_plaintext, E, -1, "data.LOG_LEVEL"}}});
    v.push_back({"clear metadata edit in an encrypted_regex file passes", "secrets/db.yaml",
                 set_line_value(enc_secret, "name", "db-renamed"), true, false, {}});
    v.push_back({"mac removed", "secrets/db.yaml", drop_line(enc_secret, "    mac: "), true, false,
                 {{F::partly_plaintext, E, -1, "sops.mac"}}});
    v.push_back({"version removed", "secrets/db.yaml", drop_line(enc_secret, "    version: "), true, false,
                 {{F::partly_plaintext, E, -1, "sops.version"}}});
    v.push_back({"ENC value with broken base64", "secrets/db.yaml", break_enc(enc_secret, "password", "iv:", "iv:%"),
                 true, false, {{F::partly_plaintext, E, -1, "stringData.password"}}});
    v.push_back({"ENC value with an unknown type", "secrets/db.yaml",
                 break_enc(enc_secret, "password", "type:str]", "type:blob]"), true, false,
                 {{F::partly_plaintext, E, -1, "stringData.password"}}});
    v.push_back({"sops entry that is not a mapping", "apps/x.yaml", "kind: ConfigMap\nsops: yes\n", true, false,
                 {{F::partly_plaintext, E, -1, "sops"}}});
    v.push_back({"comment selector: the ENC markers decide", "apps/marked.yaml", marked, false, false, {}});
    v.push_back({"comment selector: a clear value is taken as chosen", "apps/marked.yaml",
                 set_line_value(marked, "region", "SECRETVALUE"), false, false, {}});
    v.push_back({"comment selector: a damaged ENC value is found", "apps/marked.yaml",
                 break_enc(marked, "webhook_secret", "tag:", "tag:!"), false, false,
                 {{F::partly_plaintext, E, -1, "webhook_secret"}}});
    v.push_back({"multi-document sops file with a plaintext Secret appended", "secrets/bundle.yaml",
                 read(kSet / "enc" / "bundle.regex.yaml") + "---\nkind: Secret\nstringData:\n  pw: SECRETVALUE\n",
                 true, false, {{F::partly_plaintext, E, 3, "stringData.pw"}}});

    // ---- 4. private keys ----------------------------------------------------------------------
    v.push_back({"age key inside a ConfigMap", "apps/cm.yaml",
                 "kind: ConfigMap\ndata:\n  key.txt: " + age_key_line() + "\n", true, false,
                 {{F::private_key, E, -1, "data.key.txt"}}});
    v.push_back({"OpenSSH key inside a ConfigMap", "apps/cm.yaml",
                 "kind: ConfigMap\ndata:\n  id_ed25519: |\n" + indent(key, "    "), true, false,
                 {{F::private_key, E, -1, "data.id_ed25519"}}});
    v.push_back({"PEM key in a text file", "docs/notes.txt",
                 "deploy key:\n-----BEGIN RSA PRIVATE KEY-----\n" + kRsaBody + "-----END RSA PRIVATE KEY-----\n", true,
                 false, {{F::private_key, E, -1, ""}}});
    v.push_back({"PEM key in JSON with \\n escapes", "apps/creds.json",
                 R"({"key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvuNMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEov\n-----END PRIVATE KEY-----\n"})",
                 true, false, {{F::private_key, E, -1, "key"}}});
    v.push_back({"PGP private key block", "keys/release.asc",
                 "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGF" + kRsaBody + "-----END PGP PRIVATE KEY BLOCK-----\n", true,
                 false, {{F::private_key, E, -1, ""}}});
    v.push_back({"two keys in one file", "docs/keys.md", age_key_line() + "\n\n" + key, true, false,
                 {{F::private_key, E, -1, ""}, {F::private_key, E, -1, ""}}});
    v.push_back({"documentation naming the markers passes", "docs/keys.md",
                 "Never commit `-----BEGIN OPENSSH PRIVATE KEY-----` blocks or AGE-SECRET-KEY-1... lines.\n"
                 "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n",
                 true, false, {}});
    v.push_back({"binary blob with a key marker passes", "img/logo.png",
                 std::string("\x89PNG\0\0", 6) + "-----BEGIN RSA PRIVATE KEY-----\n" + kRsaBody, true, false, {}});
    v.push_back({"public keys pass", "keys/cluster.pub", std::string(kR1) + "\n" + read(kSet / "ssh_ed25519.pub"),
                 true, false, {}});

    // ---- 5. recipient drift --------------------------------------------------------------------
    v.push_back({"recipients match the rule", "secrets/db.yaml", enc_secret, true, false, {}});
    v.push_back({"drift is a warning", "secrets/db.yaml", two_recipients, true, false,
                 {{F::recipient_drift, W, -1, "sops"}}});
    v.push_back({"drift is an error with --strict", "secrets/db.yaml", two_recipients, true, true,
                 {{F::recipient_drift, E, -1, "sops"}}});
    v.push_back({"file for another cluster's rule drifts", "clusters/staging/db.enc.yaml", enc_secret, true, false,
                 {{F::recipient_drift, W, -1, "sops"}}});
    v.push_back({"no rule, no drift", "apps/db.yaml", two_recipients, true, true, {}});
    return v;
}

void check_no_leak(const Finding& f, std::string_view secret) {
    for (const std::string* field : {&f.message, &f.fix, &f.key_path, &f.path})
        CHECK(field->find(secret) == std::string::npos);
}

}  // namespace

TEST_CASE("classifier: table of cases") {
    const auto all = cases();
    REQUIRE(all.size() >= 40);
    for (const auto& c : all) {
        SECTION(c.name) {
            Context context;
            context.config = c.with_config ? &repo_config() : nullptr;
            context.strict = c.strict;
            auto findings = classify(bytes_of(c.content), c.path, context);
            std::vector<Expect> got;
            for (const auto& f : findings) {
                got.push_back({f.kind, f.severity, f.document, f.key_path});
                CHECK(f.path == c.path);
                CHECK_FALSE(f.message.empty());
                CHECK_FALSE(f.fix.empty());
                check_no_leak(f, kLeakMarker);
                check_no_leak(f, "hunter2");
                CHECK(format_text(f).find(kLeakMarker) == std::string::npos);
            }
            auto want = c.expected;
            std::sort(got.begin(), got.end());
            std::sort(want.begin(), want.end());
            INFO("case: " << c.name << "\nwanted:\n" << describe(want) << "got:\n" << describe(got));
            CHECK(got == want);
            // The prefilter may say "maybe" too often, never "no" when there is a finding.
            if (!findings.empty()) CHECK(may_have_findings(bytes_of(c.content), c.path, context));
        }
    }
}

TEST_CASE("classifier: private keys never reach a message") {
    const std::string key = ssh_key();
    const std::string body = key.substr(key.find('\n') + 1, 40);
    auto findings = classify(bytes_of("kind: ConfigMap\ndata:\n  k: |\n" + indent(key, "    ")), "cm.yaml", {});
    REQUIRE(findings.size() == 1);
    check_no_leak(findings[0], body);
    check_no_leak(findings[0], age_key_line().substr(20));
    CHECK(findings[0].line == 4);
    CHECK(findings[0].message.find("OpenSSH private key") != std::string::npos);
}

TEST_CASE("classifier: unknown formats and binaries are not parsed") {
    Context context{&repo_config(), false};
    std::string binary(4096, '\0');
    CHECK_FALSE(may_have_findings(bytes_of(binary), "img/a.png", context));
    const std::string service = "apiVersion: v1\nkind: Service\nspec:\n  ports: [{port: 80}]\n  # secretKeyRef\n";
    CHECK_FALSE(may_have_findings(bytes_of(service), "apps/svc.yaml", context));  // no marker: no parse
    CHECK(may_have_findings(bytes_of(kPlainSecret), "apps/db.yaml", context));
    CHECK(may_have_findings(bytes_of(service), "secrets/svc.yaml", context));  // but a rule covers this path
    CHECK(may_have_findings(bytes_of(binary), "secrets/a.png", context));
    CHECK(classify(bytes_of("just text\n"), "README.md", context).empty());
    // `Secret` must stand alone: imagePullSecrets, secretKeyRef and SealedSecret are no marker.
    CHECK_FALSE(may_have_findings(bytes_of(kDeployment), "apps/api.yaml", context));
    CHECK_FALSE(may_have_findings(bytes_of("kind: SealedSecret\nspec: {encryptedData: {a: b}}\n"), "s.yaml", context));
    CHECK(may_have_findings(bytes_of("{\"kind\":\"Secret\"}"), "s.json", context));
    CHECK(may_have_findings(bytes_of("kind: Secret"), "s.yaml", context));
    CHECK(may_have_findings(bytes_of("{kind: Secret, data: {}}"), "s.yaml", context));
}

TEST_CASE("classifier: plaintext_secrets is finding kind 1 only") {
    auto findings = plaintext_secrets(bytes_of(kPlainSecret + "---\n" + kConfigMap), "apps/db.yaml");
    REQUIRE(findings.size() == 2);
    for (const auto& f : findings) {
        CHECK(f.kind == FindingKind::plaintext_secret);
        CHECK(f.document == 0);
        check_no_leak(f, kLeakMarker);
    }
    CHECK(plaintext_secrets(bytes_of(encrypt(kPlainSecret, kube_regex(), {kR1})), "secrets/db.yaml").empty());
    CHECK(plaintext_secrets(bytes_of(kConfigMap), "secrets/cm.yaml").empty());
    CHECK(plaintext_secrets(bytes_of("kind: Secret\nstringData: {a: b}\n"), "notes.txt").empty());
    // One that does not parse is refused too, with the parser's position and no value.
    findings = plaintext_secrets(bytes_of("kind: Secret\nstringData:\n  a: [SECRETVALUE\n"), "apps/x.yaml");
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].message.find("does not parse as yaml (") != std::string::npos);
    check_no_leak(findings[0], kLeakMarker);
    // A private key is not this function's business.
    CHECK(plaintext_secrets(bytes_of("kind: ConfigMap\ndata:\n  k: |\n" + indent(ssh_key(), "    ")), "cm.yaml").empty());
}

TEST_CASE("classifier: format_text and kind names") {
    Finding f{FindingKind::plaintext_secret, Severity::error, "a/b.yaml", 2, "data.x", "msg", "fix it"};
    CHECK(format_text(f) == "a/b.yaml:doc 3: data.x: msg (fix it)");
    f.document = -1;
    f.key_path.clear();
    CHECK(format_text(f) == "a/b.yaml: msg (fix it)");
    CHECK(std::string(kind_name(FindingKind::rule_not_encrypted)) == "rule-not-encrypted");
    CHECK(std::string(kind_name(FindingKind::recipient_drift)) == "recipient-drift");
}

// ---- real sops output ----------------------------------------------------------------------------

namespace {

std::vector<std::string> manifest_cases() {
    std::vector<std::string> out;
    std::ifstream in(kSet / "manifest.tsv");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        out.push_back(line.substr(0, line.find('\t')));
    }
    return out;
}

std::string plain_of(const std::string& name) {
    std::ifstream in(kSet / "manifest.tsv");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(name + '\t')) {
            auto tab = line.find('\t');
            return line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1);
        }
    }
    return {};
}

std::string blocking(const std::vector<Finding>& findings) {
    std::string out;
    for (const auto& f : findings) out += format_text(f) + '\n';
    return out;
}

}  // namespace

TEST_CASE("classifier: every sops 3.13.2 file passes under the rules that made it") {
    const sops::Config config = sops::Config::load(kSet / ".sops.yaml");
    const auto names = manifest_cases();
    REQUIRE(names.size() == 27);
    for (const auto& name : names) {
        INFO(name);
        const std::string bytes = read(kSet / "enc" / name);
        for (bool strict : {false, true}) {
            Context context{&config, strict};
            auto findings = classify(bytes_of(bytes), name, context);
            INFO(blocking(findings));
            CHECK(findings.empty());
        }
        CHECK(classify(bytes_of(bytes), "enc/" + name, {}).empty());
    }
}

TEST_CASE("classifier: their plaintexts fail under a matching rule") {
    const sops::Config everything =
        sops::Config::parse(std::string("creation_rules:\n  - age: ") + kR1 + "\n", "/repo/.sops.yaml");
    for (const auto& name : manifest_cases()) {
        const std::string plain = plain_of(name);
        INFO(name << " <- plain/" << plain);
        const std::string bytes = read(kSet / "plain" / plain);
        auto findings = classify(bytes_of(bytes), name, Context{&everything, false});
        bool rule_finding = std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
            return f.kind == FindingKind::rule_not_encrypted && f.severity == Severity::error;
        });
        CHECK(rule_finding);
    }
}

TEST_CASE("classifier: the plaintext Secrets of the fixture set are found without any rule") {
    struct Want {
        const char* plain;
        std::size_t findings;
    };
    // secret-mixed: 3 non-empty data values + 4 stringData values; bundle: 2 + 2 in documents 2
    // and 3; token-secret: its stringData values; secret.json: 2 + 1.
    for (auto [plain, n] : {Want{"secret-mixed.yaml", 7}, Want{"bundle.yaml", 4}, Want{"secret.json", 3}}) {
        INFO(plain);
        auto findings = classify(bytes_of(read(kSet / "plain" / plain)), plain, {});
        CHECK(findings.size() == n);
        for (const auto& f : findings) CHECK(f.kind == FindingKind::plaintext_secret);
    }
    auto bundle = classify(bytes_of(read(kSet / "plain" / "bundle.yaml")), "bundle.yaml", {});
    for (const auto& f : bundle) CHECK((f.document == 1 || f.document == 2));
}

TEST_CASE("classifier: third-party sops files pass") {
    for (const char* file : {"flux-kustomize-controller/age.yaml", "flux-kustomize-controller/patches-merge1.yaml",
                             "flux-kustomize-controller/global-secret.yaml", "flux-kustomize-controller/age-pq.yaml",
                             "flux-kustomize-controller/env.env", "flux-kustomize-controller/file.txt",
                             "sops-nix/secrets.yaml", "helm-secrets/secrets.age.yaml",
                             "sops-secrets-operator/00-test-secrets.yaml", "sops-secrets-operator/02-test-secrets.yaml",
                             "sops-secrets-operator/04-test-secrets-mac-only.yaml"}) {
        INFO(file);
        auto findings = classify(bytes_of(read(kReal / file)), file, {});
        INFO(blocking(findings));
        CHECK(findings.empty());
    }
    // The identity files next to them are exactly what must never be committed.
    for (const char* file : {"flux-kustomize-controller/age.agekey", "flux-kustomize-controller/age-pq.agekey",
                             "sops-nix/age-keys.txt", "sops-age-keysource/mock-ssh-ed25519.key"}) {
        INFO(file);
        auto findings = classify(bytes_of(read(kReal / file)), file, {});
        REQUIRE_FALSE(findings.empty());
        CHECK(findings[0].kind == FindingKind::private_key);
    }
}
