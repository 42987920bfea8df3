// Finding kind 1: a Kubernetes Secret with a value in clear (and kustomize secretGenerator literals). The check reads the parsed tree, not
// lines, so `kind: "Secret"`, JSON manifests, the third document of a stream and the items of
// a `List` are all seen, and one encrypted Secret cannot hide a plaintext one beside it.
// Sealed values are `ENC[...]` strings, and `data` values that are a whole sops file in base64,
// which Flux's kustomize-controller decrypts.
#include "crypto/crypto.hpp"
#include "policy/detail.hpp"

namespace gitsops::policy::detail {

namespace {

constexpr std::string_view kFix =
    "encrypt it with sops (a .sops.yaml creation rule for this path with encrypted_regex: "
    "^(data|stringData)$), or move the value out of git";

bool is_string(const sops::Node* n, std::string_view value) {
    return n && n->type == sops::Node::Type::string && sops::sv(n->text) == value;
}

// `List`, `SecretList`, `v1.List`...: kubectl applies every object under `items`.
bool is_list_kind(const sops::Node* kind) {
    return kind && kind->type == sops::Node::Type::string && sops::sv(kind->text).ends_with("List");
}

// Flux's kustomize-controller decrypts a `data` value that is the base64 of a whole sops file,
// in the format its key's extension names (binary/JSON without one): such a value is sealed.
bool is_encoded_sops_file(std::string_view key, const sops::Node& value) {
    if (value.type != sops::Node::Type::string) return false;
    auto decoded = crypto::base64_decode(sops::sv(value.text), true);
    if (!decoded) return false;
    std::string_view text = view_of(*decoded);
    if (!contains(text, kSopsMarker) || !contains(text, "ENC[")) return false;
    ParsedFile inner = parse_file(text, sops::format_for_path(key), {});
    return inner.metadata && inner.metadata->find("mac") && inner.metadata->find("version");
}

void report_clear_leaves(const sops::Node& values, int document, KeyPath& path, Findings& out) {
    auto visit = [&](const sops::Node& leaf, const KeyPath& where) {
        // Empty strings carry nothing and sops never encrypts them; comments are not data.
        if (leaf.is_comment() || is_empty_string(leaf) || is_enc(leaf)) return;
        out.add(FindingKind::plaintext_secret, Severity::error, document, where.str(),
                "a Kubernetes Secret holds this value in clear", std::string(kFix));
    };
    for_each_leaf(values, path, visit);
}

void check_values(const sops::Node& values, bool is_data, int document, KeyPath& path, Findings& out) {
    if (!is_data || values.type != sops::Node::Type::mapping) {
        report_clear_leaves(values, document, path, out);
        return;
    }
    for (const auto& item : values.items) {
        if (item.is_comment()) continue;
        std::string_view key = sops::sv(item.key.text);
        if (is_encoded_sops_file(key, item.value)) continue;
        path.push_key(key);
        report_clear_leaves(item.value, document, path, out);
        path.pop();
    }
}

// kustomize's secretGenerator turns `literals: [KEY=value]` into a Secret at build time: a value
// written there is a plaintext secret in git. (Its `files:` and `envs:` name other files, which
// Flux decrypts when they are sops files; those files are classified on their own.)
void check_secret_generator(const sops::Node& generators, int document, KeyPath& path, Findings& out) {
    if (generators.type != sops::Node::Type::sequence) return;
    path.push_key("secretGenerator");
    for (std::size_t i = 0; i < generators.elements.size(); ++i) {
        const sops::Node& generator = generators.elements[i];
        const sops::Node* literals = generator.type == sops::Node::Type::mapping ? generator.find("literals") : nullptr;
        if (!literals || literals->type != sops::Node::Type::sequence) continue;
        path.push_index(i);
        path.push_key("literals");
        for (std::size_t j = 0; j < literals->elements.size(); ++j) {
            const sops::Node& literal = literals->elements[j];
            if (literal.type != sops::Node::Type::string) continue;
            const std::string_view text = sops::sv(literal.text);
            const auto eq = text.find('=');
            std::string_view value = eq == std::string_view::npos ? std::string_view{} : text.substr(eq + 1);
            if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
                value = value.substr(1, value.size() - 2);
            if (value.empty() || value.starts_with("ENC[")) continue;
            path.push_index(j);
            out.add(FindingKind::plaintext_secret, Severity::error, document, path.str(),
                    "a kustomize secretGenerator holds the literal value of '" + std::string(text.substr(0, eq)) +
                        "' in clear",
                    "move it into an env file listed under `envs:` and encrypt that file with sops (Flux decrypts "
                    "it), or move the value out of git");
            path.pop();
        }
        path.pop();
        path.pop();
    }
    path.pop();
}

void check_object(const sops::Node& object, int document, KeyPath& path, Findings& out) {
    if (object.type != sops::Node::Type::mapping) return;
    if (const sops::Node* generators = object.find("secretGenerator"))
        check_secret_generator(*generators, document, path, out);
    const sops::Node* kind = object.find("kind");
    if (is_string(kind, "Secret")) {
        for (std::string_view field : {"data", "stringData"}) {
            const sops::Node* values = object.find(field);
            if (!values) continue;
            path.push_key(field);
            check_values(*values, field == "data", document, path, out);
            path.pop();
        }
        return;
    }
    const sops::Node* items = object.find("items");
    if (!is_list_kind(kind) || !items || items->type != sops::Node::Type::sequence) return;
    path.push_key("items");
    for (std::size_t i = 0; i < items->elements.size(); ++i) {
        path.push_index(i);
        check_object(items->elements[i], document, path, out);
        path.pop();
    }
    path.pop();
}

}  // namespace

void check_kubernetes_secrets(const sops::Documents& documents, Findings& out) {
    for (std::size_t d = 0; d < documents.size(); ++d) {
        KeyPath path;
        check_object(documents[d], static_cast<int>(d), path, out);
    }
}

void check_unparsed_secret(std::string_view text, const ParsedFile& file, sops::Format format, Findings& out) {
    if (file.parsed || !declares_secret_kind(text) || looks_templated(text)) return;
    out.add(FindingKind::plaintext_secret, Severity::error, -1, {},
            "it declares a Kubernetes Secret but does not parse as " + std::string(sops::format_name(format)) + " (" +
                file.parse_error + "): no value in it can be shown to be encrypted",
            "correct the syntax, which kubectl needs too, or " + std::string(kFix));
}

}  // namespace gitsops::policy::detail
