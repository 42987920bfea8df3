#include "git/install.hpp"

#include "gitattributes_template.hpp"  // generated from filters/gitattributes

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.hpp"
#include "base/io.hpp"
#include "git/clean_cache.hpp"

namespace gitsops::git {

namespace fs = std::filesystem;

namespace install_detail {

// The three templates below are the files filters/gitattributes, hooks/pre-commit and
// hooks/pre-receive, compiled in so that an installed binary needs no data folder. The unit
// test "compiled-in templates match the files" keeps them identical.
namespace {

// The attribute block is filters/gitattributes, embedded at build time (one source of truth).
constexpr std::string_view kAttributes = kGitattributesTemplate;

constexpr std::string_view kPreCommit = R"SH(#!/bin/sh
# git-sops hook shim: pre-commit. `git sops install` copies it into the hooks folder
# (core.hooksPath, else hooks/ in the common git dir) and `git sops uninstall` removes it.
# A pre-commit hook that was there before is kept as pre-commit.git-sops-chained: it runs
# first, and its failure stops the commit. Then git-sops checks the blobs being committed.
git_sops=git-sops
chained="$0.git-sops-chained"
if ! command -v "$git_sops" >/dev/null 2>&1; then
	echo "git-sops: pre-commit hook: cannot run '$git_sops'; put git-sops on PATH or run 'git sops uninstall'" >&2
	exit 1
fi
if [ -x "$chained" ]; then
	"$chained" "$@" || exit $?
fi
exec "$git_sops" hook pre-commit "$@"
)SH";

constexpr std::string_view kPreReceive = R"SH(#!/bin/sh
# git-sops hook shim: pre-receive. `git sops install` copies it into the hooks folder
# (core.hooksPath, else hooks/ in the common git dir) and `git sops uninstall` removes it.
# A pre-receive hook that was there before is kept as pre-receive.git-sops-chained: it runs
# first on the same ref updates, and its failure rejects the push. Then git-sops checks the
# blobs the push adds (still in quarantine).
git_sops=git-sops
chained="$0.git-sops-chained"
if ! command -v "$git_sops" >/dev/null 2>&1; then
	echo "git-sops: pre-receive hook: cannot run '$git_sops'; put git-sops on PATH or run 'git sops uninstall'" >&2
	exit 1
fi
if [ -x "$chained" ]; then
	# Both hooks read the ref updates on stdin: keep them for the second.
	updates=$(cat)
	printf '%s\n' "$updates" | "$chained" "$@" || exit $?
	printf '%s\n' "$updates" | "$git_sops" hook pre-receive "$@"
	exit $?
fi
exec "$git_sops" hook pre-receive "$@"
)SH";

constexpr std::string_view kShimMarker = "# git-sops hook shim";
constexpr std::string_view kCommandLine = "git_sops=git-sops\n";
constexpr std::string_view kBlockBegin = "# BEGIN git-sops";
constexpr std::string_view kBlockEnd = "# END git-sops";

// Lines of `text` with their terminators, so that removing some keeps the rest byte for byte.
std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::size_t n = nl == std::string_view::npos ? text.size() : nl + 1;
        out.push_back(text.substr(0, n));
        text.remove_prefix(n);
    }
    return out;
}

// A line compared by its words: attributes lines mean the same whatever the spacing.
std::string words(std::string_view line) {
    std::string out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        const std::size_t start = i;
        while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        if (i > start) {
            if (!out.empty()) out.push_back(' ');
            out.append(line.substr(start, i - start));
        }
    }
    return out;
}

bool is_rule(std::string_view line) {
    const std::string w = words(line);
    return !w.empty() && w.front() != '#';
}

}  // namespace

std::string_view attributes_template() { return kAttributes; }

std::string_view hook_template(std::string_view hook) {
    if (hook == "pre-commit") return kPreCommit;
    if (hook == "pre-receive") return kPreReceive;
    throw Error("no git-sops shim for hook '" + std::string(hook) + "'");
}

std::string shell_quote(std::string_view word) {
    const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                "0123456789/._-+=:,@%") == std::string_view::npos;
    if (plain) return std::string(word);
    std::string out = "'";
    for (char c : word) {
        if (c == '\'')
            out += "'\\''";
        else
            out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

std::string render_hook(std::string_view hook, std::string_view command) {
    std::string text(hook_template(hook));
    const auto at = text.find(kCommandLine);
    text.replace(at, kCommandLine.size(), "git_sops=" + std::string(command) + "\n");
    return text;
}

bool is_shim(std::string_view content) { return content.find(kShimMarker) != std::string_view::npos; }

std::optional<std::string> add_attributes_block(const std::optional<std::string>& existing) {
    const std::string_view text = existing ? std::string_view(*existing) : std::string_view();
    const auto lines = lines_of(text);
    std::vector<std::string> have;
    for (auto line : lines) {
        if (words(line).starts_with(kBlockBegin)) return std::nullopt;
        have.push_back(words(line));
    }
    bool all_there = true;
    for (auto line : lines_of(kAttributes)) {
        if (is_rule(line) && std::find(have.begin(), have.end(), words(line)) == have.end()) all_there = false;
    }
    if (all_there) return std::nullopt;

    const std::string_view eol = text.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
    std::string out(text);
    if (!out.empty() && out.back() != '\n') out.append(eol);
    for (auto line : lines_of(kAttributes)) {
        line.remove_suffix(1);  // every template line ends in '\n'
        out.append(line).append(eol);
    }
    return out;
}

std::optional<std::string> remove_attributes_block(std::string_view text) {
    const auto lines = lines_of(text);
    std::size_t begin = lines.size(), end = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string w = words(lines[i]);
        if (begin == lines.size() && w.starts_with(kBlockBegin)) begin = i;
        if (begin != lines.size() && w == kBlockEnd) {
            end = i;
            break;
        }
    }
    if (end == lines.size()) return std::nullopt;  // no block, or its end line is gone
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (i < begin || i > end) out.append(lines[i]);
    return out;
}

namespace {

// "[filter \"sops\"]" -> "filter.sops"; "[core]" -> "core"; anything else -> "".
std::string section_name(std::string_view line) {
    const std::string w = words(line);
    if (w.size() < 2 || w.front() != '[' || w.back() != ']') return "";
    std::string_view inner = std::string_view(w).substr(1, w.size() - 2);
    const auto space = inner.find(' ');
    std::string name(inner.substr(0, space));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (space == std::string_view::npos) return name;
    std::string_view sub = inner.substr(space + 1);
    if (sub.size() < 2 || sub.front() != '"' || sub.back() != '"') return "";
    return name + "." + std::string(sub.substr(1, sub.size() - 2));
}

}  // namespace

std::string prune_empty_sections(std::string_view config_text, std::span<const std::string> sections) {
    const auto lines = lines_of(config_text);
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string name = section_name(lines[i]);
        if (!name.empty() && std::find(sections.begin(), sections.end(), name) != sections.end()) {
            bool empty = true;
            for (std::size_t j = i + 1; j < lines.size() && empty; ++j) {
                const std::string w = words(lines[j]);
                if (!w.empty() && w.front() == '[') break;
                empty = w.empty();
            }
            if (empty) continue;
        }
        out.append(lines[i]);
    }
    return out;
}

}  // namespace install_detail

using namespace install_detail;

namespace {

// ---- The install record ----------------------------------------------------------------------

// One thing install added. kind: "config" (target = key), "attributes" (target = file) or
// "hook" (target = hook file) or "folder" (a hooks folder install created). how: "added"/
// "replaced" for config, "created"/"appended"/"appended-newline" for attributes,
// "created"/"chained" for hooks, "created" for folders.
struct Entry {
    std::string kind, target, how, value, old;
};

class Record {
public:
    explicit Record(fs::path file) : file_(std::move(file)) { load(); }

    Entry* find(std::string_view kind, std::string_view target) {
        for (auto& e : entries_)
            if (e.kind == kind && e.target == target) return &e;
        return nullptr;
    }
    void add(Entry e) { entries_.push_back(std::move(e)); }
    std::vector<Entry>& entries() { return entries_; }
    bool empty() const { return entries_.empty(); }
    const fs::path& file() const { return file_; }

    // Writes only when the text changes, so a second install touches nothing.
    void save() const {
        if (entries_.empty()) {
            std::error_code ec;
            fs::remove(file_, ec);
            fs::remove(file_.parent_path(), ec);  // only succeeds when empty: other state may live there
            return;
        }
        std::string text =
            "# git-sops install record: what `git sops install` added to this repository, so that\n"
            "# `git sops uninstall` removes exactly that. Tab-separated; \\\\, \\t and \\n escaped.\n";
        for (const auto& e : entries_) {
            text += escape(e.kind) + '\t' + escape(e.target) + '\t' + escape(e.how);
            if (e.kind == "config") text += '\t' + escape(e.value) + '\t' + escape(e.old);
            text += '\n';
        }
        if (text == original_) return;
        fs::create_directories(file_.parent_path());
        io::atomic_write(file_, text, 0644);
    }

private:
    static std::string escape(std::string_view s) {
        std::string out;
        for (char c : s) {
            if (c == '\\') out += "\\\\";
            else if (c == '\t') out += "\\t";
            else if (c == '\n') out += "\\n";
            else out.push_back(c);
        }
        return out;
    }
    static std::string unescape(std::string_view s) {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\\' && i + 1 < s.size()) {
                const char n = s[++i];
                out.push_back(n == 't' ? '\t' : n == 'n' ? '\n' : n);
            } else {
                out.push_back(s[i]);
            }
        }
        return out;
    }

    void load() {
        std::error_code ec;
        if (!fs::exists(file_, ec)) return;
        original_ = io::read_file(file_);
        for (auto line : lines_of(original_)) {
            if (line.ends_with('\n')) line.remove_suffix(1);
            if (line.empty() || line.front() == '#') continue;
            std::vector<std::string> f;
            while (true) {
                const auto tab = line.find('\t');
                f.push_back(unescape(line.substr(0, tab)));
                if (tab == std::string_view::npos) break;
                line.remove_prefix(tab + 1);
            }
            f.resize(5);
            entries_.push_back(Entry{f[0], f[1], f[2], f[3], f[4]});
        }
    }

    fs::path file_;
    std::string original_;
    std::vector<Entry> entries_;
};

fs::path record_file(const Repository& repo) { return repo.common_dir() / "git-sops" / "installed"; }

// ---- Config ----------------------------------------------------------------------------------

constexpr std::string_view kDecryptedWorktreeKey = "git-sops.decryptedWorktree";

std::vector<std::pair<std::string, std::string>> wanted_config(const std::string& cmd, const InstallOptions& o) {
    // `--` before %f: a file named "-x.yaml" must not read as an option. textconv gets its file
    // appended by git, so it needs the `--` too. merge's arguments are git's temp files first.
    std::vector<std::pair<std::string, std::string>> v = {
        {"filter.sops.process", cmd + " filter-process"},
        {"filter.sops.clean", cmd + " clean -- %f"},
        {"filter.sops.smudge", cmd + " smudge -- %f"},
        {"filter.sops.required", "true"},  // a failing filter stops git instead of storing plaintext
        {"diff.sops.textconv", cmd + " textconv --"},
        {"merge.sops.name", "git-sops merge of SOPS-encrypted files"},
        {"merge.sops.driver", cmd + " merge %O %A %B %L %P"},
    };
    if (o.decrypted_worktree) v.emplace_back(kDecryptedWorktreeKey, "true");
    return v;
}

// "filter.sops.clean" -> "filter.sops"; "git-sops.decryptedWorktree" -> "git-sops".
std::string section_of(std::string_view key) {
    std::string s(key.substr(0, key.rfind('.')));
    const auto dot = s.find('.');
    std::transform(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(dot == std::string::npos ? s.size() : dot),
                   s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Removes section headers libgit2 left empty, under git's own lock protocol (<file>.lock,
// created exclusively, renamed over the file), so a concurrent `git config` cannot interleave.
void prune_config_file(const fs::path& file, const std::vector<std::string>& sections) {
    fs::path lock = file;
    lock += ".lock";
    struct stat st {};
    const mode_t mode = ::stat(file.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0644;
    const int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        throw Error(lock.string(), std::string("cannot lock the config file: ") + std::strerror(errno) +
                                       (errno == EEXIST ? " (another git process is writing it)" : ""));
    bool renamed = false;
    try {
        const std::string text = io::read_file(file);
        const std::string pruned = prune_empty_sections(text, sections);
        if (pruned != text) {
            io::write_all(fd, pruned);
            if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0 || ::rename(lock.c_str(), file.c_str()) != 0)
                throw Error(file.string(), std::string("cannot rewrite: ") + std::strerror(errno));
            renamed = true;
        }
    } catch (...) {
        ::close(fd);
        ::unlink(lock.c_str());
        throw;
    }
    ::close(fd);
    if (!renamed) ::unlink(lock.c_str());
}

// Puts a config entry back as it was before install; false when the user changed it since.
bool undo_config(Config& local, const Entry& e) {
    if (local.get_string(e.target) != e.value) return false;
    if (e.how == "replaced")
        local.set_string(e.target, e.old);
    else
        local.remove(e.target);
    return true;
}

void finish_config(const Repository& repo, const std::vector<std::string>& emptied) {
    if (!emptied.empty()) prune_config_file(repo.common_dir() / "config", emptied);
}

void install_config(const Repository& repo, const std::string& cmd, const InstallOptions& options, Record& rec,
                    InstallReport& report) {
    Config local = repo.local_config();
    const auto wanted = wanted_config(cmd, options);
    bool changed = false;
    for (const auto& [key, value] : wanted) {
        const auto current = local.get_string(key);
        Entry* e = rec.find("config", key);
        if (current == value) continue;  // already so: ours from before, or the user's own
        local.set_string(key, value);
        changed = true;
        if (e)
            e->value = value;  // ours already: e.g. the binary moved
        else
            rec.add(Entry{"config", key, current ? "replaced" : "added", value, current.value_or("")});
    }
    // Entries an earlier install added that this one does not want (--decrypted-worktree dropped).
    std::vector<std::string> emptied;
    auto& entries = rec.entries();
    for (auto it = entries.begin(); it != entries.end();) {
        const bool stale = it->kind == "config" && std::none_of(wanted.begin(), wanted.end(), [&](const auto& w) {
                               return w.first == it->target;
                           });
        if (!stale) {
            ++it;
            continue;
        }
        if (undo_config(local, *it)) {
            changed = true;
            emptied.push_back(section_of(it->target));
        }
        it = entries.erase(it);
    }
    finish_config(repo, emptied);
    if (changed) {
        report.changed = true;
        report.notes.push_back("configured the sops filter, diff and merge drivers in " +
                               (repo.common_dir() / "config").string());
    }
}

void uninstall_config(const Repository& repo, Record& rec, InstallReport& report) {
    Config local = repo.local_config();
    std::vector<std::string> emptied;
    bool removed = false;
    for (const auto& e : rec.entries()) {
        if (e.kind != "config") continue;
        if (undo_config(local, e)) {
            removed = true;
            emptied.push_back(section_of(e.target));
        } else {
            report.notes.push_back("left " + e.target + " as it is: it changed since git-sops set it");
        }
    }
    finish_config(repo, emptied);
    if (removed) {
        report.changed = true;
        report.notes.push_back("removed the sops drivers from " + (repo.common_dir() / "config").string());
    }
}

// ---- .gitattributes --------------------------------------------------------------------------

std::optional<std::string> read_if_exists(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    return io::read_file(p);
}

void install_attributes(const Repository& repo, Record& rec, InstallReport& report) {
    const auto top = repo.workdir();
    if (!top) {
        report.notes.push_back("bare repository: no .gitattributes to change (hooks and config only)");
        return;
    }
    const fs::path file = *top / ".gitattributes";
    const auto existing = read_if_exists(file);
    const auto updated = add_attributes_block(existing);
    if (!updated) return;  // already routes our patterns: the file is shared, leave it alone
    io::atomic_write(file, *updated);
    report.changed = true;
    report.notes.push_back("added the git-sops block to " + file.string() +
                           "; commit it so every clone uses the sops drivers for the same files");
    if (!rec.find("attributes", file.string())) {
        const char* how = !existing                                           ? "created"
                          : (!existing->empty() && existing->back() != '\n') ? "appended-newline"
                                                                              : "appended";
        rec.add(Entry{"attributes", file.string(), how, "", ""});
    }
}

void uninstall_attributes(const Entry& e, InstallReport& report) {
    const fs::path file = e.target;
    const auto text = read_if_exists(file);
    const auto without = text ? remove_attributes_block(*text) : std::nullopt;
    if (!without) {
        report.notes.push_back("no git-sops block left in " + file.string() + "; nothing to remove there");
        return;
    }
    std::string out = *without;
    if (e.how == "appended-newline" && out.ends_with('\n')) {  // the newline install had to add
        out.pop_back();
        if (out.ends_with('\r')) out.pop_back();
    }
    if (e.how == "created" && words(out).empty())
        fs::remove(file);
    else
        io::atomic_write(file, out);
    report.changed = true;
    report.notes.push_back("removed the git-sops block from " + file.string());
}

// ---- Hooks -----------------------------------------------------------------------------------

bool present(const fs::path& p) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(p, ec));
}

// The hook's text, or "" when it cannot be read (a dangling symlink): then it is not ours.
std::string hook_text(const fs::path& p) {
    try {
        return io::read_file(p);
    } catch (const Error&) {
        return "";
    }
}

bool inside(const fs::path& p, const fs::path& folder) {
    const fs::path rel = p.lexically_relative(folder);
    return !rel.empty() && *rel.begin() != "..";
}

fs::path chained_of(const fs::path& hook) {
    fs::path c = hook;
    c += chained_suffix;
    return c;
}

void install_hooks(const Repository& repo, const std::string& cmd, Record& rec, InstallReport& report) {
    const fs::path dir = hooks_dir(repo);
    bool wrote = false;
    for (std::string_view hook : hooks) {
        const fs::path file = dir / hook;
        const std::string shim = render_hook(hook, cmd);
        Entry* e = rec.find("hook", file.string());
        if (present(file)) {
            const std::string text = hook_text(file);
            if (is_shim(text)) {
                // A shim this install did not put there (say, a committed core.hooksPath folder)
                // is someone else's file: leave it. Ours is refreshed when the command changed.
                if (e && text != shim) {
                    io::atomic_write(file, shim, 0755);
                    wrote = true;
                }
                continue;
            }
            const fs::path chained = chained_of(file);
            if (present(chained))
                throw Error(file.string(), "cannot chain this hook: " + chained.string() +
                                               " exists already. Move one of them away, then run `git sops install` again");
            fs::rename(file, chained);
            io::atomic_write(file, shim, 0755);
            rec.add(Entry{"hook", file.string(), "chained", "", ""});
            report.notes.push_back("kept the existing " + std::string(hook) + " hook as " + chained.string() +
                                   "; the git-sops shim runs it first");
        } else {
            if (!present(dir)) {  // e.g. a new core.hooksPath: uninstall removes it again if empty
                fs::create_directories(dir);
                rec.add(Entry{"folder", dir.string(), "created", "", ""});
            }
            io::atomic_write(file, shim, 0755);
            if (!e) rec.add(Entry{"hook", file.string(), "created", "", ""});
        }
        wrote = true;
    }
    if (wrote) {
        report.changed = true;
        report.notes.push_back("installed the pre-commit and pre-receive hooks in " + dir.string());
        const auto top = repo.workdir();
        if (!inside(dir, repo.common_dir()) && !(top && inside(dir, *top)))
            report.notes.push_back("note: core.hooksPath points outside this repository; the shims there "
                                   "serve every repository that uses " + dir.string());
    }
}

void uninstall_hook(const Entry& e, InstallReport& report) {
    const fs::path file = e.target, chained = chained_of(file);
    if (present(file)) {
        if (!is_shim(hook_text(file))) {
            report.notes.push_back("left " + file.string() + ": it is no longer the git-sops shim" +
                                   (present(chained) ? " (" + chained.string() + " stays too)" : std::string()));
            return;
        }
        fs::remove(file);
        report.changed = true;
        report.notes.push_back("removed the hook " + file.string());
    }
    if (e.how == "chained") {
        if (present(chained)) {
            fs::rename(chained, file);
            report.changed = true;
            report.notes.push_back("restored the earlier hook " + file.string());
        } else {
            report.notes.push_back("the earlier hook " + chained.string() + " is gone; nothing to restore");
        }
    }
}

}  // namespace

// ---- Public ----------------------------------------------------------------------------------

fs::path hooks_dir(const Repository& repo) {
    if (auto configured = repo.config().get_path("core.hooksPath"); configured && !configured->empty()) {
        if (configured->is_relative()) {  // git runs hooks from the worktree top (GIT_DIR when bare)
            const auto top = repo.workdir();
            return ((top ? *top : repo.git_dir()) / *configured).lexically_normal();
        }
        return configured->lexically_normal();
    }
    return repo.common_dir() / "hooks";
}

std::string git_sops_command() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return "git-sops";  // no /proc: trust PATH
    if (const auto path = io::getenv("PATH")) {
        std::string_view rest = *path;
        while (true) {
            const auto colon = rest.find(':');
            const std::string_view dir = rest.substr(0, colon);
            const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / "git-sops";
            if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate, ec)) {
                // The first hit is what the shell runs: ours or not, the search ends here.
                return fs::equivalent(candidate, self, ec) ? "git-sops" : shell_quote(self.string());
            }
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
    }
    return shell_quote(self.string());
}

bool decrypted_worktree(const Repository& repo) {
    return repo.config().get_bool(kDecryptedWorktreeKey).value_or(false);
}

InstallReport install(const Repository& repo, const InstallOptions& options) {
    InstallReport report;
    Record rec(record_file(repo));
    const std::string cmd = git_sops_command();
    try {
        install_config(repo, cmd, options, rec, report);
        install_attributes(repo, rec, report);
        install_hooks(repo, cmd, rec, report);
    } catch (...) {
        rec.save();  // what did get added must stay undoable
        throw;
    }
    rec.save();
    if (!report.changed) report.notes.push_back("already installed here; nothing changed");
    if (cmd != "git-sops")
        report.notes.push_back("the drivers and hooks call " + cmd +
                               " by its full path: the git-sops found on PATH is not this binary");
    return report;
}

namespace {

// The filter's clean cache (keyed digests of plaintexts, and the key) only serves the filter
// being removed; lifecycle records and journals beside it stay.
void remove_clean_cache(const Repository& repo, InstallReport& report) {
    const fs::path dir = repo.common_dir() / "git-sops";
    bool removed = false;
    for (const fs::path& f : {CleanCache::data_file(dir), CleanCache::key_file(dir)}) {
        std::error_code ec;
        removed = fs::remove(f, ec) || removed;
    }
    if (removed) {
        report.changed = true;
        report.notes.push_back("removed the clean filter's cache from " + dir.string());
    }
    std::error_code ec;
    fs::remove(dir, ec);  // only when nothing else (records, journals) is left in it
}

}  // namespace

InstallReport uninstall(const Repository& repo) {
    InstallReport report;
    Record rec(record_file(repo));
    if (rec.empty()) {
        report.notes.push_back("not installed here (no record at " + rec.file().string() +
                               "); nothing to remove");
        return report;
    }
    uninstall_config(repo, rec, report);
    for (const auto& e : rec.entries()) {
        if (e.kind == "attributes") uninstall_attributes(e, report);
        if (e.kind == "hook") uninstall_hook(e, report);
    }
    for (const auto& e : rec.entries()) {  // after the hooks that were in them
        std::error_code ec;
        if (e.kind == "folder") fs::remove(e.target, ec);  // only when empty: the user's files stay
    }
    rec.entries().clear();
    rec.save();
    remove_clean_cache(repo, report);
    return report;
}

}  // namespace gitsops::git
