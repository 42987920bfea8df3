// `git sops decrypt`: sops 3.13.2's `sops decrypt` (cmd/sops/decrypt.go) with sops' age
// identity discovery.
#include <memory>
#include <string>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/passphrase.hpp"
#include "cli/sops_io.hpp"
#include "keys/keys.hpp"
#include "sops/sops.hpp"

namespace gitsops::cli {

namespace {

struct DecryptOptions {
    FileOptions files;
    std::string extract;
    bool ignore_mac = false;
};

// --extract: a mapping is printed as a whole document (the first one replaced, as sops does),
// a string raw, anything else through the store's value emitter.
std::string extracted(sops::Documents& docs, const std::vector<sops::PathStep>& path, sops::Format format,
                      const sops::StoreConfig& config) {
    const sops::Node& value = sops::extract(docs, path);
    if (value.type != sops::Node::Type::mapping) return sops::emit_value(value, format, config);
    sops::Node mapping = value;
    docs[0] = std::move(mapping);
    return sops::emit_plain(docs, format, config);
}

void run_decrypt(const DecryptOptions& o) {
    const FileSetup f = resolve(o.files, false);
    const auto path = sops::parse_tree_path(o.extract);

    sops::EncryptedFile file =
        parsing(f.input, [&] { return sops::load_encrypted(f.input.read(), f.in_format, f.in_config); });
    keys::Discovery identities(keys::Environment::from_process(), read_passphrase);
    sops::DataKey key = sops::get_data_key(file.metadata, identities);
    sops::DecryptOptions options;
    options.ignore_mac = o.ignore_mac;
    sops::decrypt_documents(file.documents, file.metadata, key, options);

    WipedString out;
    out.text = path.empty() ? sops::emit_plain(file.documents, f.out_format, f.out_config)
                            : extracted(file.documents, path, f.out_format, f.out_config);
    write_result(out.text, f.input, o.files.in_place, o.files.output);
}

}  // namespace

void add_decrypt(CLI::App& app) {
    auto o = std::make_shared<DecryptOptions>();
    CLI::App* cmd = app.add_subcommand("decrypt", "Decrypt a sops file (any sops 3.x version, age keys)");
    cmd->footer(
        "Identities, as sops finds them: SOPS_AGE_SSH_PRIVATE_KEY_FILE, SOPS_AGE_SSH_PRIVATE_KEY_CMD,\n"
        "~/.ssh/id_ed25519, ~/.ssh/id_rsa, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD and\n"
        "$XDG_CONFIG_HOME/sops/age/keys.txt (else ~/.config/sops/age/keys.txt).\n"
        "Exit status: 51 MAC mismatch, 25 a value does not decrypt, 128 no key opens the file,\n"
        "91 bad --extract path, 100 no such file.");
    add_file_options(cmd, o->files, "decrypt");
    cmd->add_option("--extract", o->extract, "Print only the value at this path, e.g. '[\"data\"][\"key\"]'");
    cmd->add_flag("--ignore-mac", o->ignore_mac, "Do not check the MAC");
    cmd->callback([o] { run_decrypt(*o); });
}

}  // namespace gitsops::cli
