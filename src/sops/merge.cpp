// Three-way merge of decrypted sops documents, per key path.
//
// Git merges text; a sops file's text changes everywhere (mac, lastmodified, IVs) whenever one
// value changes, so two branches that edited different keys of one Secret always conflict as
// text. Merging the decrypted trees instead gives the answer a reader expects: each key takes the
// side that changed it. Containers are compared as whole values first, so an unchanged subtree
// costs one comparison.
#include <algorithm>
#include <string>

#include "sops/sops.hpp"

namespace gitsops::sops {

namespace {

using Items = std::vector<MapItem, WipingAllocator<MapItem>>;
using Elements = std::vector<Node, WipingAllocator<Node>>;

bool same(const Node* a, const Node* b) {
    if (!a || !b) return a == b;
    return *a == *b;
}

std::optional<Node> copy(const Node* n) { return n ? std::optional<Node>(*n) : std::nullopt; }

// The comments of a mapping, in order: what decides whose layout (key order, comments) is kept.
Elements comments_of(const Node& mapping) {
    Elements out;
    for (const auto& item : mapping.items)
        if (item.is_comment()) out.push_back(item.key);
    return out;
}

Node sequence_of(Elements elements) {
    Node n = Node::sequence();
    n.elements = std::move(elements);
    return n;
}

const MapItem* find_item(const Items& items, std::string_view key) {
    for (const auto& item : items)
        if (!item.is_comment() && sv(item.key.text) == key) return &item;
    return nullptr;
}

bool is_prefix(const Elements& prefix, const Elements& of) {
    return prefix.size() <= of.size() && std::equal(prefix.begin(), prefix.end(), of.begin());
}

class Merger {
public:
    explicit Merger(const std::vector<MergeResolution>* resolutions) : resolutions_(resolutions) {}

    Documents documents(const Documents& base, const Documents& ours, const Documents& theirs) {
        Documents out;
        if (ours.size() == theirs.size() && (base.empty() || base.size() == ours.size())) {
            for (std::size_t d = 0; d < ours.size(); ++d) {
                document_ = d;
                const Node* b = d < base.size() ? &base[d] : nullptr;
                // Documents are mappings, merged key by key: never deleted as a whole.
                auto merged = value(b, &ours[d], &theirs[d]);
                out.push_back(merged ? std::move(*merged) : Node::mapping());
            }
            return out;
        }
        // Documents added or removed: per-index merging would pair unrelated documents.
        if (ours == theirs || theirs == base) return ours;
        if (ours == base) return theirs;
        MergeConflict c;
        c.kind = MergeConflict::Kind::documents;
        c.ours = sequence_of(Elements(ours.begin(), ours.end()));
        c.theirs = sequence_of(Elements(theirs.begin(), theirs.end()));
        const Node chosen = settle_sides(std::move(c));
        return Documents(chosen.elements.begin(), chosen.elements.end());
    }

    std::vector<MergeConflict> take_conflicts() { return std::move(conflicts_); }

    void finish() const {
        if (resolutions_ && next_ != resolutions_->size())
            throw Error("the resolutions do not match the conflicts of this merge (" +
                        std::to_string(resolutions_->size()) + " given, " + std::to_string(next_) + " conflicts)");
    }

private:
    // The merged value at the current path; nullopt when the key is deleted.
    std::optional<Node> value(const Node* b, const Node* o, const Node* t) {
        if (same(o, t) || same(t, b)) return copy(o);
        if (same(o, b)) return copy(t);
        if (o && t && o->type == Node::Type::mapping && t->type == Node::Type::mapping &&
            (!b || b->type == Node::Type::mapping))
            return mapping(b, *o, *t);
        if (o && t && o->type == Node::Type::sequence && t->type == Node::Type::sequence &&
            (!b || b->type == Node::Type::sequence)) {
            if (auto appended = both_appended(b, *o, *t)) return appended;
        }
        return conflict(b, o, t);
    }

    // Both sides kept the base's elements and added after them: base, ours' tail, theirs' tail.
    static std::optional<Node> both_appended(const Node* b, const Node& o, const Node& t) {
        static const Elements none;
        const Elements& base = b ? b->elements : none;
        if (!is_prefix(base, o.elements) || !is_prefix(base, t.elements)) return std::nullopt;
        Node out = o;
        out.elements.insert(out.elements.end(), t.elements.begin() + static_cast<std::ptrdiff_t>(base.size()),
                            t.elements.end());
        return out;
    }

    Node mapping(const Node* b, const Node& o, const Node& t) {
        static const Node empty = Node::mapping();
        const Node& base = b ? *b : empty;
        // Values, key by key: ours' keys, then keys only theirs has (keys only the base has were
        // deleted on both sides).
        std::vector<std::pair<SString, std::optional<Node>>> merged;
        auto merge_key = [&](const SString& key) {
            path_.push_back(PathStep{false, std::string(sv(key)), 0});
            const MapItem* bi = find_item(base.items, sv(key));
            const MapItem* oi = find_item(o.items, sv(key));
            const MapItem* ti = find_item(t.items, sv(key));
            merged.emplace_back(key, value(bi ? &bi->value : nullptr, oi ? &oi->value : nullptr,
                                           ti ? &ti->value : nullptr));
            path_.pop_back();
        };
        for (const auto& item : o.items)
            if (!item.is_comment()) merge_key(item.key.text);
        for (const auto& item : t.items)
            if (!item.is_comment() && !find_item(o.items, sv(item.key.text))) merge_key(item.key.text);
        for (const auto& item : base.items)
            if (!item.is_comment() && !find_item(o.items, sv(item.key.text)) && !find_item(t.items, sv(item.key.text)))
                merge_key(item.key.text);
        return layout(base, o, t, merged);
    }

    // Key order and comments come from the side that changed the comments (ours when neither or
    // both did the same); keys the other side added go after the key that precedes them there.
    Node layout(const Node& base, const Node& o, const Node& t,
                const std::vector<std::pair<SString, std::optional<Node>>>& merged) {
        const Elements cb = comments_of(base), co = comments_of(o), ct = comments_of(t);
        bool theirs_layout = co == cb && ct != cb;
        if (co != cb && ct != cb && co != ct) {
            MergeConflict c;
            c.kind = MergeConflict::Kind::comments;
            c.ours = sequence_of(co);
            c.theirs = sequence_of(ct);
            theirs_layout = settle_sides(std::move(c)) == sequence_of(ct);
        }
        const Node& skeleton = theirs_layout ? t : o;
        const Node& other = theirs_layout ? o : t;
        auto value_of = [&](std::string_view key) -> const std::optional<Node>* {
            for (const auto& [k, v] : merged)
                if (sv(k) == key) return &v;
            return nullptr;
        };
        Node out = Node::mapping();
        for (const auto& item : skeleton.items) {
            if (item.is_comment()) {
                out.items.push_back(item);
                continue;
            }
            const auto* v = value_of(sv(item.key.text));
            if (v && *v) out.items.push_back(MapItem{item.key, **v});
        }
        // Keys only the other side has (its additions), in its order.
        for (std::size_t i = 0; i < other.items.size(); ++i) {
            const MapItem& item = other.items[i];
            if (item.is_comment() || find_item(skeleton.items, sv(item.key.text))) continue;
            const auto* v = value_of(sv(item.key.text));
            if (!v || !*v) continue;
            out.items.insert(out.items.begin() + static_cast<std::ptrdiff_t>(insert_at(out, other, i)),
                             MapItem{item.key, **v});
        }
        return out;
    }

    // Right after the nearest key before other.items[i] (in `other`) that `out` already has, else
    // right before the nearest one after it, else at the end.
    static std::size_t insert_at(const Node& out, const Node& other, std::size_t i) {
        auto position = [&](const MapItem& item) -> std::optional<std::size_t> {
            if (item.is_comment()) return std::nullopt;
            for (std::size_t j = 0; j < out.items.size(); ++j)
                if (!out.items[j].is_comment() && out.items[j].key.text == item.key.text) return j;
            return std::nullopt;
        };
        for (std::size_t k = i; k-- > 0;)
            if (auto j = position(other.items[k])) return *j + 1;
        for (std::size_t k = i + 1; k < other.items.size(); ++k)
            if (auto j = position(other.items[k])) return *j;
        return out.items.size();
    }

    std::optional<Node> conflict(const Node* b, const Node* o, const Node* t) {
        MergeConflict c;
        c.kind = !o ? MergeConflict::Kind::deleted_ours
                 : !t ? MergeConflict::Kind::deleted_theirs
                 : !b ? MergeConflict::Kind::added_both
                      : MergeConflict::Kind::changed_both;
        c.document = document_;
        c.path = path_;
        c.ours = copy(o);
        c.theirs = copy(t);
        return settle(std::move(c));
    }

    // The value a conflict takes: its resolution, else ours'.
    std::optional<Node> settle(MergeConflict c) {
        std::optional<Node> out = c.ours;
        if (resolutions_) {
            if (next_ >= resolutions_->size())
                throw Error("the resolutions do not match the conflicts of this merge (more conflicts than "
                            "resolutions)");
            out = (*resolutions_)[next_];
        }
        ++next_;
        conflicts_.push_back(std::move(c));
        return out;
    }

    // Conflicts whose resolution must be one of the two sides (comments, documents).
    Node settle_sides(MergeConflict c) {
        const Node o = *c.ours, t = *c.theirs;
        const std::optional<Node> chosen = settle(std::move(c));
        if (!chosen || (*chosen != o && *chosen != t))
            throw Error("a conflict of comments or documents can only take ours' or theirs' version");
        return *chosen;
    }

    const std::vector<MergeResolution>* resolutions_;
    std::size_t next_ = 0;
    std::size_t document_ = 0;
    std::vector<PathStep> path_;
    std::vector<MergeConflict> conflicts_;
};

}  // namespace

void IvStash::absorb(const IvStash& other) {
    for (const auto& [key, entry] : other.entries_) {
        auto& mine = entries_[key].ivs;
        for (const auto& iv : entry.ivs)
            if (std::find(mine.begin(), mine.end(), iv) == mine.end()) mine.push_back(iv);
    }
}

std::string_view conflict_kind_text(MergeConflict::Kind kind) {
    switch (kind) {
        case MergeConflict::Kind::changed_both: return "changed on both sides";
        case MergeConflict::Kind::added_both: return "added on both sides with different values";
        case MergeConflict::Kind::deleted_ours: return "deleted in ours, changed in theirs";
        case MergeConflict::Kind::deleted_theirs: return "changed in ours, deleted in theirs";
        case MergeConflict::Kind::comments: return "comments changed on both sides";
        case MergeConflict::Kind::documents: return "documents added or removed on both sides";
    }
    return "conflict";
}

std::string conflict_path_text(const MergeConflict& conflict) {
    return conflict.kind == MergeConflict::Kind::documents ? "(the list of documents)" : tree_path_text(conflict.path);
}

std::string tree_path_text(std::span<const PathStep> path) {
    if (path.empty()) return "[]";
    std::string out;
    for (const auto& step : path) {
        if (step.is_index) {
            out += "[" + std::to_string(step.index) + "]";
            continue;
        }
        out += "[\"" + step.key + "\"]";  // sops' tree paths have no escapes
    }
    return out;
}

MergeResult merge_documents(const Documents& base, const Documents& ours, const Documents& theirs,
                            const std::vector<MergeResolution>* resolutions) {
    Merger merger(resolutions);
    MergeResult out;
    out.merged = merger.documents(base, ours, theirs);
    merger.finish();
    out.conflicts = merger.take_conflicts();
    return out;
}

}  // namespace gitsops::sops
