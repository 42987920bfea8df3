// Passphrases for `git sops age -p` (scrypt) and for bcrypt-protected OpenSSH keys.
//
// The terminal is asked through /dev/tty with echo off, so standard input and output stay free
// for the data being encrypted. Scripts and tests set GIT_SOPS_PASSPHRASE instead; it then
// answers every prompt of the run.
#pragma once

#include <string_view>

#include "base/secure.hpp"

namespace gitsops::cli {

inline constexpr const char* kPassphraseEnv = "GIT_SOPS_PASSPHRASE";

// Asks once. Throws gitsops::Error when there is neither the variable nor a terminal.
SecureBytes read_passphrase(std::string_view prompt);

// Asks twice on a terminal and insists both answers match; refuses an empty passphrase.
SecureBytes read_new_passphrase();

}  // namespace gitsops::cli
