// The data key: 32 random bytes, wrapped for every age recipient as an armored age file (or a
// Shamir share per key group), unwrapped with whatever identity opens one entry (sops.go
// GetDataKeyWithKeyServices / UpdateMasterKeysWithKeyServices, age/keysource.go).
#include <sstream>

#include "crypto/crypto.hpp"
#include "sops/shamir.hpp"
#include "sops/sops.hpp"

namespace gitsops::sops {

namespace {

constexpr std::size_t kDataKeySize = 32;

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// The result of trying every key of one group.
struct GroupAttempt {
    std::optional<SecureBytes> part;
    std::vector<std::string> failures;  // "recipient: why"
};

GroupAttempt try_group(const KeyGroup& group, IdentitySource& identities) {
    GroupAttempt out;
    for (const auto& entry : group.age) {
        const age::Identities& ids = identities.identities(entry.recipient);
        if (ids.empty()) {
            out.failures.push_back(entry.recipient + ": no age identity found");
            continue;
        }
        try {
            out.part = age::decrypt(ids, bytes_of(entry.enc));
            return out;
        } catch (const Error& e) {
            out.failures.push_back(entry.recipient + ": " + e.what());
        }
    }
    for (const auto& [type, seq] : group.others)
        out.failures.push_back(std::to_string(seq.elements.size()) + " " + type +
                               " key(s): key type not supported by git-sops");
    return out;
}

[[noreturn]] void no_data_key(const Metadata& md, const std::vector<GroupAttempt>& attempts, std::size_t needed,
                              std::size_t got, IdentitySource& identities) {
    std::ostringstream msg;
    msg << "could not retrieve the data key: ";
    if (md.key_groups.size() > 1)
        msg << "recovered " << got << " of the " << needed << " key groups needed (Shamir threshold)";
    else
        msg << "none of the file's keys could be opened";
    // One line, like every other error: callers (hooks, CI logs, the filter) show one line per problem.
    msg << ". The file is encrypted for:";
    const char* sep = " ";
    for (std::size_t g = 0; g < attempts.size(); ++g)
        for (const auto& f : attempts[g].failures) {
            msg << sep << (md.key_groups.size() > 1 ? "group " + std::to_string(g) + ": " : std::string()) << f;
            sep = "; ";
        }
    std::string report = identities.report();
    if (!report.empty()) {
        msg << ". ";
        for (std::size_t i = 0; i < report.size(); ++i) {
            if (report.compare(i, 3, "\n  ") == 0) {
                msg << (i > 0 && report[i - 1] == ':' ? " " : "; ");
                i += 2;
            } else if (report[i] == '\n') {
                msg << ". ";
            } else {
                msg << report[i];
            }
        }
    }
    throw Error(msg.str(), exit_code::could_not_retrieve_key);
}

}  // namespace

std::vector<std::string> split_recipients(std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
        auto comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

DataKey generate_data_key() {
    DataKey key;
    crypto::random_bytes(key.span());
    return key;
}

DataKey get_data_key(const Metadata& md, IdentitySource& identities) {
    const bool shamir = md.key_groups.size() > 1;
    const std::size_t needed =
        shamir ? (md.shamir_threshold > 0 ? static_cast<std::size_t>(md.shamir_threshold) : md.key_groups.size()) : 1;
    std::vector<GroupAttempt> attempts;
    std::vector<SecureBytes> parts;
    for (const auto& group : md.key_groups) {
        attempts.push_back(try_group(group, identities));
        if (attempts.back().part) parts.push_back(std::move(*attempts.back().part));
        if (parts.size() >= needed) break;
    }
    if (parts.size() < needed) no_data_key(md, attempts, needed, parts.size(), identities);
    SecureBytes key = shamir ? shamir::combine(parts) : std::move(parts[0]);
    if (key.size() != kDataKeySize)
        throw Error(
            "the data key recovered from sops metadata is " + std::to_string(key.size()) + " bytes long, not 32",
            exit_code::could_not_retrieve_key);
    return DataKey(key);
}

std::vector<KeyGroup> wrap_data_key(const DataKey& key, const std::vector<std::vector<std::string>>& recipient_groups,
                                    int& threshold) {
    if (recipient_groups.empty()) throw Error("no recipients: give --age or a .sops.yaml creation rule with age keys");
    for (const auto& g : recipient_groups)
        if (g.empty()) throw Error("empty key group provided");
    std::vector<SecureBytes> parts;
    if (recipient_groups.size() == 1) {
        parts.push_back(secure_copy(key.span()));
    } else {
        if (threshold <= 0) threshold = static_cast<int>(recipient_groups.size());
        parts = shamir::split(key.span(), static_cast<int>(recipient_groups.size()), threshold);
    }
    std::vector<KeyGroup> groups;
    for (std::size_t i = 0; i < recipient_groups.size(); ++i) {
        KeyGroup group;
        for (const auto& text : recipient_groups[i]) {
            std::string recipient(trim(text));
            age::Recipients r;
            r.push_back(age::parse_recipient(recipient));
            group.age.push_back(AgeEntry{recipient, age::encrypt(r, parts[i], true)});
        }
        groups.push_back(std::move(group));
    }
    return groups;
}

}  // namespace gitsops::sops
