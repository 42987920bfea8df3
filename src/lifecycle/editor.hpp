// Where `git sops edit` puts plaintext and how it runs the editor. Internal to lifecycle/.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/secure.hpp"

namespace gitsops::lifecycle {

// A fresh 0700 folder on a memory-backed file system holding one 0600 plaintext file (named like
// the file being edited, so the editor picks the right syntax). The folder is $XDG_RUNTIME_DIR or
// /dev/shm, checked with statfs to be tmpfs or ramfs; persistent disk ($TMPDIR, /tmp) only with
// `allow_disk`. Removed when destroyed (the file overwritten with zeros first) and, through a
// signal handler, on SIGINT, SIGTERM, SIGHUP and SIGQUIT, which are then re-raised so the
// process still dies of them; after SIGKILL or a crash, by a forked guardian that waits for this
// process to end. One Scratch at a time.
class Scratch {
public:
    Scratch(std::string_view basename, bool allow_disk);
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    const std::filesystem::path& file() const { return file_; }
    const std::filesystem::path& folder() const { return folder_; }
    bool memory_backed() const { return memory_backed_; }

    void write(std::span<const std::uint8_t> bytes) const;
    SecureBytes read() const;

private:
    std::filesystem::path folder_, file_;
    bool memory_backed_ = true;
};

// True when `dir` is on tmpfs or ramfs (statfs).
bool is_memory_backed(const std::filesystem::path& dir);

// Runs the editor on `file` and waits: $SOPS_EDITOR, else $EDITOR (split shell-style, run
// without a shell, the file as last argument), else the first of vim, nano, vi on PATH.
// Error(no_editor = 201) when there is none; Error when it cannot start or does not exit 0.
void run_editor(const std::filesystem::path& file);

// Asks a yes/no question on /dev/tty (Enter gives `default_yes`); nullopt without a terminal.
std::optional<bool> ask_tty(std::string_view question, bool default_yes);

}  // namespace gitsops::lifecycle
