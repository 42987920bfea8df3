#include "base/secure.hpp"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace gitsops {

namespace {
constexpr std::size_t kGuardedThreshold = 16 * 1024;
}

void init_sodium() {
    static const int rc = sodium_init();
    if (rc < 0) throw std::runtime_error("libsodium could not be initialised");
}

namespace detail {

void* secure_allocate(std::size_t bytes) {
    if (bytes == 0) bytes = 1;
    void* p = nullptr;
    if (bytes >= kGuardedThreshold) {
        init_sodium();
        p = sodium_malloc(bytes);
    } else {
        p = std::malloc(bytes);
    }
    if (!p) throw std::bad_alloc();
    return p;
}

void secure_deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    if (bytes == 0) bytes = 1;
    if (bytes >= kGuardedThreshold) {
        sodium_free(p);  // wipes, unlocks and unmaps
    } else {
        sodium_memzero(p, bytes);
        std::free(p);
    }
}

}  // namespace detail

void wipe(std::string& s) noexcept {
    // Wipe the whole capacity: earlier, longer contents may still sit past size().
    s.resize(s.capacity());
    sodium_memzero(s.data(), s.size());
    s.clear();
}

void copy_checked(std::uint8_t* dst, std::size_t n, std::span<const std::uint8_t> src) {
    if (src.size() != n) throw std::length_error("secret of the wrong length");
    std::memcpy(dst, src.data(), n);
}

}  // namespace gitsops
