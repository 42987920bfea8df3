// Encrypting and decrypting documents (sops.go walkBranch/walkSlice, Encrypt, Decrypt) and the
// file-level flows built on them.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "sops/cipher.hpp"
#include "sops/mac.hpp"
#include "sops/selector.hpp"
#include "sops/sops.hpp"

namespace gitsops::sops {

namespace {

// Walks documents as sops does: mapping keys form the path (sequence indexes do not), comments
// feed the comment stack, and every leaf (scalar or comment) is replaced by what `on_leaf`
// returns. `on_leaf(const Node& leaf, std::string_view aad, bool encrypted, const Walker&)`.
class Walker {
public:
    explicit Walker(const CompiledSelector& selector) : selector_(selector) {}

    template <class OnLeaf>
    void walk_document(Node& doc, OnLeaf& on_leaf) {
        if (doc.type != Node::Type::mapping)
            throw Error("a document must be a mapping", exit_code::could_not_read_input);
        walk_mapping(doc, on_leaf);
    }

    // `a.b[0].c`, for messages: unlike the AAD it names list positions too.
    std::string display_path() const {
        std::string out;
        for (const auto& s : steps_) {
            if (s.is_index) {
                out += '[' + std::to_string(s.index) + ']';
            } else {
                if (!out.empty()) out += '.';
                out.append(s.key);
            }
        }
        return out.empty() ? std::string("(top level)") : out;
    }

private:
    struct Step {
        std::string_view key;
        std::size_t index = 0;
        bool is_index = false;
    };

    std::string_view aad() const { return aad_.empty() ? std::string_view(":") : std::string_view(aad_); }

    template <class OnLeaf>
    Node leaf(const Node& n, OnLeaf& on_leaf) {
        bool encrypted = selector_.should_encrypt(matched_keys_, comments_, n.is_comment());
        return on_leaf(n, aad(), encrypted, *this);
    }

    template <class OnLeaf>
    void walk_value(Node& n, OnLeaf& on_leaf) {
        switch (n.type) {
            case Node::Type::mapping:
                walk_mapping(n, on_leaf);
                break;
            case Node::Type::sequence:
                walk_sequence(n, on_leaf);
                break;
            case Node::Type::null:
                break;  // never encrypted, never hashed
            default:
                n = leaf(n, on_leaf);
        }
    }

    template <class OnLeaf>
    void walk_mapping(Node& m, OnLeaf& on_leaf) {
        comments_.push_level();
        for (auto& item : m.items) {
            if (item.key.is_comment()) {
                comments_.add(sv(item.key.text));
                Node r = leaf(item.key, on_leaf);
                if (r.type == Node::Type::string) r = Node::comment(sv(r.text), item.key.inline_comment);
                if (!r.is_comment())
                    throw Error(display_path() + ": a comment decrypted to a value that is not text",
                                exit_code::error_decrypting_tree);
                item.key = std::move(r);
                continue;
            }
            if (item.key.type != Node::Type::string)
                throw Error(display_path() + ": tree contains a non-string key", exit_code::could_not_read_input);
            bool value_is_comment = item.value.is_comment();
            if (value_is_comment) comments_.add(sv(item.value.text));
            enter_key(sv(item.key.text));
            walk_value(item.value, on_leaf);
            leave_key();
            if (!value_is_comment) comments_.clear_level();
        }
        comments_.pop_level();
    }

    template <class OnLeaf>
    void walk_sequence(Node& s, OnLeaf& on_leaf) {
        comments_.push_level();
        for (std::size_t i = 0; i < s.elements.size(); ++i) {
            Node& e = s.elements[i];
            bool is_comment = e.is_comment();
            if (is_comment) comments_.add(sv(e.text));
            steps_.push_back(Step{{}, i, true});
            walk_value(e, on_leaf);
            steps_.pop_back();
            if (!is_comment) comments_.clear_level();
        }
        comments_.pop_level();
    }

    void enter_key(std::string_view key) {
        steps_.push_back(Step{key, 0, false});
        aad_marks_.push_back(aad_.size());
        aad_.append(key).push_back(':');
        bool matched = selector_.uses_keys() && selector_.key_matches(key);
        key_matched_.push_back(matched);
        matched_keys_ += matched ? 1 : 0;
    }

    void leave_key() {
        matched_keys_ -= key_matched_.back() ? 1 : 0;
        key_matched_.pop_back();
        aad_.resize(aad_marks_.back());
        aad_marks_.pop_back();
        steps_.pop_back();
    }

    const CompiledSelector& selector_;
    CommentStack comments_;
    std::string aad_;  // "k1:k2:" (keys are cleartext in the file, so a plain string is fine)
    std::vector<std::size_t> aad_marks_;
    std::vector<bool> key_matched_;
    std::size_t matched_keys_ = 0;
    std::vector<Step> steps_;
};

const char* type_name(Node::Type t) {
    switch (t) {
        case Node::Type::null:
            return "null";
        case Node::Type::string:
            return "string";
        case Node::Type::integer:
            return "integer";
        case Node::Type::floating:
            return "float";
        case Node::Type::boolean:
            return "boolean";
        case Node::Type::time:
            return "timestamp";
        case Node::Type::comment:
            return "comment";
        case Node::Type::mapping:
            return "mapping";
        case Node::Type::sequence:
            return "sequence";
    }
    return "value";
}

struct DecryptLeaf {
    const ValueCipher& cipher;
    MacHasher& mac;
    bool mac_only_encrypted;
    bool keep_inline_comments;

    Node operator()(const Node& in, std::string_view aad, bool encrypted, const Walker& where) {
        const bool is_comment = in.is_comment();
        Node v;
        if (!encrypted) {
            v = in;
        } else if (is_comment) {
            try {
                v = cipher.decrypt(sv(in.text), aad);
                if (keep_inline_comments && v.is_comment()) v.inline_comment = in.inline_comment;
            } catch (const CipherError&) {
                v = in;  // a clear comment, as older sops versions left them
            }
        } else if (in.type == Node::Type::string) {
            try {
                v = cipher.decrypt(sv(in.text), aad);
            } catch (const CipherError& e) {
                throw Error(where.display_path() + ": could not decrypt value: " + e.what(),
                            exit_code::error_decrypting_tree);
            }
        } else {
            throw Error(where.display_path() + ": expected an encrypted value, found a plain " + type_name(in.type),
                        exit_code::error_decrypting_tree);
        }
        // A decrypted `- ENC[...,type:comment]` element is hashed like a value, as sops 3.13.2
        // does: such files (its own output for comments in sequences) fail the MAC check.
        if ((!mac_only_encrypted || encrypted) && !is_comment) mac.add(v);
        return v;
    }
};

struct EncryptLeaf {
    const ValueCipher& cipher;
    const CompiledSelector& selector;
    MacHasher& mac;
    bool mac_only_encrypted;

    Node operator()(const Node& in, std::string_view aad, bool encrypted, const Walker& where) {
        const bool is_comment = in.is_comment();
        if ((!mac_only_encrypted || encrypted) && !is_comment) mac.add(in);
        if (!encrypted) return in;
        std::string enc = cipher.encrypt(in, aad);
        if (is_comment) {
            if (selector.unencrypted_comment_matches(enc))
                throw Error(where.display_path() +
                                ": an encrypted comment matches unencrypted_comment_regex; "
                                "make sure that regex cannot match an encrypted comment",
                            exit_code::error_encrypting_tree);
            // Also inside sequences, where sops 3.13.2 writes a bare string element instead.
            return Node::comment(enc, in.inline_comment);
        }
        return enc.empty() ? in : Node::string(enc);
    }
};

bool has_sops_key(const Node& doc, Format format) {
    for (const auto& it : doc.items) {
        if (it.is_comment()) continue;
        std::string_view k = sv(it.key.text);
        if (format == Format::dotenv ? k.starts_with("sops_") : k == "sops") return true;
    }
    return false;
}

// "3.9.0" < "3.13.2", numerically per component; anything unparsable counts as older.
bool version_older_than_ours(std::string_view v) {
    auto parts = [](std::string_view s) {
        std::vector<long> out;
        while (!s.empty()) {
            auto dot = s.find('.');
            std::string_view p = s.substr(0, dot);
            long n = 0;
            for (char c : p) {
                if (c < '0' || c > '9') return std::vector<long>{};
                n = n * 10 + (c - '0');
            }
            out.push_back(n);
            if (dot == std::string_view::npos) break;
            s.remove_prefix(dot + 1);
        }
        return out;
    };
    auto mine = parts(kSopsVersion), theirs = parts(v);
    return theirs.empty() || theirs < mine;
}

// The selector of the last call on this thread, compiled once: a git filter encrypts thousands
// of files under one creation rule, and compiling its regex for each was 3% of a `git add`.
// Shared ownership keeps a caller's copy alive if a nested call replaces the entry.
std::shared_ptr<const CompiledSelector> compiled_selector(const Selector& selector, bool strict) {
    struct Entry {
        Selector selector;
        bool strict = false;
        std::shared_ptr<const CompiledSelector> compiled;
    };
    thread_local Entry last;
    if (!last.compiled || last.strict != strict || !(last.selector == selector)) {
        auto compiled = std::make_shared<const CompiledSelector>(selector, strict);  // may throw: entry kept
        last = Entry{selector, strict, std::move(compiled)};
    }
    return last.compiled;
}

}  // namespace

bool is_metadata_not_found(const Error& e) {
    return std::string_view(e.what()).find("sops metadata not found") != std::string_view::npos;
}

void decrypt_documents(Documents& documents, const Metadata& metadata, const DataKey& key,
                       const DecryptOptions& options) {
    const auto compiled = compiled_selector(metadata.effective_selector(), false);
    const CompiledSelector& selector = *compiled;
    ValueCipher cipher(key, options.stash);
    MacHasher mac(metadata.mac_only_encrypted);
    DecryptLeaf on_leaf{cipher, mac, metadata.mac_only_encrypted, options.keep_inline_comments};
    for (auto& doc : documents) {
        Walker walker(selector);
        walker.walk_document(doc, on_leaf);
    }
    std::string computed = mac.finish();

    std::string aad = normalize_lastmodified(metadata.lastmodified);
    Node stored;
    try {
        stored = cipher.decrypt(metadata.mac, aad);
    } catch (const CipherError&) {
        if (options.ignore_mac) return;
        throw Error("sops.mac: cannot decrypt the MAC (was sops.mac or sops.lastmodified changed?)",
                    exit_code::mac_mismatch);
    }
    if (options.ignore_mac) return;
    if (stored.type != Node::Type::string || sv(stored.text).empty())
        throw Error("sops.mac: MAC mismatch: the file has no MAC", exit_code::mac_mismatch);
    // The hashes are not printed (sops does): the stored one is a digest of the plaintext values.
    if (!crypto::equal_ct(bytes_of(sv(stored.text)), bytes_of(computed)))
        throw Error(
            "sops.mac: MAC mismatch: the values, their order or sops.lastmodified changed since the file "
            "was written",
            exit_code::mac_mismatch);
}

void encrypt_documents(Documents& documents, Metadata& metadata, const DataKey& key, const EncryptOptions& options) {
    const auto compiled = compiled_selector(metadata.effective_selector(), true);
    const CompiledSelector& selector = *compiled;
    ValueCipher cipher(key, options.stash);
    MacHasher mac(metadata.mac_only_encrypted);
    EncryptLeaf on_leaf{cipher, selector, mac, metadata.mac_only_encrypted};
    for (auto& doc : documents) {
        Walker walker(selector);
        walker.walk_document(doc, on_leaf);
    }
    metadata.lastmodified =
        options.lastmodified.empty() ? now_lastmodified() : normalize_lastmodified(options.lastmodified);
    std::string computed = mac.finish();
    metadata.mac = cipher.encrypt_text(computed, metadata.lastmodified);
}

std::string encrypt_plaintext(std::string_view plaintext, const CreationRule& settings, Format input_format,
                              Format output_format, const StoreConfig& input_config, const StoreConfig& output_config) {
    // The binary store's one value is always encrypted: selectors are ignored (sops >= 3.11).
    Selector selector =
        input_format == Format::binary ? Selector{} : selector_from(settings.selectors, exit_code::conflicting_options);
    Documents docs = load_plain_for_encryption(plaintext, input_format, input_config);
    DataKey key = generate_data_key();
    int threshold = settings.shamir_threshold;
    auto groups = wrap_data_key(key, settings.age_groups, threshold);
    // As sops, the threshold is recorded whenever it was given (or defaulted for several groups).
    Metadata md =
        new_metadata(input_format, std::move(selector), settings.mac_only_encrypted, std::move(groups), threshold);
    encrypt_documents(docs, md, key);
    return emit_encrypted(docs, md, output_format, output_config);
}

Metadata new_metadata(Format format, Selector selector, bool mac_only_encrypted, std::vector<KeyGroup> key_groups,
                      int shamir_threshold) {
    Metadata md;
    // The binary store holds one value that is always encrypted: sops >= 3.11 records no selector.
    if (format == Format::binary) {
        selector = Selector{};
        mac_only_encrypted = false;
    } else if (selector.kind == SelectorKind::none) {
        selector = default_selector();
    }
    md.selector = std::move(selector);
    md.mac_only_encrypted = mac_only_encrypted;
    md.key_groups = std::move(key_groups);
    md.shamir_threshold = shamir_threshold;
    md.version = std::string(kSopsVersion);
    return md;
}

EncryptedFile load_encrypted(std::string_view bytes, Format format, const StoreConfig& config) {
    auto store = make_store(format, config);
    auto [docs, meta] = store->load_encrypted(bytes);
    return EncryptedFile{std::move(docs), parse_metadata(meta)};
}

bool is_encrypted(std::string_view bytes, Format format, const StoreConfig& config) {
    try {
        EncryptedFile f = load_encrypted(bytes, format, config);
        return !f.metadata.version.empty() && !f.metadata.mac.empty();
    } catch (const Error& e) {
        if (is_metadata_not_found(e)) return false;
        throw;
    }
}

Documents load_plain_for_encryption(std::string_view bytes, Format format, const StoreConfig& config) {
    Documents docs = make_store(format, config)->load_plain(bytes);
    if (docs.empty())
        throw Error("file cannot be completely empty, it must contain at least one document", exit_code::empty_file);
    if (has_sops_key(docs[0], format))
        throw Error(std::string("the file already has a top-level ") +
                        (format == Format::dotenv ? "'sops_' entry" : "'sops' entry") +
                        ": it is probably encrypted already (use `git sops edit`), or rename that entry",
                    exit_code::file_already_encrypted);
    return docs;
}

std::string emit_encrypted(const Documents& documents, const Metadata& metadata, Format format,
                           const StoreConfig& config) {
    return make_store(format, config)->emit_encrypted(documents, metadata_node(metadata));
}

std::string emit_plain(const Documents& documents, Format format, const StoreConfig& config) {
    return make_store(format, config)->emit_plain(documents);
}

std::string emit_value(const Node& value, Format format, const StoreConfig& config) {
    if (value.type == Node::Type::string) return std::string(sv(value.text));
    return make_store(format, config)->emit_value(value);
}

OpenedFile open_encrypted(std::string_view bytes, Format format, const StoreConfig& config, IdentitySource& identities,
                          bool ignore_mac) {
    EncryptedFile file = load_encrypted(bytes, format, config);
    OpenedFile out{std::move(file.documents), std::move(file.metadata), DataKey{}, IvStash{}};
    out.key = get_data_key(out.metadata, identities);
    DecryptOptions options;
    options.ignore_mac = ignore_mac;
    options.stash = &out.stash;
    options.keep_inline_comments = true;
    decrypt_documents(out.plaintext, out.metadata, out.key, options);
    return out;
}

bool same_plaintext(const OpenedFile& previous, const Documents& plaintext) { return previous.plaintext == plaintext; }

bool same_recipients(const Metadata& md, const std::vector<std::vector<std::string>>& groups) {
    if (md.key_groups.size() != groups.size()) return false;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const KeyGroup& g = md.key_groups[i];
        if (!g.others.empty() && g.key_count() != g.age.size()) return false;
        std::vector<std::string> have, want(groups[i].begin(), groups[i].end());
        for (const auto& e : g.age) have.push_back(e.recipient);
        std::sort(have.begin(), have.end());
        std::sort(want.begin(), want.end());
        if (have != want) return false;
    }
    return true;
}

std::string reencrypt(const OpenedFile& previous, std::string_view previous_bytes, Documents plaintext, Format format,
                      const StoreConfig& config, const CreationRule* rule) {
    const bool rewrap = rule && !same_recipients(previous.metadata, rule->age_groups);
    if (!rewrap && same_plaintext(previous, plaintext)) return std::string(previous_bytes);
    if (!rewrap) return encrypt_next(previous, previous.metadata, std::move(plaintext), format, config);
    Metadata md = previous.metadata;
    int threshold = rule->shamir_threshold;
    md.key_groups = wrap_data_key(previous.key, rule->age_groups, threshold);
    md.shamir_threshold = threshold;
    return encrypt_next(previous, std::move(md), std::move(plaintext), format, config);
}

std::string encrypt_next(const OpenedFile& previous, Metadata metadata, Documents plaintext, Format format,
                         const StoreConfig& config) {
    if (version_older_than_ours(metadata.version)) metadata.version = std::string(kSopsVersion);
    IvStash stash = previous.stash;
    stash.rewind();
    EncryptOptions options;
    options.stash = &stash;
    encrypt_documents(plaintext, metadata, previous.key, options);
    return emit_encrypted(plaintext, metadata, format, config);
}

}  // namespace gitsops::sops
