// What `encrypt`, `decrypt` and `filestatus` share: the input file, store formats, the
// `.sops.yaml` in effect and writing the result. Internal to cli/.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "base/error.hpp"
#include "sops/sops.hpp"

namespace gitsops::cli {

// Text that held plaintext, wiped however the command ends.
struct WipedString {
    std::string text;
    WipedString() = default;
    explicit WipedString(std::string t) : text(std::move(t)) {}
    WipedString(const WipedString&) = delete;
    WipedString& operator=(const WipedString&) = delete;
    ~WipedString() { wipe(text); }
};

// The FILE argument: "-" or empty is standard input.
struct InputFile {
    std::string arg;
    bool from_stdin = false;
    std::filesystem::path absolute;  // empty for standard input

    // Error(no_file = 100) when a named file does not exist.
    static InputFile from_arg(const std::string& arg);
    // The whole input; standard input is read once.
    std::string read() const;
    // A store's parse error says "line:column: what"; for a named file this puts the name in
    // front, as compilers write it ("a.yaml:2:7: what"). Any other error comes back as it was.
    Error located(const Error& e) const;
};

// Runs `parse` (a store reading the input's bytes) with its parse errors located in the input.
template <class Parse>
decltype(auto) parsing(const InputFile& input, Parse&& parse) {
    try {
        return parse();
    } catch (const Error& e) {
        throw input.located(e);
    }
}

// The flags every file command shares.
struct FileOptions {
    std::string file;
    bool in_place = false;
    std::string output;
    std::string input_type, output_type;
    std::string filename_override;
    std::optional<int> indent;
    std::string config;
};
// Adds FILE, -i, --output, --input-type, --output-type, --filename-override, --indent, --config.
void add_file_options(CLI::App* cmd, FileOptions& o, std::string_view what);

// Those flags resolved: the input, the name that picks formats and rules, the config, the stores.
struct FileSetup {
    InputFile input;
    std::filesystem::path name;
    std::optional<sops::Config> config;
    sops::Format in_format = sops::Format::binary, out_format = sops::Format::binary;
    sops::StoreConfig in_config, out_config;  // --indent applies to the output only
};
// Error(conflicting_options = 8) for -i with standard input or with --output, and, when
// `stdin_needs_name`, for standard input without --filename-override.
FileSetup resolve(const FileOptions& o, bool stdin_needs_name);

// --input-type/--output-type if given, else the suffix of `name_for_type`.
sops::Format choose_format(const std::string& type_flag, const std::filesystem::path& name_for_type);

// The `.sops.yaml` in effect (--config, $SOPS_CONFIG, upward search), loaded; empty when none.
std::optional<sops::Config> load_config(const std::string& config_flag);

// Writes `bytes` in place (atomically, mode kept), to --output, or to standard output.
void write_result(std::string_view bytes, const InputFile& input, bool in_place, const std::string& output);

}  // namespace gitsops::cli
