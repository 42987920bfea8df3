#include "sops/store.hpp"

#include <string>

#include "base/error.hpp"
#include "sops/binary_store.hpp"
#include "sops/dotenv_store.hpp"
#include "sops/ini_store.hpp"
#include "sops/json_store.hpp"
#include "sops/yaml_store.hpp"

namespace gitsops::sops {

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

// sops' formats.FormatForPath: a plain suffix test on the whole path.
Format format_for_path(std::string_view path) {
    if (ends_with(path, ".yaml") || ends_with(path, ".yml")) return Format::yaml;
    if (ends_with(path, ".json")) return Format::json;
    if (ends_with(path, ".env")) return Format::dotenv;
    if (ends_with(path, ".ini")) return Format::ini;
    return Format::binary;
}

Format parse_format(std::string_view name) {
    if (name == "yaml") return Format::yaml;
    if (name == "json") return Format::json;
    if (name == "dotenv") return Format::dotenv;
    if (name == "ini") return Format::ini;
    if (name == "binary") return Format::binary;
    throw Error("unknown file type \"" + std::string(name) + "\" (expected yaml, json, dotenv, ini or binary)",
                exit_code::usage);
}

const char* format_name(Format f) {
    switch (f) {
        case Format::yaml: return "yaml";
        case Format::json: return "json";
        case Format::dotenv: return "dotenv";
        case Format::ini: return "ini";
        case Format::binary: return "binary";
    }
    return "binary";
}

std::unique_ptr<Store> make_store(Format format, const StoreConfig& config) {
    switch (format) {
        case Format::yaml: return make_yaml_store(config.yaml_indent);
        case Format::json: return make_json_store(config.json_indent);
        case Format::dotenv: return make_dotenv_store();
        case Format::ini: return make_ini_store();
        case Format::binary: return make_binary_store(config.json_binary_indent);
    }
    throw Error("unknown store format", exit_code::usage);
}

}  // namespace gitsops::sops
