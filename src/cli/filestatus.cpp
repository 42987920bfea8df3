// `git sops filestatus`: {"encrypted":true} or {"encrypted":false}, as sops' filestatus.
#include <unistd.h>

#include <memory>
#include <string>

#include "base/io.hpp"
#include "cli/commands.hpp"
#include "cli/sops_io.hpp"
#include "sops/sops.hpp"

namespace gitsops::cli {

namespace {

struct FilestatusOptions {
    std::string file;
    std::string input_type;
};

void run_filestatus(const FilestatusOptions& o) {
    InputFile input = InputFile::from_arg(o.file);
    const sops::Format format = choose_format(o.input_type, input.absolute);
    bool encrypted = false;
    try {
        encrypted = sops::is_encrypted(input.read(), format);
    } catch (const Error& e) {
        throw Error(std::string("cannot check file status: ") + input.located(e).what(), exit_code::generic);
    }
    io::write_all(STDOUT_FILENO, encrypted ? "{\"encrypted\":true}\n" : "{\"encrypted\":false}\n");
}

}  // namespace

void add_filestatus(CLI::App& app) {
    auto o = std::make_shared<FilestatusOptions>();
    CLI::App* cmd = app.add_subcommand("filestatus", "Tell whether a file is sops-encrypted");
    cmd->footer(
        "Prints {\"encrypted\":true} when the file carries sops metadata with a version and a MAC.\n"
        "Values are not decrypted, so no key is needed.");
    cmd->add_option("file", o->file, "File to check")->type_name("FILE")->required();
    cmd->add_option("--input-type", o->input_type, "yaml, json, dotenv, ini or binary (default: from the name)");
    cmd->callback([o] { run_filestatus(*o); });
}

}  // namespace gitsops::cli
