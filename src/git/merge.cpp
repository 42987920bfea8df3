// The merge driver's core: decrypt three sides, merge the trees, encrypt the result minimally.
#include "git/merge.hpp"

#include <git2.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "crypto/crypto.hpp"

namespace gitsops::git {

namespace {

using Groups = std::vector<std::vector<std::string>>;

// One side of the merge: absent (no common ancestor), plaintext, or an opened sops file.
struct Side {
    std::string_view name;
    std::string_view bytes;
    bool present = true;
    sops::Documents plaintext;
    std::optional<sops::OpenedFile> opened;

    bool is_sops() const { return opened.has_value(); }
};

Side read_side(FilterContext& context, std::string_view name, std::span<const std::uint8_t> bytes,
               sops::Format format, std::string_view path, bool may_be_absent) {
    Side side;
    side.name = name;
    side.bytes = view_of(bytes);
    const sops::StoreConfig stores = context.stores();
    if (bytes.empty() && may_be_absent) {
        side.present = false;
        return side;
    }
    if (may_be_sops(side.bytes) && sops::is_encrypted(side.bytes, format, stores)) {
        std::string why;
        side.opened = open_sops(context, side.bytes, format, why);
        if (!side.opened)
            throw Error("cannot merge " + std::string(path) + ": no identity opens " + std::string(name) +
                            (why.empty() ? "" : " (" + why + ")") +
                            "; with a key at hand (SOPS_AGE_KEY_FILE, ...) run `git sops resolve " +
                            std::string(path) + "`",
                        exit_code::could_not_retrieve_key);
        side.plaintext = side.opened->plaintext;
        return side;
    }
    side.plaintext = sops::make_store(format, stores)->load_plain(side.bytes);
    return side;
}

// Age recipients per key group, sorted within each group (sops compares groups as sets).
std::optional<Groups> groups_of(const Side& side) {
    if (!side.is_sops()) return std::nullopt;
    Groups out;
    for (const auto& group : side.opened->metadata.key_groups) {
        std::vector<std::string> g;
        for (const auto& e : group.age) g.push_back(e.recipient);
        std::sort(g.begin(), g.end());
        out.push_back(std::move(g));
    }
    return out;
}

bool same_key(const Side& a, const Side& b) {
    return a.is_sops() && b.is_sops() && crypto::equal_ct(a.opened->key.span(), b.opened->key.span());
}

// ---- text merge (files that are not sops files) ------------------------------------------------

MergeOutcome text_merge(const MergeSides& sides, std::string_view path, int marker_size) {
    const Library library;  // libgit2's allocator and error state (no repository is opened here)
    auto input = [&](std::span<const std::uint8_t> b) {
        git_merge_file_input in = GIT_MERGE_FILE_INPUT_INIT;
        in.ptr = reinterpret_cast<const char*>(b.data());
        in.size = b.size();
        in.path = nullptr;
        in.mode = 0100644;
        return in;
    };
    const git_merge_file_input base = input(sides.base), ours = input(sides.ours), theirs = input(sides.theirs);
    git_merge_file_options options = GIT_MERGE_FILE_OPTIONS_INIT;
    options.ancestor_label = "base";
    options.our_label = "ours";
    options.their_label = "theirs";
    options.marker_size = static_cast<unsigned short>(std::clamp(marker_size, 1, 255));
    git_merge_file_result result{};
    if (git_merge_file(&result, &base, &ours, &theirs, &options) != 0) {
        const git_error* e = git_error_last();
        throw Error("cannot merge " + std::string(path) + " as text: " + (e && e->message ? e->message : "libgit2 error"));
    }
    MergeOutcome out;
    out.result = secure_copy(std::span(reinterpret_cast<const std::uint8_t*>(result.ptr), result.len));
    out.clean = result.automergeable != 0;
    git_merge_file_result_free(&result);
    return out;
}

// ---- sops merge -------------------------------------------------------------------------------

class SopsMerge {
public:
    SopsMerge(FilterContext& context, std::string_view path, Side& base, Side& ours, Side& theirs)
        : context_(context), path_(path), base_(base), ours_(ours), theirs_(theirs) {}

    MergeOutcome run(const std::vector<sops::MergeResolution>* resolutions) {
        sops::MergeResult merged = sops::merge_documents(base_.plaintext, ours_.plaintext, theirs_.plaintext, resolutions);
        MergeOutcome out;
        out.structured = true;
        out.conflicts = std::move(merged.conflicts);
        out.clean = out.conflicts.empty() || resolutions != nullptr;
        out.documents = merged.merged.size();
        out.result = encrypt(std::move(merged.merged));
        return out;
    }

private:
    // The side whose data key the result keeps: ours, unless only theirs changed it.
    Side& key_side() {
        if (!ours_.is_sops()) return theirs_;
        if (theirs_.is_sops() && base_.is_sops() && same_key(ours_, base_) && !same_key(theirs_, base_))
            return theirs_;
        return ours_;
    }

    // Recipients as a value: the side that changed them wins; both changed differently -> rule.
    Groups recipients(const Side& keyed, const Side& other) {
        const Groups mine = *groups_of(keyed);
        const auto theirs = groups_of(other), base = groups_of(base_);
        if (!theirs || *theirs == mine || theirs == base) return mine;
        if (base && mine == *base) return *theirs;
        if (auto rule = context_.rule_for(path_)) {
            Groups wanted = rule->age_groups;
            for (auto& g : wanted) std::sort(g.begin(), g.end());
            return wanted;
        }
        return mine;
    }

    SecureBytes encrypt(sops::Documents merged) {
        Side& keyed = key_side();
        Side& other = &keyed == &ours_ ? theirs_ : ours_;
        const Groups wanted = recipients(keyed, other);
        sops::OpenedFile& previous = *keyed.opened;

        // A result equal to one side (with that side's recipients) is that side's blob.
        for (const Side* s : {&keyed, &other})
            if (s->is_sops() && s->opened->plaintext == merged && *groups_of(*s) == wanted && same_key(*s, keyed))
                return secure_copy(s->bytes);

        if (same_key(keyed, other)) previous.stash.absorb(other.opened->stash);
        sops::Metadata metadata = previous.metadata;
        if (*groups_of(keyed) != wanted) {
            if (same_key(keyed, other) && *groups_of(other) == wanted) {
                metadata.key_groups = other.opened->metadata.key_groups;  // theirs' entries wrap our key
                metadata.shamir_threshold = other.opened->metadata.shamir_threshold;
            } else {
                int threshold = rule_threshold(wanted);
                metadata.key_groups = sops::wrap_data_key(previous.key, wanted, threshold);
                metadata.shamir_threshold = threshold;
            }
        }
        const sops::Format format = sops::format_for_path(path_);
        return secure_copy(sops::encrypt_next(previous, std::move(metadata), std::move(merged), format, context_.stores()));
    }

    // Shamir threshold for newly wrapped groups: the rule's when it asks for these groups.
    int rule_threshold(const Groups& wanted) {
        if (auto rule = context_.rule_for(path_); rule && rule->age_groups.size() == wanted.size())
            return rule->shamir_threshold;
        return 0;
    }

    FilterContext& context_;
    std::string path_;
    Side& base_;
    Side& ours_;
    Side& theirs_;
};

}  // namespace

MergeOutcome merge_file(FilterContext& context, std::string_view path, const MergeSides& sides, int marker_size,
                        const std::vector<sops::MergeResolution>* resolutions) {
    const bool any_sops = may_be_sops(view_of(sides.base)) || may_be_sops(view_of(sides.ours)) ||
                          may_be_sops(view_of(sides.theirs));
    if (!any_sops) return text_merge(sides, path, marker_size);
    const sops::Format format = sops::format_for_path(path);
    Side base = read_side(context, "the base version", sides.base, format, path, true);
    Side ours = read_side(context, "our version", sides.ours, format, path, false);
    Side theirs = read_side(context, "their version", sides.theirs, format, path, false);
    // Encrypted on neither branch (whatever the base was): the branches' text is what they hold.
    if (!ours.is_sops() && !theirs.is_sops()) return text_merge(sides, path, marker_size);
    return SopsMerge(context, path, base, ours, theirs).run(resolutions);
}

}  // namespace gitsops::git
