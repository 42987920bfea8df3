#include "sops/yaml_store.hpp"

#include "base/error.hpp"
#include "sops/store_util.hpp"
#include "sops/yaml_emit.hpp"
#include "sops/yaml_load.hpp"

namespace gitsops::sops {

namespace {

constexpr int kDefaultIndent = 4;

class YamlStore final : public Store {
public:
    explicit YamlStore(int indent) : indent_(indent == 0 ? kDefaultIndent : indent) {}

    Documents load_plain(std::string_view text) const override { return yaml::load_documents(text); }

    std::pair<Documents, Node> load_encrypted(std::string_view text) const override {
        Documents docs = yaml::load_documents(text);
        Node metadata = detail::extract_metadata(docs);
        return {std::move(docs), std::move(metadata)};
    }

    std::string emit_plain(const Documents& docs) const override {
        return yaml::emit_documents(docs, checked_indent());
    }

    std::string emit_encrypted(const Documents& docs, const Node& metadata) const override {
        for (const auto& doc : docs)
            for (const auto& item : doc.items)
                if (!item.is_comment()) detail::check_reserved_key(sv(item.key.text), false);
        return yaml::emit_documents(docs, checked_indent(), &metadata);
    }

    // sops prints a string raw and a mapping as a document; anything else goes through
    // yaml.Marshal, which always indents by 4.
    std::string emit_value(const Node& value) const override {
        if (value.type == Node::Type::string) return std::string(sv(value.text));
        if (value.type == Node::Type::mapping) return emit_plain(Documents{value});
        return yaml::emit_single_value(value);
    }

private:
    int checked_indent() const {
        if (indent_ < 0) throw Error("YAML Negative indentation not accepted", exit_code::error_dumping_tree);
        return indent_;
    }

    int indent_;
};

}  // namespace

std::unique_ptr<Store> make_yaml_store(int indent) { return std::make_unique<YamlStore>(indent); }

}  // namespace gitsops::sops
