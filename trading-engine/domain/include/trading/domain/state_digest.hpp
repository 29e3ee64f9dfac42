// StateDigest: 64-bit FNV-1a over a sequence of 64-bit words, each taken as its eight bytes,
// least significant first — the engine's state digest, which journal markers carry and a standby
// compares, so its value may never change between builds. FNV-1a's step is h = (h ^ byte) * prime;
// for a zero byte that is just h * prime, so the zero high bytes of a word (most words are small
// numbers) are folded into one multiply by a power of the prime. The value is exactly the
// byte-by-byte one; the dependent chain of multiplies is what gets shorter. A value type: not
// shared between threads.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace trading {

class StateDigest {
 public:
  static constexpr std::uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;

  void mix(std::uint64_t word) {
    // Bytes up to the highest nonzero one go through the FNV step; the zero bytes above it only
    // multiply, all together by prime^(their count).
    const int significant = (static_cast<int>(std::bit_width(word)) + 7) / 8;
    for (int i = 0; i < significant; ++i) {
      hash_ ^= word & 0xff;
      hash_ *= kPrime;
      word >>= 8;
    }
    hash_ *= kPrimePowers[static_cast<std::size_t>(8 - significant)];
  }
  void operator()(std::uint64_t word) { mix(word); }
  std::uint64_t value() const { return hash_; }

  // The reference definition, one byte at a time (tests hold the fast path to it).
  static std::uint64_t mix_bytewise(std::uint64_t hash, std::uint64_t word) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (word >> (8 * i)) & 0xff;
      hash *= kPrime;
    }
    return hash;
  }

 private:
  static constexpr std::array<std::uint64_t, 9> kPrimePowers = [] {
    std::array<std::uint64_t, 9> powers{};
    powers[0] = 1;
    for (std::size_t i = 1; i < powers.size(); ++i) powers[i] = powers[i - 1] * kPrime;
    return powers;
  }();

  std::uint64_t hash_ = kOffsetBasis;
};

}  // namespace trading
