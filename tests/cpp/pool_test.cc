// Pooling (ops/pool.h): values against hand-computed ones for every mode, static
// shapes with and without ignore_border, tie routing of the max gradient, every
// gradient rule against central differences, and errors.
#include "ops/pool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/evaluate.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/reduce.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::arr;
using testing::eval1;
using testing::expect_error;
using testing::input;
using testing::values;

using V = std::vector<double>;

PoolOptions options(std::array<int64_t, 2> ws, std::string mode,
                    bool ignore_border = true, std::array<int64_t, 2> pad = {0, 0}) {
  PoolOptions o;
  o.ws = ws;
  o.mode = std::move(mode);
  o.ignore_border = ignore_border;
  o.pad = pad;
  return o;
}

// x = [[0 1 2], [3 4 5], [6 7 8]].
NDArray grid() { return arr<double>({0, 1, 2, 3, 4, 5, 6, 7, 8}, {3, 3}); }

TEST(Pool, EveryModeOnAGrid) {
  Var x = input(DType::Float64, {3, 3}, "x");
  auto run = [&](const PoolOptions& o) {
    return values(eval1(pool_2d(x, o), {{x.get(), grid()}}));
  };
  EXPECT_EQ(run(options({2, 2}, "max")), (V{4}));
  EXPECT_EQ(run(options({2, 2}, "max", false)), (V{4, 5, 7, 8}));
  EXPECT_EQ(run(options({2, 2}, "sum", false)), (V{8, 7, 13, 8}));
  // Partial windows average over the cells they have.
  EXPECT_EQ(run(options({2, 2}, "average_exc_pad", false)), (V{2, 3.5, 6.5, 8}));
  // Padded by 1: windows of the padded 5x5 input; inc_pad divides by 4 always.
  EXPECT_EQ(run(options({2, 2}, "average_inc_pad", true, {1, 1})), (V{0, 0.75, 2.25, 6}));
  EXPECT_EQ(run(options({2, 2}, "average_exc_pad", true, {1, 1})), (V{0, 1.5, 4.5, 6}));
  EXPECT_EQ(run(options({2, 2}, "max", true, {1, 1})), (V{0, 2, 6, 8}));
}

TEST(Pool, StaticShapes) {
  Var x = input(DType::Float32, {128, 28, 24, 24}, "x");
  EXPECT_EQ(pool_2d(x, options({3, 3}, "max"))->type.shape, (Shape{128, 28, 8, 8}));
  EXPECT_EQ(pool_2d(x, options({5, 5}, "max", false))->type.shape,
            (Shape{128, 28, 5, 5}));
  PoolOptions o = options({3, 2}, "sum", false);
  o.stride = std::array<int64_t, 2>{2, 1};
  // Theano: (24 - 1 - 3 + 2) / 2 + 1 rows, (24 - 1 - 2 + 1) / 1 + 1 columns.
  EXPECT_EQ(pool_2d(x, o)->type.shape, (Shape{128, 28, 12, 23}));
  Var u = input(DType::Float32, {-1, 7, -1}, "u");
  EXPECT_EQ(pool_2d(u, options({2, 2}, "max"))->type.shape, (Shape{-1, 3, -1}));
  EXPECT_EQ(pool_2d(x, options({2, 2}, "max"))->owner->op->name(),
            "Pool{ws=(2,2), stride=(2,2), pad=(0,0), ignore_border=1, mode=max}");
}

TEST(Pool, MaxGradientGoesToTheFirstMaximum) {
  Var x = input(DType::Float64, {2, 2}, "x");
  Var g = grad(sum(pool_2d(x, options({2, 2}, "max"))), x);
  EXPECT_EQ(values(eval1(g, {{x.get(), arr<double>({1, 1, 1, 1}, {2, 2})}})),
            (V{1, 0, 0, 0}));
  EXPECT_EQ(values(eval1(g, {{x.get(), arr<double>({1, 3, 3, 2}, {2, 2})}})),
            (V{0, 1, 0, 0}));
}

// Checks grad(cost, x) against central differences at xv.
void check_grad(const Var& x, const Var& cost, const NDArray& xv) {
  NDArray sym = eval1(grad(cost, x), {{x.get(), xv}});
  const double eps = 1e-6;
  for (int64_t i = 0; i < xv.size(); ++i) {
    NDArray xp = xv.copy(), xm = xv.copy();
    xp.set_item_double(i, xv.item_double(i) + eps);
    xm.set_item_double(i, xv.item_double(i) - eps);
    const double num = (eval1(cost, {{x.get(), xp}}).item_double() -
                        eval1(cost, {{x.get(), xm}}).item_double()) /
                       (2 * eps);
    EXPECT_NEAR(sym.item_double(i), num, 1e-6 * (1 + std::fabs(num))) << "element " << i;
  }
}

TEST(Pool, GradientsAndSecondDerivatives) {
  Var x = input(DType::Float64, {2, 4, 5}, "x");
  // Distinct values (no ties), scrambled.
  std::vector<double> v(40);
  for (int i = 0; i < 40; ++i) v[i] = ((i * 17) % 40) * 0.25 - 3;
  const NDArray xv = arr<double>(v, {2, 4, 5});
  const NDArray r = testing::random_array(DType::Float64, {2, 4, 5}, 3);
  for (const char* mode : {"max", "sum", "average_inc_pad", "average_exc_pad"}) {
    SCOPED_TRACE(mode);
    PoolOptions o = options({2, 3}, mode, true, {1, 1});
    o.stride = std::array<int64_t, 2>{1, 2};
    Var y = pool_2d(x, o);
    check_grad(x, sum(sqr(y)), xv);
    // The gradient of a cost made of the gradient (MaxPoolGrad, AveragePoolGrad).
    Var g = grad(sum(sqr(y)), x);
    check_grad(x, add(sum(sqr(g)), sum(mul(g, make_constant(r)))), xv);
  }
}

TEST(Pool, Errors) {
  Var x = input(DType::Float32, {-1, -1}, "x");
  expect_error<ValueError>(
      [&] {
        pool_2d(x, options({2, 2}, "max", true, {2, 0}));
      },
      {"pad (2,0)", "smaller than the window ws (2,2)"});
  expect_error<ValueError>(
      [&] {
        pool_2d(x, options({3, 3}, "max", false, {1, 1}));
      },
      {"ignore_border=True"});
  expect_error<ValueError>([&] { pool_2d(x, options({2, 2}, "median")); }, {"'median'"});
  expect_error<TypeError>(
      [&] {
        pool_2d(input(DType::Float32, {4}, "v"), options({2, 2}, "max"));
      },
      {"at least 2 dims", "'v'"});
  expect_error<TypeError>(
      [&] {
        pool_2d(input(DType::Int64, {4, 4}), options({2, 2}, "max"));
      },
      {"float32 or float64", "int64"});
}

}  // namespace
}  // namespace theanine
