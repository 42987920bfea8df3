// The cluster's `sops-age` Secret through kubectl: argv only, key material only through pipes.
#include "keys/cluster.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/process.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::keys {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

using process::Pipe;

struct Output {
    int status = 0;
    SecureBytes out;
    std::string err;
};

// Runs argv with `input` on standard input, collecting standard output and error. Pipes are
// serviced with poll so that neither side can block the other. spawn_errno is set (and nothing
// runs) when the program cannot be started.
Output run(const std::vector<std::string>& argv, std::span<const std::uint8_t> input, int& spawn_errno) {
    Pipe in, out, err;
    // kubectl gets our environment (KUBECONFIG, proxies, cloud credentials for exec plugins)
    // without SOPS_AGE_KEY, which it has no use for.
    const pid_t pid = process::spawn(argv, process::environment({"SOPS_AGE_KEY"}),
                                     {in.read.get(), out.write.get(), err.write.get()}, &spawn_errno);
    if (pid < 0) return {};
    in.read.reset();
    out.write.reset();
    err.write.reset();

    // A kubectl that exits early must not kill us with SIGPIPE while we write its input.
    struct sigaction ignore {}, previous {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);

    Output result;
    std::size_t written = 0;
    if (input.empty()) in.write.reset();
    std::uint8_t chunk[16384];
    while (out.read.get() >= 0 || err.read.get() >= 0) {
        pollfd fds[3];
        nfds_t n = 0;
        auto add = [&](Fd& fd, short events) {
            if (fd.get() >= 0) fds[n++] = pollfd{fd.get(), events, 0};
        };
        add(in.write, POLLOUT);
        add(out.read, POLLIN);
        add(err.read, POLLIN);
        if (::poll(fds, n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].revents == 0) continue;
            if (fds[i].fd == in.write.get()) {
                ssize_t w = ::write(in.write.get(), input.data() + written, input.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                if (w < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
                if (written == input.size()) in.write.reset();
                continue;
            }
            ssize_t r = ::read(fds[i].fd, chunk, sizeof chunk);
            if (r < 0 && errno == EINTR) continue;
            bool is_out = fds[i].fd == out.read.get();
            if (r <= 0) {
                (is_out ? out.read : err.read).reset();
            } else if (is_out) {
                result.out.insert(result.out.end(), chunk, chunk + r);
            } else {
                result.err.append(reinterpret_cast<const char*>(chunk), static_cast<std::size_t>(r));
            }
        }
    }
    crypto::wipe(chunk);
    in.write.reset();
    result.status = process::wait(pid).raw;
    ::sigaction(SIGPIPE, &previous, nullptr);
    return result;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

bool contains_icase(std::string_view haystack, std::string_view needle) {
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                      std::tolower(static_cast<unsigned char>(b)); });
    return it != haystack.end();
}

// Names kubectl and the API accept for data entries; anything else is refused before it reaches
// a JSON document.
void check_entry_name(std::string_view entry) {
    bool ok = !entry.empty() && std::all_of(entry.begin(), entry.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!ok) throw Error("invalid Secret entry name '" + std::string(entry) + "': use letters, digits, '-', '_', '.'");
}

// ---- a minimal JSON reader for `kubectl get secret -o json` -------------------------------------

class JsonReader {
public:
    explicit JsonReader(std::span<const std::uint8_t> text) : t_(view_of(text)) {}

    SecretEntries secret_data() {
        SecretEntries entries;
        ws();
        object([&](const SecureBytes& key) {
            if (view_of(key) == "data" && peek() == '{')
                object([&](const SecureBytes& name) { add_entry(entries, name); });
            else
                skip_value();
        });
        return entries;
    }

private:
    [[noreturn]] void bad() const {
        throw Error("kubectl printed a Secret that is not valid JSON (at byte " + std::to_string(i_) + ")");
    }
    char peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
    void expect(char c) {
        if (peek() != c) bad();
        ++i_;
    }
    void ws() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
    }

    // `{ "key": value, ... }`: `member` reads each value, positioned after the colon.
    template <class Member>
    void object(Member member) {
        expect('{');
        ws();
        if (peek() == '}') {
            ++i_;
            return;
        }
        for (;;) {
            ws();
            SecureBytes key = string();
            ws();
            expect(':');
            ws();
            member(key);
            ws();
            if (peek() != ',') break;
            ++i_;
        }
        expect('}');
    }

    void add_entry(SecretEntries& entries, const SecureBytes& name) {
        SecureBytes encoded = string();
        auto decoded = crypto::base64_decode(view_of(encoded), true);
        if (!decoded) throw Error("the Secret entry " + std::string(view_of(name)) + " is not valid base64");
        entries[std::string(view_of(name))] = std::move(*decoded);
    }

    // A JSON string; values may be secret, so they go straight into wiped memory.
    SecureBytes string() {
        expect('"');
        SecureBytes out;
        while (i_ < t_.size() && t_[i_] != '"') {
            char c = t_[i_++];
            if (c != '\\') {
                out.push_back(static_cast<std::uint8_t>(c));
                continue;
            }
            if (i_ >= t_.size()) bad();
            char e = t_[i_++];
            switch (e) {
                case '"': case '\\': case '/': out.push_back(static_cast<std::uint8_t>(e)); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': out.push_back(static_cast<std::uint8_t>(unicode_escape())); break;
                default: bad();
            }
        }
        expect('"');
        return out;
    }

    // \uXXXX: kubectl escapes only <, >, & and control characters this way, all below U+0080.
    unsigned unicode_escape() {
        if (i_ + 4 > t_.size()) bad();
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            char h = t_[i_++];
            v <<= 4;
            if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
            else bad();
        }
        if (v >= 0x80) bad();
        return v;
    }

    void skip_value() {
        ws();
        char c = peek();
        if (c == '"') {
            string();
        } else if (c == '{') {
            object([&](const SecureBytes&) { skip_value(); });
        } else if (c == '[') {
            ++i_;
            ws();
            if (peek() != ']') {
                for (;;) {
                    skip_value();
                    ws();
                    if (peek() != ',') break;
                    ++i_;
                }
            }
            expect(']');
        } else {
            std::size_t start = i_;
            while (i_ < t_.size() && std::string_view(",}] \n\r\t").find(t_[i_]) == std::string_view::npos) ++i_;
            if (i_ == start) bad();
        }
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

// Runs kubectl; a program that cannot start is one clear line.
Output run_kubectl(const std::string& kubectl, const std::vector<std::string>& argv, std::span<const std::uint8_t> input) {
    int spawn_errno = 0;
    Output r = run(argv, input, spawn_errno);
    if (spawn_errno == ENOENT)
        throw Error(kubectl + " not found on PATH: git-sops reaches the cluster through kubectl; install it, or pass "
                              "--no-cluster");
    if (spawn_errno != 0) throw Error("cannot run " + kubectl + ": " + errno_text(spawn_errno));
    return r;
}

}  // namespace

// ---- Cluster --------------------------------------------------------------------------------------

struct Cluster::Result {
    SecureBytes out;
    bool not_found = false;  // only `get` reports a missing Secret this way
};

Cluster::Cluster(ClusterSecret secret, std::string kubectl) : secret_(std::move(secret)), kubectl_(std::move(kubectl)) {}

const std::string& Cluster::context() {
    if (resolved_context_) return *resolved_context_;
    if (!secret_.context.empty()) return resolved_context_.emplace(secret_.context);
    Output r = run_kubectl(kubectl_, {kubectl_, "config", "current-context"}, {});
    std::string name(view_of(r.out));
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r' || name.back() == ' ')) name.pop_back();
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || name.empty())
        throw Error("kubectl has no current context (" + cluster_detail::error_line(r.err, {}) +
                    "): select one with `kubectl config use-context NAME` or pass --context NAME");
    return resolved_context_.emplace(std::move(name));
}

std::string Cluster::describe() {
    return "secret " + secret_.namespace_name + "/" + secret_.name + " (context " + context() + ")";
}

std::vector<std::string> Cluster::base_args() { return {kubectl_, "--context=" + context()}; }

Cluster::Result Cluster::kubectl(std::vector<std::string> args, std::span<const std::uint8_t> input,
                                 std::string_view verb, std::span<const std::span<const std::uint8_t>> secrets) {
    std::vector<std::string> argv = base_args();
    argv.insert(argv.end(), args.begin(), args.end());
    Output r = run_kubectl(kubectl_, argv, input);
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) return Result{std::move(r.out), false};

    const std::string line = cluster_detail::error_line(r.err, secrets);
    const std::string where = secret_.namespace_name + "/" + secret_.name + " (context " + context() + ")";
    if (contains(r.err, "(NotFound)") && verb == "get") return Result{{}, true};
    if (contains(r.err, "does not exist") && contains(r.err, "context"))
        throw Error("kubectl has no context named '" + context() + "': see `kubectl config get-contexts`");
    if (contains_icase(r.err, "forbidden"))
        throw Error("the cluster refused to " + std::string(verb) + " secret " + where + " (kubectl: " + line +
                    "): ask for RBAC permission to " + std::string(verb) + " secrets in namespace " +
                    secret_.namespace_name + "; nothing was changed");
    if (contains(r.err, "Unable to connect") || contains_icase(r.err, "connection refused") ||
        contains(r.err, "was refused") || contains(r.err, "dial tcp") || contains(r.err, "i/o timeout") ||
        contains(r.err, "no such host"))
        throw Error("cannot reach the cluster of context '" + context() + "' (kubectl: " + line +
                    "): check the cluster is up and KUBECONFIG points at it; nothing was changed");
    throw Error("kubectl could not " + std::string(verb) + " secret " + where + " (kubectl: " + line + ")");
}

std::optional<SecretEntries> Cluster::read() {
    Result r = kubectl({"get", "secret", secret_.name, "--namespace=" + secret_.namespace_name, "-o", "json"}, {},
                       "get");
    if (r.not_found) return std::nullopt;
    return cluster_detail::parse_secret_json(r.out);
}

void Cluster::create(std::string_view entry, std::span<const std::uint8_t> value) {
    check_entry_name(entry);
    const std::span<const std::uint8_t> secrets[] = {value};
    kubectl({"create", "secret", "generic", secret_.name, "--namespace=" + secret_.namespace_name,
             "--from-file=" + std::string(entry) + "=/dev/stdin"},
            value, "create", secrets);
}

void Cluster::update(const std::vector<EntryChange>& changes) {
    std::vector<std::span<const std::uint8_t>> secrets;
    for (const auto& c : changes) {
        check_entry_name(c.entry);
        if (c.value) secrets.emplace_back(*c.value);
    }
    SecureBytes patch = cluster_detail::merge_patch(changes);
    kubectl({"patch", "secret", secret_.name, "--namespace=" + secret_.namespace_name, "--type=merge",
             "--patch-file=/dev/stdin"},
            patch, "update", secrets);
}

// ---- identities -----------------------------------------------------------------------------------

age::Identities agekey_identities(const SecretEntries& entries) {
    age::Identities out;
    for (const auto& [name, value] : entries) {
        if (!name.ends_with(".agekey")) continue;  // as Flux: only *.agekey entries are age keys
        for (auto& id : age::parse_identity_file(value, "cluster entry " + name)) out.push_back(std::move(id));
    }
    return out;
}

std::vector<std::string> entry_recipients(const SecretEntries& entries, std::string_view entry) {
    auto it = entries.find(entry);
    if (it == entries.end()) return {};
    return age::identity_file_recipients(it->second, "cluster entry " + std::string(entry));
}

// ---- details --------------------------------------------------------------------------------------

namespace cluster_detail {

SecretEntries parse_secret_json(std::span<const std::uint8_t> json) { return JsonReader(json).secret_data(); }

SecureBytes merge_patch(const std::vector<Cluster::EntryChange>& changes) {
    SecureBytes out;
    auto put = [&](std::string_view s) { out.insert(out.end(), s.begin(), s.end()); };
    put("{\"data\":{");
    bool first = true;
    for (const auto& c : changes) {
        check_entry_name(c.entry);
        if (!first) put(",");
        first = false;
        put("\"");
        put(c.entry);
        put("\":");
        if (!c.value) {
            put("null");
            continue;
        }
        std::string b64 = crypto::base64_encode(*c.value, true);
        put("\"");
        put(b64);
        put("\"");
        wipe(b64);
    }
    put("}}");
    return out;
}

std::string error_line(std::string_view stderr_text, std::span<const std::span<const std::uint8_t>> secrets) {
    if (contains_icase(stderr_text, "AGE-SECRET-KEY")) return "[kubectl's message withheld: it quoted key material]";
    for (auto s : secrets) {
        if (s.empty()) continue;
        std::string b64 = crypto::base64_encode(s, true);
        bool leaked = contains(stderr_text, view_of(s)) || contains(stderr_text, b64);
        wipe(b64);
        if (leaked) return "[kubectl's message withheld: it quoted key material]";
    }
    std::string_view rest = stderr_text;
    while (!rest.empty()) {
        auto lf = rest.find('\n');
        std::string_view line = rest.substr(0, lf);
        rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (!line.empty()) return std::string(line);
    }
    return "kubectl gave no reason";
}

}  // namespace cluster_detail

}  // namespace gitsops::keys
