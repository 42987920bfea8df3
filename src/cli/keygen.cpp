// `git sops keygen`: a new age X25519 identity, or (-y) the recipients of existing ones.
// Output matches age-keygen byte for byte apart from the key itself and the time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "age/age.hpp"
#include "base/error.hpp"
#include "base/io.hpp"
#include "base/secure.hpp"
#include "cli/commands.hpp"
#include "base/fd.hpp"

namespace gitsops::cli {

namespace {

struct KeygenOptions {
    std::string output;
    std::string input;
    bool to_public = false;
};

// The file named by -o, created exclusively with mode 0600: a key is never written over
// anything, and never readable by others even for a moment. Removed again if writing fails.
class NewFile {
public:
    explicit NewFile(std::string path) : path_(std::move(path)) {
        fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (fd_.get() < 0) {
            int e = errno;
            throw Error(path_, e == EEXIST ? "already exists; refusing to overwrite it" : std::strerror(e),
                        exit_code::could_not_write_output);
        }
    }
    NewFile(const NewFile&) = delete;
    NewFile& operator=(const NewFile&) = delete;
    ~NewFile() {
        if (fd_.get() >= 0) ::unlink(path_.c_str());
    }
    int fd() const { return fd_.get(); }
    void commit() {
        const int fd = fd_.release();
        bool ok = ::fsync(fd) == 0;
        ok = ::close(fd) == 0 && ok;
        if (!ok) {
            int e = errno;
            ::unlink(path_.c_str());
            throw Error(path_, std::string("cannot write: ") + std::strerror(e), exit_code::could_not_write_output);
        }
    }

private:
    std::string path_;
    Fd fd_;
};

// Local time as Go's time.RFC3339 prints it: 2021-01-02T15:30:45+01:00, or ...Z in UTC.
std::string rfc3339_now() {
    std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
    std::string out = buf;
    long off = local.tm_gmtoff;
    if (off == 0) return out + "Z";
    out += off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", off / 3600, off / 60 % 60);
    return out + buf;
}

void warn_if_world_readable(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IROTH))
        std::cerr << "git-sops: warning: writing a secret key to a world-readable file\n";
}

void generate(const KeygenOptions& o) {
    age::X25519Keypair key = age::generate_x25519();
    SecureBytes text = secure_copy("# created: " + rfc3339_now() + "\n# public key: " + key.recipient + "\n");
    text.insert(text.end(), key.identity.begin(), key.identity.end());
    text.push_back('\n');

    std::unique_ptr<NewFile> file;
    if (!o.output.empty()) file = std::make_unique<NewFile>(o.output);
    const int fd = file ? file->fd() : STDOUT_FILENO;
    warn_if_world_readable(fd);
    io::write_all(fd, text);
    if (file) file->commit();
    // Whoever reads the key from a file or a pipe still needs to see the recipient.
    if (!::isatty(fd)) std::cerr << "Public key: " << key.recipient << '\n';
}

void print_recipients(const KeygenOptions& o) {
    const std::string name = o.input.empty() || o.input == "-" ? std::string("standard input") : o.input;
    SecureBytes text = io::read_file_secure(o.input.empty() ? std::string("-") : o.input);
    std::string out;
    for (const std::string& r : age::identity_file_recipients(text, name)) out.append(r).push_back('\n');

    std::unique_ptr<NewFile> file;
    if (!o.output.empty()) file = std::make_unique<NewFile>(o.output);
    io::write_all(file ? file->fd() : STDOUT_FILENO, out);
    if (file) file->commit();
}

void run_keygen(const KeygenOptions& o) {
    if (!o.to_public && !o.input.empty())
        throw Error("keygen: INPUT is only read with -y (did you mean -o " + o.input + "?)", exit_code::usage);
    if (o.to_public)
        print_recipients(o);
    else
        generate(o);
}

}  // namespace

void add_keygen(CLI::App& app) {
    auto opts = std::make_shared<KeygenOptions>();
    CLI::App* cmd = app.add_subcommand("keygen", "Generate an age identity (X25519), like age-keygen");
    cmd->footer(
        "Writes '# created: <time>', '# public key: age1...' and 'AGE-SECRET-KEY-1...'.\n"
        "With -o the file is created with mode 0600 and an existing file is never overwritten;\n"
        "the public key is also printed to standard error when the output is not a terminal.\n"
        "With -y, reads an identity file (INPUT, or standard input) and prints the recipient of\n"
        "every identity in it, one per line.\n");
    cmd->add_option("-o,--output", opts->output, "Write to FILE instead of standard output")->type_name("FILE");
    cmd->add_flag("-y", opts->to_public, "Print the recipients of the identities in INPUT");
    cmd->add_option("INPUT", opts->input, "Identity file for -y (default: standard input)");
    cmd->callback([opts] { run_keygen(*opts); });
}

}  // namespace gitsops::cli
