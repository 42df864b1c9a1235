// Random numbers (runtime/philox.h, ops/random.h): Philox4x32-10 against the
// published known-answer vectors, the counter layout (a draw is a pure function
// of the state and the element index), RandomStreams determinism and default
// updates, moments and frequencies of every distribution against their exact
// values, static and run-time sizes, argument errors, and dropout.
#include "ops/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "codegen/function.h"
#include "ops/gradient.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"
#include "runtime/philox.h"
#include "runtime/thread_pool.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::expect_error;
using testing::values;

using V = std::vector<double>;

NDArray draw1(const Var& v, bool no_default_updates = false) {
  FunctionOptions o;
  o.no_default_updates = no_default_updates;
  return function({}, {v}, {}, o)({}).at(0);
}

double mean_of(const V& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

double var_of(const V& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / v.size();
}

// ---- Philox ---------------------------------------------------------------------

// Random123's kat_vectors for philox4x32-10: counter (4 words), key (2), result.
TEST(RandomPhiloxTest, KnownAnswerVectors) {
  struct Kat {
    uint32_t ctr[4], key[2], want[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    philox::Block b =
        philox::philox4x32_10(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
    for (int w = 0; w < 4; ++w) EXPECT_EQ(b.w[w], k.want[w]) << "word " << w;
  }
}

TEST(RandomPhiloxTest, FloatsFromBitsCoverZeroToJustBelowOne) {
  EXPECT_EQ(philox::uniform_float(0), 0.0f);
  EXPECT_EQ(philox::uniform_float(0xffffffffu), 1.0f - 1.0f / 16777216.0f);
  EXPECT_EQ(philox::uniform_float(0x000000ffu), 0.0f);  // only the top 24 bits count
  EXPECT_EQ(philox::uniform_double(0, 0), 0.0);
  EXPECT_EQ(philox::uniform_double(0xffffffffu, 0xffffffffu), 1.0 - std::ldexp(1.0, -53));
}

// ---- the counter layout -----------------------------------------------------------

TEST(RandomOpTest, ElementIOfADrawDependsOnlyOnTheStateAndI) {
  Var state = make_shared(random_state(7, 3), "s");
  NDArray a = draw1(random_uniform(state, {10}, scalar_literal(0, false),
                                   scalar_literal(1, false), DType::Float64)
                        .sample);
  NDArray b = draw1(random_uniform(state, {2, 2}, scalar_literal(0, false),
                                   scalar_literal(1, false), DType::Float64)
                        .sample);
  V va = values(a), vb = values(b);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(va[i], vb[i]) << i;
  // The same element by hand: block 0 of element counter i under the state's key.
  const uint64_t key = static_cast<uint64_t>(random_state(7, 3).item_int(0));
  for (int i = 0; i < 10; ++i) {
    philox::Block blk = philox::block(key, i, 0);
    EXPECT_EQ(va[i], philox::uniform_double(blk.w[0], blk.w[1])) << i;
  }
}

TEST(RandomOpTest, NewStateAdvancesTheCounterPastEveryElementUsed) {
  Var state = make_shared(random_state(1), "s");
  RandomDraw d = random_normal(state, {3, 5}, scalar_literal(0, false),
                               scalar_literal(1, false), DType::Float32);
  Function f = function({}, {d.sample}, {{state, d.new_state}});
  f({});
  EXPECT_EQ(get_value(state).item_int(1), 15);
  f({});
  EXPECT_EQ(get_value(state).item_int(1), 30);
  EXPECT_EQ(get_value(state).item_int(0), random_state(1).item_int(0));
  RandomDraw p = random_permutation(state, {4}, scalar_constant(6, DType::Int64));
  function({}, {p.sample}, {{state, p.new_state}})({});
  EXPECT_EQ(get_value(state).item_int(1), 30 + 24);
}

TEST(RandomOpTest, TheSameNumbersForAnyThreadCount) {
  RandomStreams rs(21);
  Var b = rs.binomial({50000}, 30, 0.4, DType::Float32);
  Var n = rs.normal({50000});
  const int saved = num_threads();
  set_num_threads(1);
  V b1 = values(draw1(b, true)), n1 = values(draw1(n, true));
  set_num_threads(4);
  V b4 = values(draw1(b, true)), n4 = values(draw1(n, true));
  set_num_threads(saved);
  EXPECT_EQ(b1, b4);
  EXPECT_EQ(n1, n4);
}

// ---- streams ----------------------------------------------------------------------

TEST(RandomStreamsTest, SameSeedSameNumbersAndEachCallDrawsAnew) {
  RandomStreams r1(1234), r2(1234), r3(99);
  Var u1 = r1.uniform({2, 3}), u2 = r2.uniform({2, 3}), u3 = r3.uniform({2, 3});
  EXPECT_EQ(u1.dtype(), DType::Float32);
  EXPECT_EQ(u1->type.shape, (Shape{2, 3}));
  Function f1 = function({}, {u1}), f2 = function({}, {u2}), f3 = function({}, {u3});
  V a = values(f1({})[0]), b = values(f2({})[0]), c = values(f3({})[0]);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  V a2 = values(f1({})[0]), b2 = values(f2({})[0]);
  EXPECT_NE(a, a2);
  EXPECT_EQ(a2, b2);
  for (double x : a) EXPECT_TRUE(x >= 0 && x < 1) << x;
}

TEST(RandomStreamsTest, NoDefaultUpdatesRepeatsAndSeedResets) {
  RandomStreams rs(5);
  Var n = rs.normal({4});
  Var other = rs.normal({4});  // a second variable: its own stream
  V first = values(draw1(n, true));
  EXPECT_EQ(values(draw1(n, true)), first);
  EXPECT_NE(values(draw1(other, true)), first);
  EXPECT_EQ(values(draw1(n)), first);  // advances
  EXPECT_NE(values(draw1(n)), first);
  rs.seed(5);
  EXPECT_EQ(values(draw1(n)), first);
  ASSERT_EQ(rs.state_updates().size(), 2u);
  EXPECT_TRUE(rs.state_updates()[0].first->is_shared());
}

TEST(RandomStreamsTest, TheStreamKeepsTheDefaultUpdateAlive) {
  RandomStreams rs(3);
  Var state;
  {
    Var u = rs.uniform({2});
    state = rs.state_updates()[0].first;
  }
  EXPECT_TRUE(state->default_update.lock() != nullptr);
}

// ---- moments and frequencies ------------------------------------------------------

constexpr int64_t kN = 100000;

TEST(RandomStreamsTest, UniformMoments) {
  RandomStreams rs(11);
  for (DType d : {DType::Float32, DType::Float64}) {
    V v = values(draw1(rs.uniform({kN}, -1.0, 3.0, d)));
    EXPECT_NEAR(mean_of(v), 1.0, 0.02);
    EXPECT_NEAR(var_of(v), 16.0 / 12, 0.02);
    EXPECT_GE(*std::min_element(v.begin(), v.end()), -1.0);
    EXPECT_LT(*std::max_element(v.begin(), v.end()), 3.0);
  }
}

TEST(RandomStreamsTest, NormalMomentsWithBroadcastParameters) {
  RandomStreams rs(12);
  Var avg = make_constant(NDArray::from_vector(V{-2, 5}, {2}));
  Var sd = make_constant(NDArray::from_vector(V{0.5, 3}, {2}));
  NDArray s = draw1(rs.normal({kN / 2, 2}, avg, sd, DType::Float64));
  EXPECT_EQ(s.shape(), (Shape{kN / 2, 2}));
  V col0, col1;
  for (int64_t i = 0; i < s.size(); ++i)
    (i % 2 ? col1 : col0).push_back(s.item_double(i));
  EXPECT_NEAR(mean_of(col0), -2, 0.02);
  EXPECT_NEAR(var_of(col0), 0.25, 0.01);
  EXPECT_NEAR(mean_of(col1), 5, 0.1);
  EXPECT_NEAR(var_of(col1), 9, 0.2);
  // Truncated: within 2 std, and the variance of a normal truncated at +-2.
  V t = values(draw1(rs.normal({kN}, 0.0, 1.0, DType::Float64, /*truncate=*/true)));
  EXPECT_LE(*std::max_element(t.begin(), t.end()), 2.0);
  EXPECT_GE(*std::min_element(t.begin(), t.end()), -2.0);
  EXPECT_NEAR(var_of(t), 0.7737, 0.015);
}

double binomial_pmf(int64_t n, double p, int64_t k) {
  return std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
                  k * std::log(p) + (n - k) * std::log1p(-p));
}

// Frequencies of each k against the pmf, for the bernoulli, inversion, BTRS and
// flipped (p > 0.5) paths.
TEST(RandomStreamsTest, BinomialFrequenciesMatchThePmf) {
  RandomStreams rs(13);
  struct Case {
    int64_t n;
    double p;
  };
  for (Case c : {Case{1, 0.3}, Case{20, 0.3}, Case{1000, 0.4}, Case{50, 0.85}}) {
    SCOPED_TRACE("n=" + std::to_string(c.n) + " p=" + std::to_string(c.p));
    V v = values(draw1(rs.binomial({kN}, c.n, c.p)));
    std::map<int64_t, int64_t> count;
    for (double x : v) ++count[static_cast<int64_t>(x)];
    EXPECT_GE(count.begin()->first, 0);
    EXPECT_LE(count.rbegin()->first, c.n);
    EXPECT_NEAR(mean_of(v), c.n * c.p, 4 * std::sqrt(c.n * c.p * (1 - c.p) / kN) + 1e-9);
    EXPECT_NEAR(var_of(v) / (c.n * c.p * (1 - c.p)), 1.0, 0.03);
    for (auto [k, got] : count) {
      const double want = kN * binomial_pmf(c.n, c.p, k);
      if (want < 50) continue;
      EXPECT_NEAR(got, want, 5 * std::sqrt(want)) << "k=" << k;
    }
  }
  EXPECT_EQ(draw1(rs.binomial({3})).dtype(), DType::Int64);
  EXPECT_EQ(values(draw1(rs.binomial({3}, 7, 1.0))), (V{7, 7, 7}));
  EXPECT_EQ(values(draw1(rs.binomial({3}, 7, 0.0))), (V{0, 0, 0}));
}

TEST(RandomStreamsTest, IntegersCoverTheRangeUniformly) {
  RandomStreams rs(14);
  V v = values(draw1(rs.random_integers({kN}, -2, 3)));
  std::map<int64_t, int64_t> count;
  for (double x : v) ++count[static_cast<int64_t>(x)];
  ASSERT_EQ(count.size(), 6u);
  EXPECT_EQ(count.begin()->first, -2);
  EXPECT_EQ(count.rbegin()->first, 3);
  for (auto [k, got] : count) EXPECT_NEAR(got, kN / 6.0, 5 * std::sqrt(kN / 6.0)) << k;
  V w = values(draw1(rs.integers({1000}, 0, 2)));
  for (double x : w) EXPECT_TRUE(x == 0 || x == 1) << x;
}

TEST(RandomStreamsTest, ChoiceAndPermutation) {
  RandomStreams rs(15);
  Var p = make_constant(NDArray::from_vector(V{0.1, 0.0, 0.6, 0.3}, {4}));
  V v = values(draw1(rs.choice({kN}, 4, true, p)));
  std::map<int64_t, int64_t> count;
  for (double x : v) ++count[static_cast<int64_t>(x)];
  EXPECT_EQ(count.count(1), 0u);
  EXPECT_NEAR(count[0], 0.1 * kN, 5 * std::sqrt(0.1 * kN));
  EXPECT_NEAR(count[2], 0.6 * kN, 5 * std::sqrt(0.6 * kN));

  // Without replacement: distinct elements of a.
  Var a = make_constant(NDArray::from_vector(V{10, 20, 30, 40, 50}, {5}));
  NDArray pick = draw1(rs.choice({2, 2}, a, /*replace=*/false));
  EXPECT_EQ(pick.dtype(), DType::Float64);
  V pv = values(pick);
  EXPECT_EQ(std::set<double>(pv.begin(), pv.end()).size(), 4u);
  for (double x : pv) EXPECT_TRUE(x == 10 || x == 20 || x == 30 || x == 40 || x == 50);
  expect_error<ValueError>([&] { draw1(rs.choice({6}, a, false)); },
                           {"without replacement"});

  // Permutations: each row a permutation, each value equally likely at position 0.
  NDArray perms = draw1(rs.permutation({20000}, 5));
  ASSERT_EQ(perms.shape(), (Shape{20000, 5}));
  std::map<int64_t, int64_t> first;
  for (int64_t r = 0; r < 20000; ++r) {
    std::set<int64_t> row;
    for (int c = 0; c < 5; ++c) row.insert(perms.item_int(r * 5 + c));
    ASSERT_EQ(row, (std::set<int64_t>{0, 1, 2, 3, 4}));
    ++first[perms.item_int(r * 5)];
  }
  for (auto [k, got] : first) EXPECT_NEAR(got, 4000, 5 * std::sqrt(4000.0)) << k;
}

// ---- sizes, dtypes and errors -----------------------------------------------------

TEST(RandomStreamsTest, SymbolicSizesKnownOnlyAtRunTime) {
  RandomStreams rs(16);
  Var x = make_input(TensorType(DType::Float32, {-1, 3}), "x");
  Var u = rs.uniform({shape_i(x, 0), 2});
  EXPECT_EQ(u->type.shape, (Shape{-1, 2}));
  Var n = rs.normal(RandomSize::of_vector(shape(x)));
  EXPECT_EQ(n->type.shape, (Shape{-1, 3}));
  Function f = function({x}, {u, n});
  std::vector<NDArray> r = f({NDArray::zeros(DType::Float32, {4, 3})});
  EXPECT_EQ(r[0].shape(), (Shape{4, 2}));
  EXPECT_EQ(r[1].shape(), (Shape{4, 3}));
  r = f({NDArray::zeros(DType::Float32, {0, 3})});
  EXPECT_EQ(r[0].shape(), (Shape{0, 2}));
  // No size: the broadcast shape of the parameters.
  Var lo = make_input(TensorType(DType::Float64, {-1}), "lo");
  Var b = rs.uniform({}, lo, 10.0);
  EXPECT_EQ(b.dtype(), DType::Float64);  // float32 promoted with lo's float64
  NDArray bv = function({lo}, {b})({NDArray::from_vector(V{1, 2, 3}, {3})})[0];
  EXPECT_EQ(bv.shape(), (Shape{3}));
  for (int i = 0; i < 3; ++i) EXPECT_GE(bv.item_double(i), i + 1.0);
}

TEST(RandomStreamsTest, BadArgumentsAreClearErrors) {
  RandomStreams rs(17);
  expect_error<TypeError>([&] { rs.uniform({2}, 0.0, 1.0, DType::Int32); },
                          {"uniform", "float32 or float64"});
  Var v3 = make_constant(NDArray::from_vector(V{1, 2, 3}, {3}));
  expect_error<ShapeError>([&] { rs.normal({2, 2}, v3); }, {"avg", "does not broadcast"});
  expect_error<ValueError>([&] { rs.uniform({-1, 2}); }, {"negative dimension"});
  Var k = make_input(TensorType(DType::Int64, {}), "k");
  Function f = function({k}, {rs.uniform({k})});
  expect_error<ValueError>([&] { f({NDArray::scalar(DType::Int64, -3)}); },
                           {"negative dimension -3"});
  expect_error<ValueError>([&] { draw1(rs.binomial({2}, 3, 1.5)); },
                           {"p must be in [0, 1]"});
  expect_error<TypeError>([&] { rs.binomial({2}, 2.5, 0.5); }, {"n must be an integer"});
  expect_error<ValueError>([&] { draw1(rs.random_integers({2}, 3, 1)); },
                           {"low must be <= high"});
  expect_error<ValueError>([&] { draw1(rs.random_integers({2}, 0, 300, DType::Int8)); },
                           {"do not fit the dtype int8"});
  Var fsize = make_input(TensorType(DType::Float32, {}), "f");
  expect_error<TypeError>([&] { rs.uniform({fsize}); }, {"size[0]", "integer scalar"});
  expect_error<TypeError>(
      [&] { RandomSize::of_vector(make_input(TensorType(DType::Int64, {-1}))); },
      {"pass ndim"});
}

TEST(RandomStreamsTest, SamplesHaveNoGradientWithRespectToTheirParameters) {
  RandomStreams rs(18);
  Var lo = make_input(TensorType(DType::Float64, {}), "lo");
  Var u = rs.uniform({3}, lo, 1.0);
  expect_error<TypeError>([&] { grad(sum(u), lo); }, {"not differentiable", "low, high"});
}

// ---- dropout ----------------------------------------------------------------------

TEST(RandomDropoutTest, KeepsWithProbabilityOneMinusPAndRescales) {
  RandomStreams rs(19);
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var y = dropout(x, 0.25, rs);
  EXPECT_EQ(y.dtype(), DType::Float32);
  Var g = grad(sum(y * y), x);
  Function f = function({x}, {y, g}, {}, {});
  NDArray xv = NDArray::empty(DType::Float32, {kN});
  for (int64_t i = 0; i < kN; ++i) xv.set_item_double(i, 1.0 + (i % 7));
  std::vector<NDArray> r = f({xv});
  int64_t kept = 0;
  for (int64_t i = 0; i < kN; ++i) {
    const double xi = xv.item_double(i), yi = r[0].item_double(i),
                 gi = r[1].item_double(i);
    if (yi != 0) {
      ++kept;
      EXPECT_FLOAT_EQ(yi, xi / 0.75);
      EXPECT_FLOAT_EQ(gi, 2 * yi / 0.75);  // d(y^2)/dx = 2 y * mask / (1 - p)
    } else {
      EXPECT_EQ(gi, 0);
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / kN, 0.75, 0.01);
  // Without rescale the kept values are x itself; a symbolic p works too.
  Var p = make_input(TensorType(DType::Float32, {}), "p");
  Var z = dropout(x, p, rs, /*rescale=*/false);
  NDArray zv = function({x, p}, {z})({xv, NDArray::scalar(DType::Float32, 0.5)})[0];
  for (int64_t i = 0; i < kN; ++i)
    EXPECT_TRUE(zv.item_double(i) == 0 || zv.item_double(i) == xv.item_double(i));
  expect_error<ValueError>([&] { dropout(x, 1.0, rs); }, {"[0, 1)"});
}

}  // namespace
}  // namespace theanine
