// Identity files (-i) and recipients files (-R), spec §10: one key a line, `#` comments and
// empty lines ignored, a trailing CR dropped, nothing else trimmed. SSH keys go to the SSH
// module (age/ssh.hpp); everything else is native. The public entry points (parse_recipient,
// parse_recipients_file, parse_identity_file, identity_file_recipients) are declared in age.hpp.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace gitsops::age {

// Both files are read whole; anything larger is not a key file (Go's limit).
inline constexpr std::size_t kMaxKeyFileSize = 16 << 20;
inline constexpr std::size_t kMaxRecipientLine = 8 << 10;

struct KeyLine {
    std::size_t number;     // 1-based, for error messages
    std::string_view text;  // without LF and one trailing CR
};

// The lines of a key file that hold a key: not empty and not starting with '#'.
std::vector<KeyLine> key_lines(std::string_view text);

}  // namespace gitsops::age
