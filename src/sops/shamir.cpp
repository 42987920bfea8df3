#include "sops/shamir.hpp"

#include "base/error.hpp"
#include "crypto/crypto.hpp"

namespace gitsops::sops::shamir {

// Shift-and-add multiplication reduced by x^8+x^4+x^3+x+1, with masks instead of branches so
// the time does not depend on the (secret) operands.
std::uint8_t gf_mul(std::uint8_t a, std::uint8_t b) {
    unsigned acc = 0;
    unsigned x = a;
    for (int i = 0; i < 8; ++i) {
        acc ^= x & (0u - ((b >> i) & 1u));
        unsigned carry = 0u - ((x >> 7) & 1u);
        x = ((x << 1) ^ (carry & 0x1Bu)) & 0xFFu;
    }
    return static_cast<std::uint8_t>(acc);
}

// a^254 = a^-1 in GF(2^8) (and 0 for 0), by square-and-multiply over the fixed exponent.
std::uint8_t gf_inv(std::uint8_t a) {
    std::uint8_t result = 1;
    std::uint8_t base = a;
    for (unsigned e = 254; e != 0; e >>= 1) {
        if (e & 1u) result = gf_mul(result, base);
        base = gf_mul(base, base);
    }
    return result;
}

namespace {

// Horner evaluation of coefficients c[0] + c[1] x + ... at x.
std::uint8_t evaluate(std::span<const std::uint8_t> coefficients, std::uint8_t x) {
    std::uint8_t out = 0;
    for (std::size_t i = coefficients.size(); i-- > 0;)
        out = static_cast<std::uint8_t>(gf_mul(out, x) ^ coefficients[i]);
    return out;
}

}  // namespace

std::vector<SecureBytes> split(std::span<const std::uint8_t> secret, int parts, int threshold) {
    if (threshold < 2 || threshold > 255 || parts < threshold || parts > 255)
        throw Error("shamir: need 2 <= threshold <= parts <= 255");
    if (secret.empty()) throw Error("shamir: cannot split an empty secret");
    std::vector<SecureBytes> shares(static_cast<std::size_t>(parts), SecureBytes(secret.size() + 1));
    for (int i = 0; i < parts; ++i) shares[static_cast<std::size_t>(i)].back() = static_cast<std::uint8_t>(i + 1);
    SecureBytes coefficients(static_cast<std::size_t>(threshold));
    for (std::size_t byte = 0; byte < secret.size(); ++byte) {
        coefficients[0] = secret[byte];
        crypto::random_bytes(std::span<std::uint8_t>(coefficients).subspan(1));
        for (int i = 0; i < parts; ++i)
            shares[static_cast<std::size_t>(i)][byte] = evaluate(coefficients, static_cast<std::uint8_t>(i + 1));
    }
    return shares;
}

SecureBytes combine(std::span<const SecureBytes> shares) {
    if (shares.size() < 2) throw Error("shamir: less than two parts cannot be used to reconstruct the secret");
    const std::size_t len = shares[0].size();
    if (len < 2) throw Error("shamir: parts must be at least two bytes");
    std::vector<std::uint8_t> xs;
    for (const auto& s : shares) {
        if (s.size() != len) throw Error("shamir: all parts must be the same length");
        for (auto x : xs)
            if (x == s.back()) throw Error("shamir: duplicate part detected");
        xs.push_back(s.back());
    }
    // Lagrange basis at 0: prod_{j != i} x_j / (x_i + x_j) (addition is XOR).
    std::vector<std::uint8_t> basis(xs.size(), 1);
    for (std::size_t i = 0; i < xs.size(); ++i)
        for (std::size_t j = 0; j < xs.size(); ++j)
            if (i != j) basis[i] = gf_mul(basis[i], gf_mul(xs[j], gf_inv(static_cast<std::uint8_t>(xs[i] ^ xs[j]))));
    SecureBytes secret(len - 1);
    for (std::size_t byte = 0; byte + 1 < len; ++byte) {
        std::uint8_t v = 0;
        for (std::size_t i = 0; i < shares.size(); ++i) v ^= gf_mul(shares[i][byte], basis[i]);
        secret[byte] = v;
    }
    return secret;
}

}  // namespace gitsops::sops::shamir
