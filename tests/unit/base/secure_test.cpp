// Secure memory: every size a secret may have, wiped on release, reused, usable from threads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "base/secure.hpp"

using namespace gitsops;

namespace {

bool all_equal(const std::uint8_t* p, std::size_t n, std::uint8_t v) {
    return std::all_of(p, p + n, [v](std::uint8_t b) { return b == v; });
}

}  // namespace

TEST_CASE("secure memory: sizes around every size class and the 16 KiB line, 16-byte aligned") {
    std::vector<std::pair<std::uint8_t*, std::size_t>> held;
    for (std::size_t n : {1, 15, 16, 17, 31, 32, 33, 100, 1000, 4095, 4096, 4097, 8192, 16383, 16384, 16385, 100000}) {
        auto* p = static_cast<std::uint8_t*>(detail::secure_allocate(n));
        REQUIRE(p != nullptr);
        if (n < 16384) CHECK(reinterpret_cast<std::uintptr_t>(p) % 16 == 0);
        std::fill(p, p + n, static_cast<std::uint8_t>(n));
        held.emplace_back(p, n);
    }
    // No two blocks overlap: each still holds its own pattern after all were written.
    for (auto [p, n] : held) CHECK(all_equal(p, n, static_cast<std::uint8_t>(n)));
    for (auto [p, n] : held) detail::secure_deallocate(p, n);
}

TEST_CASE("secure memory: a released block is wiped before it serves the next secret") {
    if (!detail::secure_slabs_in_use()) {
        // ASan build: blocks come from malloc, and ASan poisons a released one instead.
        SUCCEED("slabs off under AddressSanitizer");
        return;
    }
    for (std::size_t n : {24, 200, 3000, 12000}) {
        auto* p = static_cast<std::uint8_t*>(detail::secure_allocate(n));
        std::fill(p, p + n, 0xA5);
        detail::secure_deallocate(p, n);
        // The next block of the same size class is the one just released (free list, last in
        // first out), and none of the secret is left in it.
        auto* q = static_cast<std::uint8_t*>(detail::secure_allocate(n));
        CHECK(q == p);
        CHECK_FALSE(std::any_of(q + sizeof(void*), q + n, [](std::uint8_t b) { return b == 0xA5; }));
        detail::secure_deallocate(q, n);
    }
}

TEST_CASE("secure memory: vectors, strings and keys from several threads at once") {
    auto work = [](int seed) {
        for (int round = 0; round < 2000; ++round) {
            SecureBytes bytes(static_cast<std::size_t>((seed * 131 + round * 17) % 5000 + 32),
                              static_cast<std::uint8_t>(seed));
            bytes.resize(bytes.size() * 2, static_cast<std::uint8_t>(seed));
            FixedSecret<32> key(std::span<const std::uint8_t>(bytes.data(), 32));
            if (!all_equal(bytes.data(), bytes.size(), static_cast<std::uint8_t>(seed)) ||
                !all_equal(key.data(), 32, static_cast<std::uint8_t>(seed)))
                return false;
        }
        return true;
    };
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { ok[static_cast<std::size_t>(t)] = work(t + 1); });
    for (auto& t : threads) t.join();
    CHECK(ok == std::vector<int>(4, 1));
}
