// `git sops edit FILE`: create-or-edit, with the plaintext only in memory and on tmpfs.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"
#include "lifecycle/common.hpp"
#include "lifecycle/editor.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

// A Kubernetes object name from a file name: lowercase letters, digits and '-'.
std::string object_name(const fs::path& file) {
    std::string stem = file.stem().string(), out;
    for (char c : stem) {
        unsigned char u = static_cast<unsigned char>(c);
        if (std::isalnum(u)) out += static_cast<char>(std::tolower(u));
        else if (!out.empty() && out.back() != '-') out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "secret" : out;
}

// What a new file starts from: a Secret to fill in (sops starts from an example document too).
std::string skeleton(sops::Format format, const fs::path& file) {
    const std::string name = object_name(file);
    switch (format) {
        case sops::Format::yaml:
            return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name +
                   "\ntype: Opaque\nstringData:\n  key: value\n";
        case sops::Format::json:
            return "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\n    \"name\": \"" + name +
                   "\"\n  },\n  \"type\": \"Opaque\",\n  \"stringData\": {\n    \"key\": \"value\"\n  }\n}\n";
        case sops::Format::dotenv: return "KEY=value\n";
        case sops::Format::ini: return "[secret]\nkey = value\n";
        case sops::Format::binary: break;
    }
    throw Error(file.string() + ": git sops edit creates YAML, JSON, dotenv or INI files; encrypt binary files with "
                                "`git sops encrypt`");
}

// Errors that mean "the text in the editor is not acceptable yet" (rather than "stop").
bool is_content_error(const Error& e) {
    switch (e.code()) {
        case exit_code::could_not_read_input:
        case exit_code::empty_file:
        case exit_code::file_already_encrypted:
        case exit_code::conflicting_options:
        case exit_code::error_encrypting_tree:
            return true;
        default:
            return false;
    }
}

std::string content_problem(const Error& e) {
    if (e.code() == exit_code::file_already_encrypted)
        return "the top-level key 'sops' is reserved for the sops metadata, which git sops edit keeps by itself: "
               "remove it";
    if (e.code() == exit_code::empty_file) return "the file is empty";
    return e.what();
}

struct Previous {
    std::string bytes;
    sops::OpenedFile opened;
};

}  // namespace

void edit(const EditOptions& options) {
    harden_process();
    const fs::path file = options.file;
    const fs::path abs = fs::absolute(file).lexically_normal();
    const sops::Format format = sops::format_for_path(file.string());
    std::optional<Workspace> ws = Workspace::try_open();
    const Records records = ws ? ws->records() : Records{};
    const auto config_path = sops::find_config(std::nullopt);
    std::optional<sops::Config> config;
    if (config_path) config = sops::Config::load(*config_path);
    const sops::StoreConfig stores = config ? config->stores() : sops::StoreConfig{};

    std::error_code ec;
    const bool exists = fs::exists(abs, ec);
    std::optional<Previous> previous;
    std::optional<sops::CreationRule> rule;
    std::string bytes;
    if (exists) {
        bytes = io::read_file(abs);
        if (!sops::is_encrypted(bytes, format, stores))
            throw Error(file.string() + " is not encrypted (no sops metadata). In a decrypted worktree, edit it "
                                        "directly: `git add` encrypts it; otherwise encrypt it with `git sops encrypt -i`");
    } else {
        if (!config || !config->has_creation_rules())
            throw Error(file.string() + " does not exist and there is no .sops.yaml with creation rules to encrypt it "
                                        "with: run `git sops init` first", exit_code::no_file);
        rule = config->rule_for(abs);
    }

    // Before anything is decrypted: the scratch folder's guardian is a forked child, and a child
    // forked later would hold a copy of the plaintext pages, neither locked nor ever wiped.
    Scratch scratch(abs.filename().string(), options.allow_disk);
    if (!scratch.memory_backed())
        note("warning: the plaintext sits on persistent disk in " + scratch.folder().string() + " while you edit");

    SecureBytes plaintext;
    if (exists) {
        std::string rule_id;
        if (config_path) {
            SopsYaml yaml = SopsYaml::parse(io::read_file(*config_path), *config_path);
            if (auto i = yaml.rule_for(rule_name(*config_path, abs))) rule_id = yaml.rules()[*i].id();
        }
        KeyRing ring(records, options.cluster, true);
        sops::OpenedFile opened = ring.open(bytes, format, stores, rule_id);
        std::string text = sops::emit_plain(opened.plaintext, format, stores);
        plaintext = secure_copy(text);
        wipe(text);
        previous.emplace(Previous{std::move(bytes), std::move(opened)});
    } else {
        plaintext = secure_copy(skeleton(format, file));
    }
    scratch.write(plaintext);

    std::string result;
    for (;;) {
        run_editor(scratch.file());
        SecureBytes edited = scratch.read();
        if (edited == plaintext) throw Error("File has not changed, exiting.", exit_code::file_not_modified);
        try {
            if (previous) {
                sops::Documents docs = sops::load_plain_for_encryption(view_of(edited), format, stores);
                result = sops::reencrypt(previous->opened, previous->bytes, std::move(docs), format, stores);
                if (result == previous->bytes)
                    throw Error("File has not changed, exiting.", exit_code::file_not_modified);
            } else {
                result = sops::encrypt_plaintext(view_of(edited), *rule, format, format, stores, stores);
            }
            break;
        } catch (const Error& e) {
            if (!is_content_error(e)) throw;
            std::cerr << "git-sops: " << file.string() << ": " << content_problem(e) << '\n';
            auto again = ask_tty("Reopen the editor to fix it?", true);
            if (!again)
                throw Error("no terminal to ask whether to reopen the editor: " + file.string() +
                            " is unchanged and the edit is discarded");
            if (!*again) throw Error("edit abandoned: " + file.string() + " is unchanged");
        }
    }
    if (!exists) fs::create_directories(abs.parent_path());
    io::atomic_write(abs, result);
    note((exists ? "updated " : "created ") + file.string());
}

}  // namespace gitsops::lifecycle
