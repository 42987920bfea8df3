// sops 3.13's age identity discovery (age/keysource.go loadIdentities, loadAgeSSHIdentities).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/io.hpp"
#include "base/process.hpp"
#include "keys/keys.hpp"

namespace gitsops::keys {

namespace {

namespace fs = std::filesystem;

// An identity owned by the static set, lent to one recipient's list.
class Borrowed final : public age::Identity {
public:
    explicit Borrowed(const age::Identity& inner) : inner_(inner) {}
    std::optional<age::FileKey> unwrap(std::span<const age::Stanza> stanzas) const override {
        return inner_.unwrap(stanzas);
    }
    std::unique_ptr<age::Recipient> recipient() const override { return inner_.recipient(); }
    bool native() const override { return inner_.native(); }

private:
    const age::Identity& inner_;
};

bool has_key_lines(std::string_view text) {
    while (!text.empty()) {
        auto lf = text.find('\n');
        std::string_view line = text.substr(0, lf);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (!line.empty() && !line.starts_with('#')) return true;
        if (lf == std::string_view::npos) break;
        text.remove_prefix(lf + 1);
    }
    return false;
}

// SOPS_AGE_KEY may hold several whitespace-separated identities per line (sops >= 3.13):
// rewritten as one per line, comment lines kept out.
SecureBytes one_identity_per_line(std::string_view text) {
    SecureBytes out;
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
    while (!text.empty()) {
        auto lf = text.find('\n');
        std::string_view line = text.substr(0, lf);
        text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
        if (line.empty() || line.starts_with('#')) continue;
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && space(line[i])) ++i;
            std::size_t start = i;
            while (i < line.size() && !space(line[i])) ++i;
            if (i > start) {
                out.insert(out.end(), line.begin() + static_cast<std::ptrdiff_t>(start),
                           line.begin() + static_cast<std::ptrdiff_t>(i));
                out.push_back('\n');
            }
        }
    }
    return out;
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

Environment Environment::from_process() {
    Environment e;
    e.age_key = io::getenv("SOPS_AGE_KEY");
    e.age_key_file = io::getenv("SOPS_AGE_KEY_FILE");
    e.age_key_cmd = io::getenv("SOPS_AGE_KEY_CMD");
    e.ssh_key_file = io::getenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE");
    e.ssh_key_cmd = io::getenv("SOPS_AGE_SSH_PRIVATE_KEY_CMD");
    e.home = io::getenv("HOME");
    e.xdg_config_home = io::getenv("XDG_CONFIG_HOME");
    return e;
}

Discovery::Discovery(Environment env, age::PassphraseFn passphrase)
    : env_(std::move(env)), passphrase_(std::move(passphrase)) {}

Discovery::~Discovery() {
    if (env_.age_key) wipe(*env_.age_key);
}

void Discovery::note_error(std::string e) { errors_.push_back(std::move(e)); }

// Parses one source into `into`; an empty source is an unused location, an error is noted.
static void add_source(age::Identities& into, std::span<const std::uint8_t> text, const std::string& location,
                       const age::PassphraseFn& passphrase, std::vector<std::string>& errors,
                       std::vector<std::string>& unused) {
    if (!has_key_lines(view_of(text))) {
        unused.push_back(location);
        return;
    }
    try {
        for (auto& id : age::parse_identity_file(text, location, passphrase)) into.push_back(std::move(id));
    } catch (const Error& e) {
        // The age parser names the source at the start of most of its messages: named once.
        const std::string what = e.what();
        errors.push_back(what.starts_with(location + ": ") ? what : location + ": " + what);
    }
}

void Discovery::load_static() {
    loaded_ = true;
    auto read_into = [&](const std::string& path, const std::string& label) {
        try {
            SecureBytes text = io::read_file_secure(path);
            add_source(static_, text, path, passphrase_, errors_, unused_);
        } catch (const Error& e) {
            note_error("failed to open " + label + " file: " + e.what());
        }
    };

    if (env_.ssh_key_file)
        read_into(*env_.ssh_key_file, "SOPS_AGE_SSH_PRIVATE_KEY_FILE");
    else
        unused_.push_back("SOPS_AGE_SSH_PRIVATE_KEY_FILE");
    if (!env_.ssh_key_cmd) unused_.push_back("SOPS_AGE_SSH_PRIVATE_KEY_CMD");

    if (env_.home && !env_.home->empty()) {
        for (const char* name : {"id_ed25519", "id_rsa"}) {
            fs::path p = fs::path(*env_.home) / ".ssh" / name;
            std::error_code ec;
            if (fs::exists(p, ec))
                read_into(p.string(), p.string());
            else
                unused_.push_back(p.string());
        }
    }

    bool any_reader = false;
    if (env_.age_key) {
        any_reader = true;
        SecureBytes text = one_identity_per_line(*env_.age_key);
        add_source(static_, text, "SOPS_AGE_KEY", passphrase_, errors_, unused_);
    } else {
        unused_.push_back("SOPS_AGE_KEY");
    }
    if (env_.age_key_file) {
        any_reader = true;
        read_into(*env_.age_key_file, "SOPS_AGE_KEY_FILE");
    } else {
        unused_.push_back("SOPS_AGE_KEY_FILE");
    }
    if (env_.age_key_cmd)
        any_reader = true;
    else
        unused_.push_back("SOPS_AGE_KEY_CMD");

    // The user config dir as Go's os.UserConfigDir on Linux: $XDG_CONFIG_HOME, else ~/.config.
    std::optional<fs::path> config_dir;
    if (env_.xdg_config_home && !env_.xdg_config_home->empty())
        config_dir = fs::path(*env_.xdg_config_home);
    else if (env_.home && !env_.home->empty())
        config_dir = fs::path(*env_.home) / ".config";
    if (config_dir) {
        fs::path keys = *config_dir / "sops" / "age" / "keys.txt";
        std::error_code ec;
        if (fs::exists(keys, ec))
            read_into(keys.string(), keys.string());
        else if (!any_reader && static_.empty())
            unused_.push_back(keys.string());
    }
}

age::Identities Discovery::run_commands(std::string_view recipient) {
    age::Identities out;
    const std::vector<std::string> env{"SOPS_AGE_RECIPIENT=" + std::string(recipient)};
    auto run_into = [&](const std::string& cmd, const char* label) {
        try {
            SecureBytes text = run_command(split_command(cmd), env);
            add_source(out, text, label, passphrase_, errors_, unused_);
        } catch (const Error& e) {
            note_error(std::string(label) + ": " + e.what());
        }
    };
    if (env_.ssh_key_cmd) run_into(*env_.ssh_key_cmd, "SOPS_AGE_SSH_PRIVATE_KEY_CMD");
    if (env_.age_key_cmd) run_into(*env_.age_key_cmd, "SOPS_AGE_KEY_CMD");
    return out;
}

const age::Identities& Discovery::identities(std::string_view recipient) {
    if (!loaded_) load_static();
    if (!env_.ssh_key_cmd && !env_.age_key_cmd) return static_;
    auto it = per_recipient_.find(recipient);
    if (it != per_recipient_.end()) return it->second;
    age::Identities list;
    for (const auto& id : static_) list.push_back(std::make_unique<Borrowed>(*id));
    for (auto& id : run_commands(recipient)) list.push_back(std::move(id));
    return per_recipient_.emplace(std::string(recipient), std::move(list)).first->second;
}

std::string Discovery::report() const {
    std::string out;
    if (!errors_.empty()) {
        out += "Errors while loading age identities:";
        for (const auto& e : errors_) out += "\n  " + e;
    }
    if (!unused_.empty()) {
        if (!out.empty()) out += '\n';
        out += "Did not find age keys in:";
        for (const auto& u : unused_) out += ' ' + u + (&u == &unused_.back() ? "" : ",");
    }
    return out;
}

std::vector<std::string> split_command(std::string_view line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    std::size_t i = 0;
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (i < line.size()) {
        char c = line[i];
        if (!in_word && is_space(c)) {
            ++i;
            continue;
        }
        if (!in_word && c == '#') {  // a comment runs to the end of the line
            while (i < line.size() && line[i] != '\n') ++i;
            continue;
        }
        if (in_word && is_space(c)) {
            words.push_back(std::move(word));
            word.clear();
            in_word = false;
            ++i;
            continue;
        }
        in_word = true;
        if (c == '\\') {
            if (i + 1 >= line.size()) throw Error("command line: EOF found after escape character");
            word += line[i + 1];
            i += 2;
        } else if (c == '\'') {
            auto end = line.find('\'', i + 1);
            if (end == std::string_view::npos) throw Error("command line: EOF found when expecting closing quote");
            word.append(line.substr(i + 1, end - i - 1));
            i = end + 1;
        } else if (c == '"') {
            ++i;
            for (;;) {
                if (i >= line.size()) throw Error("command line: EOF found when expecting closing quote");
                if (line[i] == '"') break;
                if (line[i] == '\\') {
                    if (i + 1 >= line.size()) throw Error("command line: EOF found after escape character");
                    ++i;
                }
                word += line[i++];
            }
            ++i;
        } else {
            word += c;
            ++i;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

SecureBytes run_command(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
    if (argv.empty()) throw Error("empty command");
    process::Pipe out;
    Fd& read_end = out.read;
    Fd& write_end = out.write;
    process::Stdio stdio;
    stdio.in_from_dev_null = true;
    stdio.out = write_end.get();
    int spawn_errno = 0;
    const pid_t pid = process::spawn(argv, process::environment({}, extra_env), stdio, &spawn_errno);
    write_end.reset();
    if (pid < 0) throw Error("failed to execute command " + argv[0] + ": " + errno_text(spawn_errno));
    SecureBytes output;
    try {
        output = io::read_stream_secure(read_end.get());
    } catch (...) {
        read_end.reset();
        process::wait(pid);
        throw;
    }
    read_end.reset();
    const process::ExitStatus status = process::wait(pid);
    if (!status.ok()) throw Error("command " + argv[0] + " failed (" + status.describe() + ")");
    return output;
}

}  // namespace gitsops::keys
