#pragma once
// The per-element samplers of the random ops: each maps the Philox blocks of one
// element (runtime/philox.h) and the distribution's parameters to one value. They
// define the numbers a seed gives, so a backend that emits them (CUDA C) must
// follow them step for step: which words of which block feed which uniform,
// and the arithmetic in double.
#include <cstdint>

#include "runtime/philox.h"

namespace theanine::random_sampling {

// The blocks of one element: block j of element counter `element` under `key`.
struct ElementBlocks {
  uint64_t key;
  uint64_t element;
  uint64_t j = 0;
  philox::Block next() { return philox::block(key, element, j++); }
};

// Uniform in [low, high) (never high itself when low != high): block 0, the top
// 24 bits of word 0 for float32 (`single`; the result is a float32 value) or 53
// bits of words 0 and 1 for float64.
double uniform(ElementBlocks& b, double low, double high, bool single);

// avg + std * z with z standard normal by Box-Muller from block 0: u1 = 1 -
// (53 bits of words 0, 1) in (0, 1], so log(u1) is finite; u2 from words 2, 3;
// z = sqrt(-2 log u1) cos(2 pi u2). With `truncate`, the next block is used
// while |z| > 2. The result is rounded to float32 when `single`.
double normal(ElementBlocks& b, double avg, double std, bool single, bool truncate);

// Successes in n trials of probability p (n >= 0, 0 <= p <= 1): n == 1 compares
// one uniform (block 0, words 0, 1) with p; otherwise with q = min(p, 1 - p),
// inversion when n * q < 10 and Hormann's BTRS (transformed rejection with
// squeeze) otherwise, counting failures when q = 1 - p.
int64_t binomial(ElementBlocks& b, int64_t n, double p);

// An integer uniform in [low, high] (low <= high): 64-bit candidates (words 0, 1
// then 2, 3 of each block) rejected below 2^64 mod range, so there is no
// modulo bias.
int64_t integer(ElementBlocks& b, int64_t low, int64_t high);

// Uniform in [0, 1) from block 0, words 0 and 1: the sort key of a candidate in
// permutations and choices without replacement.
double key(ElementBlocks& b);

}  // namespace theanine::random_sampling
