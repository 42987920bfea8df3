#include "base/secure.hpp"

#include <sodium.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>

namespace gitsops {

namespace {

constexpr std::size_t kGuardedThreshold = 16 * 1024;

// Small secrets (values, keys, lines of plaintext) come from slabs of sodium_malloc'd memory:
// locked, kept out of core dumps, between guard pages. sodium_malloc itself costs several system
// calls and pages per call, and a sops file holds thousands of small values, so blocks are
// carved from 1 MiB slabs in power-of-two size classes, wiped when released and kept on a free
// list per class for the next secret. Slabs live until the process ends.
//
// Under AddressSanitizer the blocks come from malloc instead, so that it still sees overruns.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUseArena = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUseArena = false;
#else
constexpr bool kUseArena = true;
#endif
#else
constexpr bool kUseArena = true;
#endif

constexpr std::size_t kMinBlock = 16;  // also every block's alignment
constexpr std::size_t kSlabBytes = std::size_t{1} << 20;

// The smallest class whose blocks (kMinBlock << class) hold `bytes` (at least 1).
constexpr std::size_t class_of(std::size_t bytes) { return std::bit_width((bytes - 1) / kMinBlock); }
constexpr std::size_t kClasses = class_of(kGuardedThreshold - 1) + 1;

class Arena {
public:
    void* allocate(std::size_t bytes) {
        const std::size_t c = class_of(bytes);
        const std::lock_guard lock(mutex_);
        if (Free* block = free_[c]) {
            free_[c] = block->next;
            block->next = nullptr;
            return block;
        }
        const std::size_t size = kMinBlock << c;
        if (left_ < size) new_slab();
        void* p = cursor_;
        cursor_ += size;
        left_ -= size;
        return p;
    }

    void release(void* p, std::size_t bytes) noexcept {
        const std::size_t c = class_of(bytes);
        sodium_memzero(p, kMinBlock << c);
        const std::lock_guard lock(mutex_);
        auto* block = static_cast<Free*>(p);
        block->next = free_[c];
        free_[c] = block;
    }

private:
    struct Free {
        Free* next;
    };

    void new_slab() {
        init_sodium();
        void* slab = sodium_malloc(kSlabBytes);  // page-aligned: kSlabBytes is a multiple of the page size
        if (!slab) throw std::bad_alloc();
        cursor_ = static_cast<std::uint8_t*>(slab);
        left_ = kSlabBytes;
    }

    std::mutex mutex_;
    std::array<Free*, kClasses> free_{};
    std::uint8_t* cursor_ = nullptr;
    std::size_t left_ = 0;
};

Arena& arena() {
    static Arena* a = new Arena;  // never destroyed: secrets may be released during exit
    return *a;
}

}  // namespace

void init_sodium() {
    static const int rc = sodium_init();
    if (rc < 0) throw std::runtime_error("libsodium could not be initialised");
}

namespace detail {

bool secure_slabs_in_use() noexcept { return kUseArena; }

void* secure_allocate(std::size_t bytes) {
    if (bytes == 0) bytes = 1;
    void* p = nullptr;
    if (bytes >= kGuardedThreshold) {
        init_sodium();
        p = sodium_malloc(bytes);
    } else if (kUseArena) {
        p = arena().allocate(bytes);
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
    } else if (kUseArena) {
        arena().release(p, bytes);
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
