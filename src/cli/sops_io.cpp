#include "cli/sops_io.hpp"

#include <unistd.h>

#include <system_error>

#include "base/io.hpp"

namespace gitsops::cli {

namespace fs = std::filesystem;

InputFile InputFile::from_arg(const std::string& arg) {
    InputFile f;
    f.arg = arg;
    f.from_stdin = arg.empty() || arg == "-";
    if (f.from_stdin) return f;
    std::error_code ec;
    f.absolute = fs::absolute(arg, ec).lexically_normal();
    if (ec || !fs::exists(f.absolute, ec))
        throw Error("cannot operate on non-existent file \"" + f.absolute.string() + "\"", exit_code::no_file);
    return f;
}

std::string InputFile::read() const { return io::read_file(from_stdin ? fs::path("-") : absolute); }

Error InputFile::located(const Error& e) const {
    const std::string_view what = e.what();
    const bool at_position = !what.empty() && what.front() >= '1' && what.front() <= '9' &&
                             what.find(':') < what.find(' ');
    if (from_stdin || e.code() != exit_code::could_not_read_input || !at_position) return e;
    return Error(arg + ":" + std::string(what), e.code());
}

sops::Format choose_format(const std::string& type_flag, const fs::path& name_for_type) {
    if (!type_flag.empty()) return sops::parse_format(type_flag);
    return sops::format_for_path(name_for_type.string());
}

std::optional<sops::Config> load_config(const std::string& config_flag) {
    auto path = sops::find_config(config_flag.empty() ? std::nullopt : std::optional<std::string>(config_flag));
    if (!path) return std::nullopt;
    return sops::Config::load(*path);
}

void add_file_options(CLI::App* cmd, FileOptions& o, std::string_view what) {
    cmd->add_option("file", o.file, "File to " + std::string(what) + " ('-' for standard input)")->type_name("FILE");
    cmd->add_flag("-i,--in-place", o.in_place, "Write the result back to FILE (atomically)");
    cmd->add_option("--output", o.output, "Write the result to this file")->type_name("FILE");
    cmd->add_option("--input-type", o.input_type, "yaml, json, dotenv, ini or binary (default: from the name)");
    cmd->add_option("--output-type", o.output_type, "yaml, json, dotenv, ini or binary (default: from the name)");
    cmd->add_option("--filename-override", o.filename_override,
                    "Use this name for the formats and the creation rule (needed by encrypt with standard input)");
    cmd->add_option("--indent", o.indent, "Indentation of the YAML/JSON output");
    cmd->add_option("--config", o.config, "The .sops.yaml to use (default: $SOPS_CONFIG or the nearest one)")
        ->type_name("FILE");
}

FileSetup resolve(const FileOptions& o, bool stdin_needs_name) {
    FileSetup s{InputFile::from_arg(o.file), {}, {}, {}, {}, {}, {}};
    if (s.input.from_stdin && o.in_place)
        throw Error("cannot use --in-place when reading from standard input", exit_code::conflicting_options);
    if (s.input.from_stdin && stdin_needs_name && o.filename_override.empty())
        throw Error("must specify --filename-override when reading from standard input",
                    exit_code::conflicting_options);
    if (o.in_place && !o.output.empty())
        throw Error("cannot operate on both --output and --in-place", exit_code::conflicting_options);
    s.name = o.filename_override.empty() ? s.input.absolute : fs::absolute(o.filename_override).lexically_normal();
    s.config = load_config(o.config);
    s.in_config = s.config ? s.config->stores() : sops::StoreConfig{};
    s.out_config = s.in_config;
    if (o.indent) s.out_config.yaml_indent = s.out_config.json_indent = s.out_config.json_binary_indent = *o.indent;
    s.in_format = choose_format(o.input_type, s.name);
    s.out_format = choose_format(o.output_type, s.name);
    return s;
}

namespace {

// The file a symbolic link points to, else the path itself. sops writes through a link
// (os.Create); the rename of an atomic write would instead replace the link and leave its
// target as it was: after `encrypt -i link.yaml` the plaintext would still sit in the target.
fs::path through_symlink(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_symlink(path, ec)) return path;
    fs::path target = fs::canonical(path, ec);
    return ec ? path : target;
}

}  // namespace

void write_result(std::string_view bytes, const InputFile& input, bool in_place, const std::string& output) {
    if (in_place) {
        io::atomic_write(through_symlink(input.absolute), bytes);
    } else if (!output.empty()) {
        io::atomic_write(through_symlink(output), bytes);
    } else {
        io::write_all(STDOUT_FILENO, bytes);
    }
}

}  // namespace gitsops::cli
