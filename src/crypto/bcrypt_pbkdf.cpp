// bcrypt_pbkdf (OpenBSD), the KDF of passphrase-protected OpenSSH keys (age-format.md §7.6).
//
// Neither libsodium nor OpenSSL offers it, so it is composed here from OpenSSL's Blowfish block
// function and libsodium's SHA-512. The Blowfish initial state (hex digits of pi) is computed at
// run time with OpenSSL BIGNUM arithmetic instead of being pasted in as a 4 KiB table.
#include "crypto/bcrypt_pbkdf.hpp"

#include <openssl/blowfish.h>
#include <openssl/bn.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "crypto/crypto.hpp"

namespace gitsops::crypto {

namespace bcrypt_detail {

namespace {

static_assert(sizeof(BF_LONG) == 4, "Blowfish words must be 32 bits");
static_assert(BF_ROUNDS + 2 == kPWords, "unexpected Blowfish P-array size");

// ---- pi --------------------------------------------------------------------------------------

constexpr int kPiBits = static_cast<int>((kPWords + kSWords) * 32);  // 8336 hex digits
// Every truncating division below loses at most one unit in the last place; ~10,000 of them
// stay far below 2^64, so 64 guard bits leave the kept bits exact.
constexpr int kGuardBits = 64;
constexpr int kScale = kPiBits + kGuardBits;

struct BnFree {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

BnPtr new_bn() {
    BnPtr b(BN_new());
    if (!b) throw std::bad_alloc();
    return b;
}

void bn_check(int ok, const char* what) {
    if (ok != 1) throw std::runtime_error(std::string("OpenSSL BIGNUM: ") + what + " failed");
}

void div_word(BIGNUM* a, BN_ULONG w) {
    if (BN_div_word(a, w) == static_cast<BN_ULONG>(-1)) throw std::runtime_error("OpenSSL BIGNUM: division failed");
}

// atan(1/x) * 2^kScale by its Taylor series: sum over k of (-1)^k / ((2k+1) x^(2k+1)).
BnPtr atan_inverse(BN_ULONG x) {
    BnPtr power = new_bn();  // 2^kScale / x^(2k+1)
    bn_check(BN_set_word(power.get(), 1), "set");
    bn_check(BN_lshift(power.get(), power.get(), kScale), "shift");
    div_word(power.get(), x);
    BnPtr sum(BN_dup(power.get()));
    BnPtr term = new_bn();
    if (!sum) throw std::bad_alloc();
    for (BN_ULONG k = 1; !BN_is_zero(power.get()); ++k) {
        div_word(power.get(), x * x);
        if (!BN_copy(term.get(), power.get())) throw std::bad_alloc();
        div_word(term.get(), 2 * k + 1);
        bn_check(k % 2 == 1 ? BN_sub(sum.get(), sum.get(), term.get()) : BN_add(sum.get(), sum.get(), term.get()),
                 "add");
    }
    return sum;
}

// Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239); returns the fractional bits.
BlowfishInit compute_pi_state() {
    BnPtr pi = atan_inverse(5);
    BnPtr b = atan_inverse(239);
    bn_check(BN_mul_word(pi.get(), 16), "multiply");
    bn_check(BN_mul_word(b.get(), 4), "multiply");
    bn_check(BN_sub(pi.get(), pi.get(), b.get()), "subtract");
    BnPtr three = new_bn();
    bn_check(BN_set_word(three.get(), 3), "set");
    bn_check(BN_lshift(three.get(), three.get(), kScale), "shift");
    bn_check(BN_sub(pi.get(), pi.get(), three.get()), "subtract");
    bn_check(BN_rshift(pi.get(), pi.get(), kGuardBits), "shift");

    std::array<std::uint8_t, static_cast<std::size_t>(kPiBits / 8)> digits{};
    if (BN_is_negative(pi.get()) || BN_bn2binpad(pi.get(), digits.data(), static_cast<int>(digits.size())) < 0)
        throw std::runtime_error("computing the digits of pi failed");

    BlowfishInit init{};
    auto word = [&](std::size_t i) {
        return std::uint32_t{digits[4 * i]} << 24 | std::uint32_t{digits[4 * i + 1]} << 16 |
               std::uint32_t{digits[4 * i + 2]} << 8 | std::uint32_t{digits[4 * i + 3]};
    };
    for (std::size_t i = 0; i < kPWords; ++i) init.p[i] = word(i);
    for (std::size_t i = 0; i < kSWords; ++i) init.s[i] = word(kPWords + i);
    return init;
}

// ---- eksblowfish -----------------------------------------------------------------------------

// OpenSSL 3 deprecates its low-level Blowfish API in favour of EVP, but EVP cannot run
// eksblowfish: the expensive key schedule needs the raw block function applied to a state we
// fill and modify ourselves. This is the one call site; the warning is silenced only here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void encipher(const BF_KEY& key, BF_LONG& l, BF_LONG& r) {
    std::array<BF_LONG, 2> block{l, r};
    BF_encrypt(block.data(), &key);
    l = block[0];
    r = block[1];
}
#pragma GCC diagnostic pop

// A Blowfish state that starts from pi and is wiped when it goes (it holds passphrase material).
struct State {
    BF_KEY key{};
    State() {
        const BlowfishInit& init = blowfish_initial_state();
        std::copy(init.p.begin(), init.p.end(), key.P);
        std::copy(init.s.begin(), init.s.end(), key.S);
    }
    ~State() { wipe(std::span(reinterpret_cast<std::uint8_t*>(&key), sizeof key)); }
    State(const State&) = delete;
    State& operator=(const State&) = delete;
};

// Reads big-endian 32-bit words from a byte string, wrapping around at its end.
class CyclicWords {
public:
    explicit CyclicWords(Bytes data) : data_(data) {}
    BF_LONG next() {
        BF_LONG w = 0;
        for (int i = 0; i < 4; ++i) {
            w = w << 8 | data_[pos_];
            pos_ = (pos_ + 1) % data_.size();
        }
        return w;
    }

private:
    Bytes data_;
    std::size_t pos_ = 0;
};

// The eksblowfish key expansion: mix `key` into the P-array, then re-encrypt the whole state
// with a running block that, when a salt is given, absorbs the salt two words at a time.
void expand(State& st, Bytes key, std::optional<Bytes> salt) {
    CyclicWords k(key);
    for (BF_LONG& p : st.key.P) p ^= k.next();
    std::optional<CyclicWords> s;
    if (salt) s.emplace(*salt);
    BF_LONG l = 0, r = 0;
    auto refill = [&](BF_LONG* pair) {
        if (s) {
            l ^= s->next();
            r ^= s->next();
        }
        encipher(st.key, l, r);
        pair[0] = l;
        pair[1] = r;
    };
    for (std::size_t i = 0; i < kPWords; i += 2) refill(st.key.P + i);
    for (std::size_t i = 0; i < kSWords; i += 2) refill(st.key.S + i);
}

constexpr std::string_view kMagic = "OxychromaticBlowfishSwatDynamite";
constexpr int kCostRounds = 64;

}  // namespace

const BlowfishInit& blowfish_initial_state() {
    static const BlowfishInit init = compute_pi_state();
    return init;
}

std::array<std::uint8_t, 32> bcrypt_hash(std::span<const std::uint8_t, 64> sha_pass,
                                         std::span<const std::uint8_t, 64> sha_salt) {
    State st;
    expand(st, sha_pass, Bytes(sha_salt));
    for (int i = 0; i < kCostRounds; ++i) {
        expand(st, sha_salt, std::nullopt);
        expand(st, sha_pass, std::nullopt);
    }
    std::array<BF_LONG, kMagic.size() / 4> words{};
    CyclicWords magic(bytes_of(kMagic));
    for (BF_LONG& w : words) w = magic.next();
    for (int i = 0; i < kCostRounds; ++i)
        for (std::size_t j = 0; j < words.size(); j += 2) encipher(st.key, words[j], words[j + 1]);
    std::array<std::uint8_t, 32> out{};
    for (std::size_t i = 0; i < words.size(); ++i)  // little-endian, as OpenBSD writes it
        for (std::size_t b = 0; b < 4; ++b) out[4 * i + b] = static_cast<std::uint8_t>(words[i] >> (8 * b));
    wipe(std::span(reinterpret_cast<std::uint8_t*>(words.data()), sizeof words));
    return out;
}

}  // namespace bcrypt_detail

void bcrypt_pbkdf(Bytes passphrase, Bytes salt, unsigned rounds, std::span<std::uint8_t> out) {
    if (passphrase.empty()) throw std::invalid_argument("bcrypt_pbkdf: empty passphrase");
    if (salt.empty() || salt.size() > (std::size_t{1} << 20)) throw std::invalid_argument("bcrypt_pbkdf: bad salt length");
    if (rounds < 1) throw std::invalid_argument("bcrypt_pbkdf: rounds must be at least 1");
    if (out.empty() || out.size() > 1024) throw std::invalid_argument("bcrypt_pbkdf: bad output length");

    const std::size_t blocks = (out.size() + 31) / 32;
    Sha512 sha_pass = sha512(passphrase);
    Sha512 sha_salt{};
    std::array<std::uint8_t, 32> t{}, acc{};
    for (std::size_t b = 1; b <= blocks; ++b) {
        const std::array<std::uint8_t, 4> counter{static_cast<std::uint8_t>(b >> 24), static_cast<std::uint8_t>(b >> 16),
                                                  static_cast<std::uint8_t>(b >> 8), static_cast<std::uint8_t>(b)};
        Sha512Stream h;
        h.update(salt);
        h.update(counter);
        sha_salt = h.final();
        t = bcrypt_detail::bcrypt_hash(sha_pass, sha_salt);
        acc = t;
        for (unsigned r = 1; r < rounds; ++r) {
            sha_salt = sha512(t);
            t = bcrypt_detail::bcrypt_hash(sha_pass, sha_salt);
            for (std::size_t i = 0; i < acc.size(); ++i) acc[i] ^= t[i];
        }
        // The output is interleaved: block b supplies bytes b-1, b-1+blocks, b-1+2*blocks, ...
        for (std::size_t i = 0; i < acc.size(); ++i) {
            const std::size_t dest = i * blocks + (b - 1);
            if (dest < out.size()) out[dest] = acc[i];
        }
    }
    wipe(sha_pass);
    wipe(sha_salt);
    wipe(t);
    wipe(acc);
}

}  // namespace gitsops::crypto
