#pragma once
// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw,
// "Parallel random numbers: as easy as 1, 2, 3" (SC11): a 128-bit counter and a
// 64-bit key map to 128 random bits through ten rounds of multiply-and-xor. A
// random stream is then a pure function of (key, counter), so any element of a
// draw can be computed alone, in any order, on any thread or device.
//
// Everything here is plain inline code over 32- and 64-bit unsigned integers and
// doubles, with no library calls in the bit generator, so the CUDA backend can
// emit the same routine as CUDA C and produce the same bits for the same seed.
//
// How theanine lays out a draw (ops/random.cc): the key is the stream's key; for
// element i of a draw, counter words 2 and 3 hold the 64-bit element counter
// (the stream's counter plus i) and words 0 and 1 a 64-bit draw index j, so an
// element that needs several blocks (rejection sampling) has 2^64 of its own.
#include <cstdint>

namespace theanine::philox {

struct Block {
  uint32_t w[4];
};

inline constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
// The key schedule's increments (the golden ratio and sqrt(3) - 1 in 32 bits).
inline constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

// The 128 random bits of block (c0, c1, c2, c3) under key (k0, k1).
inline Block philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                           uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c0, &hi0, &lo0);
    mulhilo(kMul1, c2, &hi1, &lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Block{{c0, c1, c2, c3}};
}

// Block j of element counter `element` under the 64-bit `key` (the layout above).
inline Block block(uint64_t key, uint64_t element, uint64_t j) {
  return philox4x32_10(static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32),
                       static_cast<uint32_t>(element),
                       static_cast<uint32_t>(element >> 32), static_cast<uint32_t>(key),
                       static_cast<uint32_t>(key >> 32));
}

// ---- bits to numbers ---------------------------------------------------------

// Uniform in [0, 1) from the top 24 bits of a word: every float32 value k * 2^-24.
inline float uniform_float(uint32_t w) {
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}

// Uniform in [0, 1) from 53 bits of two words: every double k * 2^-53.
inline double uniform_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi) << 21) | (lo >> 11);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// 64 random bits of two words.
inline uint64_t bits64(uint32_t hi, uint32_t lo) {
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// A well mixed 64-bit key for stream `index` of `seed`, so that nearby seeds and
// indices give unrelated streams: one Philox block of (index) under (seed).
inline uint64_t derive_key(uint64_t seed, uint64_t index) {
  const Block b = philox4x32_10(
      static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), 0x7468656Eu,
      0x616E696Eu, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return bits64(b.w[0], b.w[1]);
}

}  // namespace theanine::philox
