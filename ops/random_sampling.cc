// The per-element samplers (see random_sampling.h).
#include "ops/random_sampling.h"

#include <cmath>
#include <limits>

namespace theanine::random_sampling {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

double uniform53(const philox::Block& blk, int first_word) {
  return philox::uniform_double(blk.w[first_word], blk.w[first_word + 1]);
}

// Inversion (sequential search down the pmf) for n * p < 10, p <= 0.5: few steps.
int64_t binomial_inversion(ElementBlocks& b, int64_t n, double p) {
  const double q = 1 - p, s = p / q, a = (n + 1) * s,
               r0 = std::pow(q, static_cast<double>(n));
  for (;;) {
    double u = uniform53(b.next(), 0), r = r0;
    int64_t x = 0;
    while (u > r) {
      u -= r;
      ++x;
      if (x > n) break;  // rounding left u above the whole pmf: draw again
      r *= a / static_cast<double>(x) - s;
    }
    if (x <= n) return x;
  }
}

// Hormann's BTRS for n * p >= 10, p <= 0.5 ("The generation of binomial random
// variates", 1993): a transformed-rejection proposal with a squeeze, accepted
// against the exact log-pmf ratio to the mode.
int64_t binomial_btrs(ElementBlocks& b, int64_t n, double p) {
  const double dn = static_cast<double>(n), q = 1 - p;
  const double spq = std::sqrt(dn * p * q);
  const double bb = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * bb + 0.01 * p;
  const double c = dn * p + 0.5;
  const double v_r = 0.92 - 4.2 / bb;
  const double alpha = (2.83 + 5.1 / bb) * spq;
  const double lpq = std::log(p / q);
  const double m = std::floor((dn + 1) * p);
  const double h = std::lgamma(m + 1) + std::lgamma(dn - m + 1);
  for (;;) {
    const philox::Block blk = b.next();
    const double u = uniform53(blk, 0) - 0.5, v0 = uniform53(blk, 2);
    const double us = 0.5 - std::fabs(u);
    if (us <= 0) continue;
    const double k = std::floor((2 * a / us + bb) * u + c);
    if (k < 0 || k > dn) continue;
    if (us >= 0.07 && v0 <= v_r) return static_cast<int64_t>(k);
    if (v0 <= 0) continue;
    const double v = std::log(v0 * alpha / (a / (us * us) + bb));
    if (v <= h - std::lgamma(k + 1) - std::lgamma(dn - k + 1) + (k - m) * lpq)
      return static_cast<int64_t>(k);
  }
}

}  // namespace

double uniform(ElementBlocks& b, double low, double high, bool single) {
  const philox::Block blk = b.next();
  if (single) {
    const double u = philox::uniform_float(blk.w[0]);
    float r = static_cast<float>(low + (high - low) * u);
    const float hi = static_cast<float>(high);
    if (r == hi && hi != static_cast<float>(low))
      r = std::nextafter(hi, static_cast<float>(low));
    return r;
  }
  double r = low + (high - low) * uniform53(blk, 0);
  if (r == high && high != low) r = std::nextafter(high, low);
  return r;
}

double normal(ElementBlocks& b, double avg, double std, bool single, bool truncate) {
  double z;
  do {
    const philox::Block blk = b.next();
    const double u1 = 1.0 - uniform53(blk, 0), u2 = uniform53(blk, 2);
    z = std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  } while (truncate && std::fabs(z) > 2.0);
  const double r = avg + std * z;
  return single ? static_cast<double>(static_cast<float>(r)) : r;
}

int64_t binomial(ElementBlocks& b, int64_t n, double p) {
  if (n == 0 || p == 0) return 0;
  if (p == 1) return n;
  if (n == 1) return uniform53(b.next(), 0) < p ? 1 : 0;
  const bool flip = p > 0.5;
  const double q = flip ? 1 - p : p;
  const int64_t k = static_cast<double>(n) * q < 10 ? binomial_inversion(b, n, q)
                                                    : binomial_btrs(b, n, q);
  return flip ? n - k : k;
}

int64_t integer(ElementBlocks& b, int64_t low, int64_t high) {
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
  if (range == 0) {  // the whole int64 range
    const philox::Block blk = b.next();
    return static_cast<int64_t>(philox::bits64(blk.w[0], blk.w[1]));
  }
  const uint64_t threshold = (0 - range) % range;  // 2^64 mod range
  for (;;) {
    const philox::Block blk = b.next();
    for (int w = 0; w < 4; w += 2) {
      const uint64_t x = philox::bits64(blk.w[w], blk.w[w + 1]);
      if (x >= threshold)
        return static_cast<int64_t>(static_cast<uint64_t>(low) + x % range);
    }
  }
}

double key(ElementBlocks& b) { return uniform53(b.next(), 0); }

}  // namespace theanine::random_sampling
