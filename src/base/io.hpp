// File and stream helpers shared by every module. Errors are gitsops::Error with sops' codes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/secure.hpp"

namespace gitsops::io {

// Reads a whole file; "-" means standard input. Throws Error(no_file) when it does not exist.
std::string read_file(const std::filesystem::path& path);
SecureBytes read_file_secure(const std::filesystem::path& path);
std::string read_stream(int fd);
SecureBytes read_stream_secure(int fd);

void write_all(int fd, std::span<const std::uint8_t> bytes);
inline void write_all(int fd, std::string_view s) { write_all(fd, bytes_of(s)); }

// Atomic replace: writes a temporary file in the same folder (mode 0600, or `mode`), fsyncs it,
// renames it over `path` and fsyncs the folder. On any failure the temporary file is removed and
// `path` is untouched. When `mode` is empty, an existing file's mode is kept (else 0644 & ~umask).
void atomic_write(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                  std::optional<unsigned> mode = std::nullopt);
inline void atomic_write(const std::filesystem::path& path, std::string_view s,
                         std::optional<unsigned> mode = std::nullopt) {
    atomic_write(path, bytes_of(s), mode);
}

// Reads an environment variable; empty optional when unset.
std::optional<std::string> getenv(const char* name);

}  // namespace gitsops::io
