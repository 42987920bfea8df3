#include "sops/binary_store.hpp"

#include <string>

#include "base/error.hpp"
#include "sops/json_store.hpp"

namespace gitsops::sops {

namespace {

[[noreturn]] void emit_error(std::string_view why) {
    throw Error("error emitting binary store: " + std::string(why), exit_code::error_dumping_tree);
}

class BinaryStore final : public Store {
public:
    explicit BinaryStore(int json_indent) : json_(make_json_store(json_indent)) {}

    Documents load_plain(std::string_view text) const override {
        Node doc = Node::mapping();
        doc.add("data", Node::string(text));
        Documents docs;
        docs.push_back(std::move(doc));
        return docs;
    }

    std::pair<Documents, Node> load_encrypted(std::string_view text) const override {
        return json_->load_encrypted(text);
    }

    std::string emit_plain(const Documents& docs) const override {
        if (docs.size() != 1) emit_error("there must be exactly one tree branch");
        const Node* data = docs[0].find("data");
        if (!data) emit_error("no binary data found in tree");
        if (data->type != Node::Type::string) emit_error("'data' key in tree does not have a string value");
        return std::string(sv(data->text));
    }

    std::string emit_encrypted(const Documents& docs, const Node& metadata) const override {
        return json_->emit_encrypted(docs, metadata);
    }

    std::string emit_value(const Node& value) const override {
        if (value.type == Node::Type::string) return std::string(sv(value.text));
        if (value.type == Node::Type::mapping) return emit_plain(Documents{value});
        throw Error("Binary files are not structured and extracting a single value is not possible",
                    exit_code::error_dumping_tree);
    }

private:
    std::unique_ptr<Store> json_;
};

}  // namespace

std::unique_ptr<Store> make_binary_store(int json_indent) { return std::make_unique<BinaryStore>(json_indent); }

}  // namespace gitsops::sops
