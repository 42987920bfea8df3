// Stores turn file bytes into documents and back, one per format, as sops' stores/ do.
// Internal to src/sops/; the engine (sops.hpp) is the public face.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sops/tree.hpp"

namespace gitsops::sops {

enum class Format { yaml, json, dotenv, ini, binary };

// Chosen by --input-type/--output-type, else by suffix of the whole path: .yaml/.yml, .json,
// .env, .ini; anything else is binary.
Format format_for_path(std::string_view path);
// "yaml", "json", "dotenv", "ini", "binary"; throws Error(usage) for anything else.
Format parse_format(std::string_view name);
const char* format_name(Format f);

// From `.sops.yaml` `stores:`; defaults as sops: YAML indent 4, JSON one TAB (-1).
struct StoreConfig {
    int yaml_indent = 4;
    int json_indent = -1;
    int json_binary_indent = -1;
};

class Store {
public:
    virtual ~Store() = default;
    // Plaintext file -> documents (each a mapping). Errors: Error(could_not_read_input) naming
    // line and column; empty input gives zero documents (the caller reports exit 92).
    virtual Documents load_plain(std::string_view text) const = 0;
    // Encrypted file -> documents without their metadata, plus the metadata as a mapping node
    // (dotenv and INI metadata already un-flattened back into nested mappings and sequences).
    // A file without metadata throws Error("sops metadata not found", could_not_read_input).
    virtual std::pair<Documents, Node> load_encrypted(std::string_view text) const = 0;
    virtual std::string emit_plain(const Documents& docs) const = 0;
    // `metadata` is the mapping the engine built (keys already in sops 3.13's sorted order).
    // YAML/JSON append it as key `sops` to every document; dotenv/INI flatten it.
    virtual std::string emit_encrypted(const Documents& docs, const Node& metadata) const = 0;
    // One value for `decrypt --extract`: a scalar is written raw (strings without quotes), a
    // mapping or sequence in this store's syntax.
    virtual std::string emit_value(const Node& value) const = 0;
};

std::unique_ptr<Store> make_store(Format format, const StoreConfig& config = {});

}  // namespace gitsops::sops
