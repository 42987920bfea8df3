// `git sops age`: the age CLI (encrypt and decrypt files), with age's flags and behaviour.
//
// Data streams through age::FdSource/FdSink in 64 KiB chunks, so file size does not matter.
// An output file (-o) is written beside its final name and renamed only on success: a failed,
// truncated or tampered decryption leaves nothing behind.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "age/age.hpp"
#include "base/error.hpp"
#include "base/io.hpp"
#include "base/secure.hpp"
#include "cli/commands.hpp"
#include "base/fd.hpp"
#include "cli/passphrase.hpp"

namespace gitsops::cli {

namespace {

namespace fs = std::filesystem;

struct AgeOptions {
    bool encrypt = false;
    bool decrypt = false;
    bool armor = false;
    bool passphrase = false;
    std::vector<std::string> recipients;
    std::vector<std::string> recipient_files;
    std::vector<std::string> identity_files;
    std::string output;
    std::string input;
};

Error usage_error(const std::string& message) { return Error(message, exit_code::usage); }

bool is_stdin(const std::string& name) { return name.empty() || name == "-"; }
std::string display_name(const std::string& name) { return is_stdin(name) ? "standard input" : name; }

std::string errno_text(int e) { return std::strerror(e); }

// Standard input can feed only one of INPUT, -R - and -i - in a run.
class StdinClaim {
public:
    void claim(const std::string& what) {
        if (owner_) throw usage_error("standard input cannot be both " + *owner_ + " and " + what);
        owner_ = what;
    }

private:
    std::optional<std::string> owner_;
};

// ---- input and output ---------------------------------------------------------------------------

class Input {
public:
    explicit Input(const std::string& name) : name_(display_name(name)) {
        if (is_stdin(name)) return;
        fd_.reset(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd_.get() < 0) {
            int e = errno;
            throw Error(name, errno_text(e), e == ENOENT ? exit_code::no_file : exit_code::could_not_read_input);
        }
        struct stat st {};
        if (::fstat(fd_.get(), &st) == 0 && S_ISDIR(st.st_mode))
            throw Error(name, "is a directory", exit_code::could_not_read_input);
    }
    int fd() const { return fd_.get() >= 0 ? fd_.get() : STDIN_FILENO; }
    const std::string& name() const { return name_; }

private:
    Fd fd_;
    std::string name_;
};

unsigned new_file_mode() {
    mode_t mask = ::umask(0);
    ::umask(mask);
    return 0666 & ~mask;
}

// Standard output, a device or pipe written in place (-o /dev/null must never be renamed
// over), or a regular file written through a temporary file in the same folder.
class Output {
public:
    explicit Output(const std::string& name) {
        if (is_stdin(name)) return;  // "" and "-" both mean standard output
        fs::path target = name;
        std::error_code ec;
        // Write through a symlink to its target rather than replacing the link.
        if (fs::is_symlink(fs::symlink_status(target, ec))) target = fs::weakly_canonical(target, ec);
        struct stat st {};
        const bool exists = ::stat(target.c_str(), &st) == 0;
        if (exists && S_ISDIR(st.st_mode)) throw Error(name, "is a directory", exit_code::could_not_write_output);
        if (exists && !S_ISREG(st.st_mode)) {
            fd_.reset(::open(target.c_str(), O_WRONLY | O_CLOEXEC));
            if (fd_.get() < 0) throw write_error(name, errno);
            return;
        }
        // Renaming needs only the folder's permission; a read-only file must still refuse.
        if (exists && ::access(target.c_str(), W_OK) != 0) throw write_error(name, errno);
        final_ = target;
        mode_ = exists ? (st.st_mode & 07777) : new_file_mode();
        std::string tmpl = (target.has_parent_path() ? target.parent_path() : fs::path("."))
                               .append("." + target.filename().string() + ".git-sops-XXXXXX")
                               .string();
        fd_.reset(::mkostemp(tmpl.data(), O_CLOEXEC));  // mode 0600 while being written
        if (fd_.get() < 0) throw write_error(name, errno);
        temp_ = tmpl;
    }
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;
    ~Output() {
        if (!temp_.empty()) ::unlink(temp_.c_str());
    }

    int fd() const { return fd_.get() >= 0 ? fd_.get() : STDOUT_FILENO; }
    bool is_terminal() const { return ::isatty(fd()) == 1; }
    // The regular file being replaced, if any (to refuse reading and writing the same file).
    const std::optional<fs::path>& final_path() const { return final_; }

    // Everything was written: put the file in place.
    void commit() {
        if (temp_.empty()) return;
        const int fd = fd_.release();
        bool ok = ::fchmod(fd, static_cast<mode_t>(mode_)) == 0 && ::fsync(fd) == 0;
        ok = ::close(fd) == 0 && ok;
        if (!ok || ::rename(temp_.c_str(), final_->c_str()) != 0) throw write_error(final_->string(), errno);
        temp_.clear();
    }

private:
    static Error write_error(const std::string& name, int e) {
        return Error(name, "cannot write: " + errno_text(e), exit_code::could_not_write_output);
    }

    Fd fd_;
    std::string temp_;
    std::optional<fs::path> final_;
    unsigned mode_ = 0600;
};

bool same_file(int fd, const fs::path& path) {
    struct stat a {
    }, b{};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

SecureBytes read_named(const std::string& name, const std::string& role, StdinClaim& stdin_claim) {
    if (name == "-") stdin_claim.claim(role);
    return io::read_file_secure(name);
}

// ---- identities that stand in for a missing -i ----------------------------------------------------

bool passphrase_only(std::span<const age::Stanza> stanzas) {
    return stanzas.size() == 1 && stanzas[0].type == "scrypt";
}

// Without -i the only way to decrypt is a passphrase. Asking is deferred until the header
// has been read, and happens only when it holds exactly one scrypt stanza, as age does.
class PromptedPassphrase : public age::Identity {
public:
    std::optional<age::FileKey> unwrap(std::span<const age::Stanza> stanzas) const override {
        if (!passphrase_only(stanzas))
            throw age::AgeError(age::Failure::usage,
                                "no identity given: use -i FILE (the file is not passphrase-encrypted)");
        std::optional<age::FileKey> key = age::scrypt_identity(read_passphrase("Enter passphrase"))->unwrap(stanzas);
        if (!key) throw age::AgeError(age::Failure::no_match, "incorrect passphrase");
        return key;
    }
};

// Tried after every -i identity failed: explains a passphrase-only file instead of "no match".
class PassphraseHint : public age::Identity {
public:
    std::optional<age::FileKey> unwrap(std::span<const age::Stanza> stanzas) const override {
        if (passphrase_only(stanzas))
            throw age::AgeError(
                age::Failure::no_match,
                "the file is passphrase-encrypted: decrypt it without -i to be asked for the passphrase");
        return std::nullopt;
    }
    bool native() const override { return false; }
};

// ---- the two modes ---------------------------------------------------------------------------------

age::Recipients gather_recipients(const AgeOptions& o, StdinClaim& stdin_claim) {
    age::Recipients out;
    for (const std::string& r : o.recipients) out.push_back(age::parse_recipient(r));
    for (const std::string& f : o.recipient_files) {
        SecureBytes text = read_named(f, "a recipients file", stdin_claim);
        for (auto& r : age::parse_recipients_file(view_of(text), display_name(f))) out.push_back(std::move(r));
    }
    for (const std::string& f : o.identity_files) {
        SecureBytes text = read_named(f, "an identity file", stdin_claim);
        for (const auto& id : age::parse_identity_file(text, display_name(f), read_passphrase)) {
            std::unique_ptr<age::Recipient> r = id->recipient();
            if (!r) throw Error(display_name(f), "an identity in it has no recipient to encrypt to");
            out.push_back(std::move(r));
        }
    }
    if (o.passphrase) out.push_back(age::scrypt_recipient(read_new_passphrase()));
    if (out.empty()) throw usage_error("missing recipients: use -r RECIPIENT, -R FILE, -i FILE or -p");
    return out;
}

age::Identities gather_identities(const AgeOptions& o, StdinClaim& stdin_claim) {
    age::Identities out;
    for (const std::string& f : o.identity_files) {
        SecureBytes text = read_named(f, "an identity file", stdin_claim);
        for (auto& id : age::parse_identity_file(text, display_name(f), read_passphrase)) out.push_back(std::move(id));
    }
    if (out.empty())
        out.push_back(std::make_unique<PromptedPassphrase>());
    else
        out.push_back(std::make_unique<PassphraseHint>());
    return out;
}

// Says which file was bad when the fault lies in its contents (not for I/O or usage errors).
age::AgeError name_input(const age::AgeError& e, const Input& in) {
    switch (e.failure()) {
        case age::Failure::usage:
        case age::Failure::io:
            return e;
        default:
            return age::AgeError(e.failure(), in.name() + ": " + e.what());
    }
}

void check_flags(const AgeOptions& o) {
    if (o.encrypt && o.decrypt) throw usage_error("-e/--encrypt and -d/--decrypt cannot be used together");
    if (o.decrypt) {
        if (!o.recipients.empty() || !o.recipient_files.empty())
            throw usage_error("-r/-R cannot be used with -d/--decrypt (did you mean -i FILE?)");
        if (o.armor) throw usage_error("-a/--armor cannot be used with -d/--decrypt (armor is detected automatically)");
        if (o.passphrase)
            throw usage_error(
                "-p/--passphrase cannot be used with -d/--decrypt (passphrase files are detected automatically)");
        return;
    }
    if (o.passphrase && (!o.recipients.empty() || !o.recipient_files.empty() || !o.identity_files.empty()))
        throw usage_error("-p/--passphrase cannot be combined with -r, -R or -i");
    if (!o.encrypt && !o.identity_files.empty())
        throw usage_error("-i in encryption mode needs an explicit -e/--encrypt (did you mean -d/--decrypt?)");
}

void run_age(const AgeOptions& o) {
    check_flags(o);
    StdinClaim stdin_claim;
    if (is_stdin(o.input)) stdin_claim.claim("the input");

    // Keys first: a bad key or a mistyped recipient must not leave an output file behind.
    age::Recipients recipients;
    age::Identities identities;
    if (o.decrypt)
        identities = gather_identities(o, stdin_claim);
    else
        recipients = gather_recipients(o, stdin_claim);

    Input in(o.input);
    Output out(o.output);
    if (out.final_path() && same_file(in.fd(), *out.final_path()))
        throw usage_error("input and output are the same file: " + in.name());
    if (!o.decrypt && !o.armor && o.output.empty() && out.is_terminal())
        throw usage_error("refusing to write binary to the terminal: use -a/--armor, or -o - to force");

    age::FdSource source(in.fd());
    age::FdSink sink(out.fd());
    try {
        if (o.decrypt)
            age::decrypt(identities, source, sink);
        else
            age::encrypt(recipients, source, sink, o.armor);
    } catch (const age::AgeError& e) {
        throw name_input(e, in);
    }
    out.commit();
}

}  // namespace

void add_age(CLI::App& app) {
    auto opts = std::make_shared<AgeOptions>();
    CLI::App* cmd = app.add_subcommand("age", "Encrypt or decrypt a file with age (same flags as the age CLI)");
    cmd->footer(
        "Encrypts by default. INPUT defaults to standard input, output to standard output.\n"
        "Recipients: age1... (X25519), or an OpenSSH ssh-ed25519 / ssh-rsa public key line.\n"
        "Identities: age identity files (as written by keygen), OpenSSH private keys.\n"
        "Armor is detected automatically when decrypting. With -o the file is replaced only\n"
        "once everything succeeded. Passphrases (-p, passphrase-encrypted files, protected SSH\n"
        "keys) are read from the terminal, or from $GIT_SOPS_PASSPHRASE when it is set.\n"
        "Exit status: 0 ok, 1 bad or tampered input, 2 usage, 128 no identity matched.\n");
    cmd->add_flag("-e,--encrypt", opts->encrypt, "Encrypt (the default)");
    cmd->add_flag("-d,--decrypt", opts->decrypt, "Decrypt");
    cmd->add_option("-r,--recipient", opts->recipients, "Encrypt to RECIPIENT (repeatable)")
        ->type_name("RECIPIENT")
        ->allow_extra_args(false);
    cmd->add_option("-R,--recipients-file", opts->recipient_files, "Encrypt to the recipients in FILE (repeatable)")
        ->type_name("FILE")
        ->allow_extra_args(false);
    cmd->add_option("-i,--identity", opts->identity_files,
                    "Decrypt with the identities in FILE (repeatable); with -e, encrypt to them")
        ->type_name("FILE")
        ->allow_extra_args(false);
    cmd->add_flag("-a,--armor", opts->armor, "Write PEM-armored text instead of binary");
    cmd->add_flag("-p,--passphrase", opts->passphrase, "Encrypt with a passphrase (scrypt)");
    cmd->add_option("-o,--output", opts->output, "Write to FILE (- for standard output)")->type_name("FILE");
    cmd->add_option("INPUT", opts->input, "File to read (default: standard input)");
    cmd->callback([opts] { run_age(*opts); });
}

}  // namespace gitsops::cli
