// Records and the rotate journal: small line-oriented text files, rewritten atomically.
#include "lifecycle/state.hpp"

#include <system_error>

#include "base/error.hpp"
#include "base/io.hpp"

namespace gitsops::lifecycle {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(std::string_view line, char sep) {
    std::vector<std::string> out;
    for (;;) {
        auto p = line.find(sep);
        out.emplace_back(line.substr(0, p));
        if (p == std::string_view::npos) return out;
        line.remove_prefix(p + 1);
    }
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto lf = text.find('\n');
        std::string_view line = text.substr(0, lf);
        if (!line.empty() && !line.starts_with('#')) out.push_back(line);
        if (lf == std::string_view::npos) break;
        text.remove_prefix(lf + 1);
    }
    return out;
}

void check_field(std::string_view value, std::string_view what) {
    if (value.find_first_of("\t\r\n") != std::string_view::npos)
        throw Error(std::string(what) + " '" + std::string(value) + "' holds a tab or line break; git-sops cannot record it");
}

std::string cluster_fields(const ClusterRecord& r) {
    if (r.no_cluster) return "-\t-\t-";
    return r.secret.context + "\t" + r.secret.namespace_name + "\t" + r.secret.name;
}

void parse_cluster_fields(const std::vector<std::string>& f, std::size_t at, ClusterRecord& r) {
    if (f.size() < at + 3) throw Error("malformed cluster fields");
    r.no_cluster = f[at] == "-";
    if (!r.no_cluster) r.secret = keys::ClusterSecret{f[at], f[at + 1], f[at + 2]};
}

std::optional<std::string> read_if_exists(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    return io::read_file(p);
}

void write_private(const fs::path& p, std::string_view text) {
    fs::create_directories(p.parent_path());
    io::atomic_write(p, text, 0600);
}

}  // namespace

std::string ClusterRecord::describe() const {
    if (no_cluster) return "no cluster (key held by the user, --no-cluster)";
    return "secret " + secret.namespace_name + "/" + secret.name + " (context " + secret.context + ")";
}

// ---- Records -------------------------------------------------------------------------------------------

Records Records::load(const fs::path& common_dir) {
    Records r;
    r.file_ = common_dir / "git-sops" / "clusters";
    auto text = read_if_exists(r.file_);
    if (!text) return r;
    for (auto line : lines_of(*text)) {
        auto f = split(line, '\t');
        ClusterRecord rec;
        try {
            if (f.size() != 5) throw Error("wrong number of fields");
            rec.rule = f[0];
            rec.recipient = f[1];
            parse_cluster_fields(f, 2, rec);
        } catch (const Error& e) {
            throw Error(r.file_.string(), std::string("malformed line (") + e.what() +
                                              "); fix or delete the file and run `git sops init` again");
        }
        r.records_.push_back(std::move(rec));
    }
    return r;
}

void Records::save() const {
    std::string text =
        "# git-sops: the cluster holding the age key of each .sops.yaml creation rule, written by\n"
        "# `git sops init` and `git sops rotate`. Public keys only. Fields (tab-separated): path_regex,\n"
        "# public key, kubectl context, namespace, Secret name ('-' = no cluster).\n";
    for (const auto& r : records_) text += r.rule + "\t" + r.recipient + "\t" + cluster_fields(r) + "\n";
    write_private(file_, text);
}

const ClusterRecord* Records::by_rule(std::string_view rule) const {
    for (const auto& r : records_)
        if (r.rule == rule) return &r;
    return nullptr;
}

const ClusterRecord* Records::by_recipient(std::string_view recipient) const {
    for (const auto& r : records_)
        if (r.recipient == recipient) return &r;
    return nullptr;
}

void Records::put(ClusterRecord record) {
    check_field(record.rule, "the path_regex");
    check_field(record.secret.context, "the context");
    check_field(record.secret.namespace_name, "the namespace");
    check_field(record.secret.name, "the Secret name");
    for (auto& r : records_)
        if (r.rule == record.rule) {
            r = std::move(record);
            return;
        }
    records_.push_back(std::move(record));
}

// ---- Journal ----------------------------------------------------------------------------------------------

const char* state_name(Journal::State s) {
    switch (s) {
        case Journal::State::planned: return "planned";
        case Journal::State::key_stored: return "key-stored";
        case Journal::State::config_updated: return "config-updated";
    }
    return "?";
}

fs::path Journal::dir(const fs::path& git_dir) { return git_dir / "git-sops" / "rotate"; }
fs::path Journal::original(const fs::path& git_dir, std::size_t index) {
    return dir(git_dir) / "orig" / std::to_string(index);
}
fs::path Journal::original_config(const fs::path& git_dir) { return dir(git_dir) / "orig" / "sops.yaml"; }

std::optional<Journal> Journal::load(const fs::path& git_dir) {
    const fs::path file = dir(git_dir) / "journal";
    auto text = read_if_exists(file);
    if (!text) return std::nullopt;
    Journal j;
    try {
        for (auto line : lines_of(*text)) {
            auto sp = line.find(' ');
            std::string_view key = line.substr(0, sp), value = sp == std::string_view::npos ? "" : line.substr(sp + 1);
            if (key == "state") {
                if (value == "planned") j.state = State::planned;
                else if (value == "key-stored") j.state = State::key_stored;
                else if (value == "config-updated") j.state = State::config_updated;
                else throw Error("unknown state");
            } else if (key == "rule") {
                j.rule = value;
            } else if (key == "old") {
                j.old_recipient = value;
            } else if (key == "new") {
                j.new_recipient = value;
            } else if (key == "cluster") {
                parse_cluster_fields(split(value, '\t'), 0, j.cluster);
            } else if (key == "config-saved") {
                j.config_saved = value == "1";
            } else if (key == "file") {
                if (value.size() < 3 || value[1] != ' ') throw Error("malformed file line");
                j.files.push_back(File{std::string(value.substr(2)), value[0] == '1'});
            } else {
                throw Error("unknown line");
            }
        }
    } catch (const Error& e) {
        throw Error(file.string(), std::string("unreadable rotate journal (") + e.what() +
                                       "); restore the files with `git checkout`, then delete " +
                                       dir(git_dir).string());
    }
    j.cluster.rule = j.rule;
    j.cluster.recipient = j.old_recipient;
    return j;
}

void Journal::save(const fs::path& git_dir) const {
    std::string text =
        "# git-sops rotate journal: progress of `git sops rotate` (no private key is written here).\n"
        "# Rerun `git sops rotate` to resume, or `git sops rotate --abort` to roll back.\n";
    text += "state " + std::string(state_name(state)) + "\n";
    text += "rule " + rule + "\n";
    text += "old " + old_recipient + "\n";
    text += "new " + new_recipient + "\n";
    text += "cluster " + cluster_fields(cluster) + "\n";
    text += std::string("config-saved ") + (config_saved ? "1" : "0") + "\n";
    for (const auto& f : files) text += std::string("file ") + (f.done ? "1 " : "0 ") + f.path + "\n";
    write_private(dir(git_dir) / "journal", text);
}

void Journal::remove(const fs::path& git_dir) {
    std::error_code ec;
    fs::remove_all(dir(git_dir), ec);
    if (ec) throw Error(dir(git_dir).string(), "cannot remove the rotate journal: " + ec.message());
}

}  // namespace gitsops::lifecycle
