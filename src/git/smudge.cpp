#include "git/smudge.hpp"

#include <fcntl.h>
#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "base/error.hpp"
#include "base/io.hpp"
#include "keys/keys.hpp"

namespace gitsops::git {

namespace fs = std::filesystem;

namespace {

SecureBytes plaintext_of(const sops::OpenedFile& opened, sops::Format format, const sops::StoreConfig& stores) {
    std::string text = sops::emit_plain(opened.plaintext, format, stores);
    SecureBytes out = secure_copy(text);
    wipe(text);
    return out;
}

// The one line a checkout prints when files stay encrypted: the first reason, and the way out.
std::string left_encrypted_line(std::string_view path, std::string_view why) {
    std::string reason(why.substr(0, why.find('\n')));
    return "git-sops: warning: " + std::string(path) + " (and maybe more files) stays encrypted in the worktree: " +
           reason + ". Make your age key available (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, ~/.config/sops/age/keys.txt) "
           "and run `git sops unlock`.\n";
}

}  // namespace

SecureBytes smudge(FilterContext& context, std::string_view path, std::span<const std::uint8_t> content) {
    const std::string_view text = view_of(content);
    // Cheap checks first: a checkout of 10,000 files must not parse what it does not decrypt.
    if (!may_be_sops(text)) return secure_copy(content);
    try {
        if (!context.decrypted_worktree()) return secure_copy(content);
    } catch (const Error&) {  // no repository to ask: the stored form is all we can give
        return secure_copy(content);
    }
    std::string why;
    try {
        const auto rule = context.rule_for(path);
        // Only what clean encrypts again: a sops file outside every rule would come back as
        // plaintext that clean then refuses (or stores in clear).
        if (!rule) return secure_copy(content);
        const sops::Format format = sops::format_for_path(path);
        if (auto opened = open_sops(context, text, format, why)) {
            SecureBytes plain = plaintext_of(*opened, format, context.stores());
            if (CleanCache* cache = context.cache()) cache->remember(cache->digest(path, plain), blob_id_of(content));
            return plain;
        }
    } catch (const std::exception& e) {
        why = e.what();
    }
    context.warn_once("smudge", left_encrypted_line(path, why));
    return secure_copy(content);
}

SecureBytes textconv(FilterContext& context, std::string_view file, std::span<const std::uint8_t> content) {
    const std::string_view text = view_of(content);
    if (!may_be_sops(text)) return secure_copy(content);
    try {
        const sops::Format format = sops::format_for_path(file);
        std::string why;
        if (auto opened = open_sops(context, text, format, why)) return plaintext_of(*opened, format, context.stores());
    } catch (const std::exception&) {  // not a sops file after all, or damaged: show it as it is
    }
    return secure_copy(content);
}

SecureBytes SopsFilter::clean(const FilterRequest& request) {
    return git::clean(context_, request.pathname, request.content);
}

SecureBytes SopsFilter::smudge(const FilterRequest& request) {
    return git::smudge(context_, request.pathname, request.content);
}

SecureBytes SopsFilter::textconv(const FilterRequest& request) {
    return git::textconv(context_, request.pathname, request.content);
}

// The next new file of this command most likely goes to the same recipients (a folder of
// Secrets under one rule): its wrapped data key is made while git stores this one.
void SopsFilter::idle() { context_.prepare_next_key(); }

// ---- unlock / lock ----------------------------------------------------------------------------

namespace {

constexpr std::string_view kModeKey = "git-sops.decryptedWorktree";

bool routed_to_sops(const Repository& repo, const std::string& path) {
    const char* value = nullptr;
    if (git_attr_get(&value, repo.raw(), GIT_ATTR_CHECK_FILE_THEN_INDEX, path.c_str(), "filter") != 0) return false;
    return git_attr_value(value) == GIT_ATTR_VALUE_STRING && std::strcmp(value, "sops") == 0;
}

// Tracked files the mode concerns: routed to the sops filter and covered by a creation rule.
std::vector<std::string> concerned_files(FilterContext& context) {
    std::vector<std::string> out;
    for (const auto& entry : context.repo().index().entries()) {
        if (entry.stage != 0 || (entry.mode & 0170000) != 0100000) continue;
        if (!routed_to_sops(context.repo(), entry.path)) continue;
        if (context.rule_for(entry.path)) out.push_back(entry.path);
    }
    return out;
}

std::vector<std::string> split_nul(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto end = text.find('\0');
        out.emplace_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return out;
}

std::vector<std::string> git_lines(const fs::path& top, std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", top.string()});
    const SecureBytes out = keys::run_command(args, {"GIT_LITERAL_PATHSPECS=1"});
    return split_nul(view_of(out));
}

// Files whose worktree content differs from the index, as git sees them through the filter in
// the mode in force now.
std::set<std::string> modified_files(const fs::path& top) {
    const auto lines = git_lines(top, {"diff", "--name-only", "-z", "--no-ext-diff", "--no-textconv", "--no-renames"});
    return {lines.begin(), lines.end()};
}

// git checkout skips a file whose stat data matches the index, so the files are touched first,
// as git-crypt does, but to a time no index entry holds: git may compare whole seconds only, and
// a touch in the second of the last index write would look like no change. One checkout reads
// every path from a file (no ARG_MAX limit).
void check_out_again(const Repository& repo, const fs::path& top, const std::vector<std::string>& paths) {
    if (paths.empty()) return;
    const struct timespec long_ago[2] = {{1, 0}, {1, 0}};  // 1970-01-01T00:00:01Z
    std::string list;
    for (const auto& p : paths) {
        const fs::path file = top / p;
        if (::utimensat(AT_FDCWD, file.c_str(), long_ago, 0) != 0 && errno != ENOENT)
            throw Error(file.string(), std::string("cannot touch: ") + std::strerror(errno));
        list.append(p).push_back('\0');
    }
    const fs::path spec = repo.git_dir() / "git-sops-checkout-paths";
    io::atomic_write(spec, list, 0600);
    try {
        git_lines(top, {"checkout", "--pathspec-from-file=" + spec.string(), "--pathspec-file-nul"});
    } catch (...) {
        fs::remove(spec);
        throw;
    }
    fs::remove(spec);
}

std::size_t count_encrypted(const fs::path& top, const std::vector<std::string>& paths) {
    std::size_t n = 0;
    for (const auto& p : paths) {
        try {
            if (may_be_sops(io::read_file(top / p))) ++n;
        } catch (const Error&) {
        }
    }
    return n;
}

}  // namespace

WorktreeSwitch switch_worktree(Repository repo, bool decrypted) {
    const auto top = repo.workdir();
    if (!top) throw Error("this repository has no worktree: there is nothing to decrypt or encrypt");
    FilterContext context(std::move(repo));
    const auto concerned = concerned_files(context);
    const auto modified = modified_files(*top);  // before the switch, through the current mode

    context.repo().local_config().set_string(kModeKey, decrypted ? "true" : "false");

    WorktreeSwitch report;
    std::vector<std::string> rewrite;
    for (const auto& path : concerned) {
        if (modified.count(path))
            report.left_modified.push_back(path);
        else
            rewrite.push_back(path);
    }
    check_out_again(context.repo(), *top, rewrite);
    report.rewritten = rewrite.size();
    if (decrypted) report.still_encrypted = count_encrypted(*top, rewrite);
    return report;
}

}  // namespace gitsops::git
