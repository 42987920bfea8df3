// Memory for secrets: keys, data keys and plaintext.
//
// SecureBytes is a vector whose allocator wipes every buffer it releases (sodium_memzero), so
// growth, moves and destruction never leave a copy behind. All of it is libsodium's secure memory
// (sodium_malloc: locked, no core dumps, guard pages): buffers of 16 KiB and more get a
// sodium_malloc of their own; small ones are blocks of 1 MiB sodium_malloc'd slabs, because
// sodium_malloc costs several system calls and pages per call and sops files hold thousands of
// values (see secure.cpp). FixedSecret<N> holds a key of known size in the same memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gitsops {

// Calls sodium_init once; every entry point that touches secrets goes through this.
void init_sodium();

namespace detail {
void* secure_allocate(std::size_t bytes);
void secure_deallocate(void* p, std::size_t bytes) noexcept;
// False under AddressSanitizer, where small blocks come from malloc so that it sees overruns
// (and a released block is poisoned instead of wiped and reused).
bool secure_slabs_in_use() noexcept;
}  // namespace detail

template <class T>
struct WipingAllocator {
    using value_type = T;
    WipingAllocator() noexcept = default;
    template <class U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(detail::secure_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { detail::secure_deallocate(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
};

using SecureBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view view_of(std::span<const std::uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline SecureBytes secure_copy(std::span<const std::uint8_t> b) { return SecureBytes(b.begin(), b.end()); }
inline SecureBytes secure_copy(std::string_view s) { return secure_copy(bytes_of(s)); }

// Wipes a std::string that briefly held secret bytes (for APIs that insist on std::string).
void wipe(std::string& s) noexcept;

// A fixed-size secret in secure memory; move-only.
template <std::size_t N>
class FixedSecret {
public:
    FixedSecret() : p_(static_cast<std::uint8_t*>(detail::secure_allocate(N))) {}
    explicit FixedSecret(std::span<const std::uint8_t> b) : FixedSecret() { assign(b); }
    FixedSecret(const FixedSecret& o) : FixedSecret() { assign(o.span()); }
    FixedSecret& operator=(const FixedSecret& o) {
        if (this != &o) assign(o.span());
        return *this;
    }
    FixedSecret(FixedSecret&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    FixedSecret& operator=(FixedSecret&& o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~FixedSecret() {
        if (p_) detail::secure_deallocate(p_, N);
    }

    std::uint8_t* data() noexcept { return p_; }
    const std::uint8_t* data() const noexcept { return p_; }
    static constexpr std::size_t size() noexcept { return N; }
    std::span<std::uint8_t, N> span() noexcept { return std::span<std::uint8_t, N>(p_, N); }
    std::span<const std::uint8_t, N> span() const noexcept { return std::span<const std::uint8_t, N>(p_, N); }

private:
    void assign(std::span<const std::uint8_t> b);
    std::uint8_t* p_;
};

void copy_checked(std::uint8_t* dst, std::size_t n, std::span<const std::uint8_t> src);

template <std::size_t N>
void FixedSecret<N>::assign(std::span<const std::uint8_t> b) {
    copy_checked(p_, N, b);
}

}  // namespace gitsops
