// One error type for the whole program: what went wrong, where, and the process exit code.
// Exit codes follow sops' cmd/sops/codes so scripts written for sops keep working.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace gitsops {

namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int generic = 1;
inline constexpr int usage = 2;               // our CLI usage errors (CLI11 convention)
inline constexpr int could_not_read_input = 2;  // sops: can't read/parse input
inline constexpr int could_not_write_output = 3;
inline constexpr int error_dumping_tree = 4;
inline constexpr int invalid_set_format = 7;
inline constexpr int conflicting_options = 8;
inline constexpr int error_encrypting_mac = 21;
inline constexpr int error_encrypting_tree = 23;
inline constexpr int error_decrypting_tree = 25;
inline constexpr int cannot_change_keys_missing_file = 49;
inline constexpr int mac_mismatch = 51;
inline constexpr int invalid_tree_path = 91;
inline constexpr int empty_file = 92;
inline constexpr int no_file = 100;
inline constexpr int duplicate_decryption_key_type = 112;
inline constexpr int could_not_retrieve_key = 128;
inline constexpr int file_not_modified = 200;
inline constexpr int no_editor = 201;
inline constexpr int version_compare_failure = 202;
inline constexpr int file_already_encrypted = 203;
}  // namespace exit_code

class Error : public std::runtime_error {
public:
    explicit Error(std::string message, int code = exit_code::generic)
        : std::runtime_error(std::move(message)), code_(code) {}
    Error(std::string_view where, std::string_view what, int code = exit_code::generic)
        : std::runtime_error(join(where, what)), code_(code) {}

    int code() const noexcept { return code_; }

private:
    static std::string join(std::string_view where, std::string_view what) {
        std::string s;
        s.reserve(where.size() + what.size() + 2);
        s.append(where).append(": ").append(what);
        return s;
    }
    int code_;
};

}  // namespace gitsops
