// `decrypt --extract` (cmd/sops/main.go parseTreePath, sops.go Truncate).
#include "sops/sops.hpp"

#include <charconv>

namespace gitsops::sops {

namespace {
[[noreturn]] void bad_path(const std::string& why) {
    throw Error("error parsing --extract path: " + why, exit_code::invalid_tree_path);
}
}  // namespace

std::vector<PathStep> parse_tree_path(std::string_view text) {
    std::vector<PathStep> path;
    while (!text.empty()) {
        auto open = text.find('[');
        std::string_view component = text.substr(0, open);
        text = open == std::string_view::npos ? std::string_view{} : text.substr(open + 1);
        if (component.empty()) continue;
        if (component.back() != ']') bad_path("component " + std::string(component) + " doesn't end with ]");
        component.remove_suffix(1);
        if (component.empty()) bad_path("empty component []");
        PathStep step;
        if (component.front() == '"' || component.front() == '\'') {
            if (component.size() < 2) bad_path("unterminated string component");
            step.key = std::string(component.substr(1, component.size() - 2));
        } else {
            long long index = 0;
            auto [end, ec] = std::from_chars(component.data(), component.data() + component.size(), index);
            if (ec != std::errc() || end != component.data() + component.size())
                bad_path("component " + std::string(component) + " is neither a quoted string nor an integer");
            if (index < 0) bad_path("negative index " + std::string(component));
            step.is_index = true;
            step.index = static_cast<std::size_t>(index);
        }
        path.push_back(std::move(step));
    }
    return path;
}

const Node& extract(const Documents& documents, std::span<const PathStep> path) {
    if (documents.empty()) throw Error("error truncating tree: the file has no document");
    const Node* current = &documents[0];
    for (const auto& step : path) {
        if (step.is_index) {
            if (current->type != Node::Type::sequence)
                throw Error("error truncating tree: component [" + std::to_string(step.index) +
                            "] is integer, but tree part is not a slice");
            if (step.index >= current->elements.size())
                throw Error("error truncating tree: component [" + std::to_string(step.index) +
                            "] accesses out of bounds");
            current = &current->elements[step.index];
        } else {
            const Node* next = current->type == Node::Type::mapping ? current->find(step.key) : nullptr;
            if (!next) throw Error("error truncating tree: component ['" + step.key + "'] not found");
            current = next;
        }
    }
    return *current;
}

}  // namespace gitsops::sops
