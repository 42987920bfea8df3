// Real sops output: every file of ../shared/fixtures decrypts (MAC verified) to the expected
// plaintext, and re-encrypting the sops 3.13.2 inputs with the file's data key, IVs and
// lastmodified gives the encrypted file back byte for byte.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/io.hpp"
#include "sops/sops.hpp"

using namespace gitsops;
using namespace gitsops::sops;
namespace fs = std::filesystem;

namespace {

const fs::path kShared = GITSOPS_SHARED;
const fs::path kSet = kShared / "fixtures" / "sops-3.13.2";
const fs::path kReal = kShared / "fixtures" / "sops-age-real";

struct Case {
    std::string name, plain, encrypt_args, decrypt_args, identity, reencrypt_from, key_hex;
    int decrypt_rc = 0;
};

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string part;
    while (std::getline(ss, part, sep)) out.push_back(part);
    return out;
}

std::vector<Case> manifest() {
    std::vector<Case> out;
    std::ifstream in(kSet / "manifest.tsv");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto f = split(line, '\t');
        REQUIRE(f.size() == 8);
        out.push_back(Case{f[0], f[1], f[2], f[3], f[4], f[6], f[7], std::stoi(f[5])});
    }
    REQUIRE(out.size() >= 27);
    return out;
}

DataKey key_from_hex(const std::string& h) {
    std::vector<std::uint8_t> b;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        b.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return DataKey(b);
}

bool same_key(const DataKey& a, const DataKey& b) { return std::equal(a.data(), a.data() + 32, b.data()); }

StoreConfig config_for(const Case& c) {
    StoreConfig s;
    if (c.name.find("indent2") != std::string::npos) s.yaml_indent = s.json_indent = s.json_binary_indent = 2;
    return s;
}

FixedIdentities identities_from(const fs::path& file) {
    SecureBytes text = io::read_file_secure(file);
    return FixedIdentities(age::parse_identity_file(text, file.string()));
}

// Decrypts with the manifest's data key; `stash` collects the IVs.
Documents decrypt_case(const Case& c, IvStash* stash, EncryptedFile* file_out = nullptr) {
    Format format = format_for_path(c.name);
    EncryptedFile f = load_encrypted(io::read_file(kSet / "enc" / c.name), format, config_for(c));
    DecryptOptions o;
    o.stash = stash;
    Documents docs = f.documents;
    decrypt_documents(docs, f.metadata, key_from_hex(c.key_hex), o);
    if (file_out) *file_out = std::move(f);
    return docs;
}

std::string reencrypt_from(const Case& c, const fs::path& source, const EncryptedFile& file, IvStash& stash) {
    Format format = format_for_path(c.name);
    Documents docs = load_plain_for_encryption(io::read_file(source), format, config_for(c));
    Metadata md = file.metadata;
    stash.rewind();
    EncryptOptions o;
    o.stash = &stash;
    o.lastmodified = file.metadata.lastmodified;
    encrypt_documents(docs, md, key_from_hex(c.key_hex), o);
    return emit_encrypted(docs, md, format, config_for(c));
}

}  // namespace

TEST_CASE("fixtures: sops 3.13.2 files decrypt to sops' own output, MAC verified") {
    for (const Case& c : manifest()) {
        INFO(c.name);
        if (c.decrypt_rc == 51) {
            try {
                decrypt_case(c, nullptr);
                FAIL("decrypted the comment-in-list bug file");
            } catch (const Error& e) {
                CHECK(e.code() == exit_code::mac_mismatch);
            }
            continue;
        }
        Documents docs = decrypt_case(c, nullptr);
        std::string out = emit_plain(docs, format_for_path(c.name), config_for(c));
        CHECK(out == io::read_file(kSet / "expected" / c.name));
    }
}

TEST_CASE("fixtures: sops 3.13.2 data keys unwrap with the case's identities") {
    for (const Case& c : manifest()) {
        INFO(c.name);
        EncryptedFile f = load_encrypted(io::read_file(kSet / "enc" / c.name), format_for_path(c.name), config_for(c));
        for (const auto& id : split(c.identity, '|')) {
            FixedIdentities ids = identities_from(kSet / id);
            CHECK(same_key(get_data_key(f.metadata, ids), key_from_hex(c.key_hex)));
        }
    }
}

TEST_CASE("fixtures: re-encrypting the inputs reproduces sops 3.13.2's files byte for byte") {
    for (const Case& c : manifest()) {
        INFO(c.name);
        // Our writer deliberately keeps comments inside sequences as comments (sops writes
        // list elements it cannot verify itself); that case is checked separately below.
        if (c.decrypt_rc == 51) continue;
        IvStash stash;
        EncryptedFile file;
        decrypt_case(c, &stash, &file);
        const std::string want = io::read_file(kSet / "enc" / c.name);
        CHECK(reencrypt_from(c, kSet / "plain" / c.plain, file, stash) == want);
        if (c.reencrypt_from.find("expected") != std::string::npos)
            CHECK(reencrypt_from(c, kSet / "expected" / c.name, file, stash) == want);
    }
}

TEST_CASE("fixtures: our encryption of comments inside a sequence verifies where sops' does not") {
    for (const Case& c : manifest()) {
        if (c.decrypt_rc != 51) continue;
        INFO(c.name);
        IvStash stash;
        EncryptedFile file;
        DecryptOptions ignore;
        ignore.ignore_mac = true;
        file = load_encrypted(io::read_file(kSet / "enc" / c.name), format_for_path(c.name));
        std::string ours = reencrypt_from(c, kSet / "plain" / c.plain, file, stash);
        EncryptedFile back = load_encrypted(ours, format_for_path(c.name));
        Documents docs = back.documents;
        CHECK_NOTHROW(decrypt_documents(docs, back.metadata, key_from_hex(c.key_hex)));
        // No `- ENC[...,type:comment]` element; `- ENC[...] #ENC[...,type:comment]` (an inline
        // comment after an element) is fine.
        std::istringstream lines(ours);
        for (std::string line; std::getline(lines, line);) {
            auto dash = line.find("- ENC[");
            if (dash == std::string::npos) continue;
            auto close = line.find(']', dash);
            CHECK_FALSE(std::string_view(line).substr(0, close).ends_with("type:comment"));
        }
    }
}

TEST_CASE("fixtures: third-party sops+age files (sops 3.7 to 3.13) decrypt with their keys") {
    struct Real {
        const char* file;
        const char* key;
        int expect;  // 0 ok, else the exit code
    };
    const Real cases[] = {
        {"flux-kustomize-controller/age.yaml", "flux-kustomize-controller/age.agekey", 0},
        {"flux-kustomize-controller/patches-merge1.yaml", "flux-kustomize-controller/age.agekey", 0},
        {"flux-kustomize-controller/global-secret.yaml", "flux-kustomize-controller/age-global.agekey", 0},
        {"flux-kustomize-controller/env.env", "flux-kustomize-controller/age.agekey", 0},
        {"flux-kustomize-controller/file.txt", "flux-kustomize-controller/age.agekey", 0},
        {"sops-nix/secrets.yaml", "sops-nix/age-keys.txt", 0},
        {"helm-secrets/secrets.age.yaml", "helm-secrets/key.txt", 0},
        {"sops-secrets-operator/00-test-secrets.yaml", "sops-secrets-operator/key-file.txt", 0},
        {"sops-secrets-operator/01-test-secrets.yaml", "sops-secrets-operator/key-file.txt", -1},
        {"sops-secrets-operator/02-test-secrets.yaml", "sops-secrets-operator/key-file.txt", 0},
        {"sops-secrets-operator/03-test-secrets-enforce-ownership.yaml", "sops-secrets-operator/key-file.txt", 0},
        {"sops-secrets-operator/04-test-secrets-mac-only.yaml", "sops-secrets-operator/key-file.txt", 0},
    };
    for (const auto& r : cases) {
        INFO(r.file);
        auto run = [&] {
            EncryptedFile f = load_encrypted(io::read_file(kReal / r.file), format_for_path(r.file));
            FixedIdentities ids = identities_from(kReal / r.key);
            DataKey key = get_data_key(f.metadata, ids);
            decrypt_documents(f.documents, f.metadata, key);
        };
        if (r.expect == 0) {
            CHECK_NOTHROW(run());
        } else {
            CHECK_THROWS_AS(run(), Error);  // the deliberately corrupt operator file
        }
    }
}

TEST_CASE("fixtures: the git filter path keeps the bytes of an unchanged file and the IVs of unchanged values") {
    int unchanged = 0;
    for (const Case& c : manifest()) {
        if (c.decrypt_rc == 51 || c.identity.find("ssh") != std::string::npos) continue;
        INFO(c.name);
        const std::string bytes = io::read_file(kSet / "enc" / c.name);
        const Format format = format_for_path(c.name);
        FixedIdentities ids = identities_from(kSet / "key.txt");
        OpenedFile prev = open_encrypted(bytes, format, config_for(c), ids);
        Documents same = load_plain_for_encryption(io::read_file(kSet / "plain" / c.plain), format, config_for(c));
        // Plaintext read from the plain file may type clear floats differently (1.0 is written
        // back as 1); then the file is re-encrypted, and must still decrypt with its MAC.
        std::string again = reencrypt(prev, bytes, same, format, config_for(c));
        if (same_plaintext(prev, same)) {
            ++unchanged;
            CHECK(again == bytes);
        }
        CHECK_NOTHROW(open_encrypted(again, format, config_for(c), ids));
    }
    CHECK(unchanged >= 18);
}
