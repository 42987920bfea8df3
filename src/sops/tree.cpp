#include "sops/tree.hpp"

namespace gitsops::sops {

const Node* Node::find(std::string_view key) const {
    for (const auto& it : items)
        if (!it.is_comment() && sv(it.key.text) == key) return &it.value;
    return nullptr;
}

Node* Node::find(std::string_view key) {
    for (auto& it : items)
        if (!it.is_comment() && sv(it.key.text) == key) return &it.value;
    return nullptr;
}

void Node::add(std::string_view key, Node value) { items.push_back(MapItem{Node::string(key), std::move(value)}); }

bool Node::operator==(const Node& o) const {
    if (type != o.type) return false;
    switch (type) {
        case Type::null: return true;
        case Type::string:
        case Type::time: return text == o.text;
        case Type::comment: return text == o.text && inline_comment == o.inline_comment;
        case Type::integer: return i == o.i;
        case Type::floating: return f == o.f || (f != f && o.f != o.f);
        case Type::boolean: return b == o.b;
        case Type::mapping: return items == o.items;
        case Type::sequence: return elements == o.elements;
    }
    return false;
}

}  // namespace gitsops::sops
