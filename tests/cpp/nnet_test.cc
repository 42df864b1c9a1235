// The softmax family (ops/nnet.h) on the reference path: values against
// hand-computed ones, strided and size-0 inputs, logits near +-1000, index
// errors, and every gradient rule against central finite differences.
#include "ops/nnet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "graph/evaluate.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/op_util.h"
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

NDArray random_array(const Shape& s, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, scale);
  NDArray a = NDArray::empty(DType::Float64, s);
  for (int64_t i = 0; i < a.size(); ++i) a.set_item_double(i, n(rng));
  return a;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want,
                     double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
}

// NumPy-style reference softmax of the rows of a (rows x cols) matrix.
V ref_softmax(const V& x, int rows, int cols, bool log) {
  V r(x.size());
  for (int i = 0; i < rows; ++i) {
    double m = -INFINITY, s = 0;
    for (int j = 0; j < cols; ++j) m = std::max(m, x[i * cols + j]);
    for (int j = 0; j < cols; ++j) s += std::exp(x[i * cols + j] - m);
    for (int j = 0; j < cols; ++j)
      r[i * cols + j] =
          log ? x[i * cols + j] - m - std::log(s) : std::exp(x[i * cols + j] - m) / s;
  }
  return r;
}

// Checks grad(cost(wrt...), wrt[k]) against central differences at `at`.
void check_grad(const std::vector<Var>& wrt, const Var& cost, Bindings at,
                double tol = 1e-6) {
  std::vector<Var> g = grad(cost, wrt);
  std::vector<NDArray> sym = evaluate(g, at);
  const double eps = 1e-6;
  for (size_t k = 0; k < wrt.size(); ++k) {
    NDArray x = at.at(wrt[k].get()).copy();
    ASSERT_EQ(sym[k].shape(), x.shape());
    for (int64_t i = 0; i < x.size(); ++i) {
      const double x0 = x.item_double(i);
      Bindings b = at;
      NDArray xp = x.copy(), xm = x.copy();
      xp.set_item_double(i, x0 + eps);
      xm.set_item_double(i, x0 - eps);
      b[wrt[k].get()] = xp;
      const double cp = eval1(cost, b).item_double();
      b[wrt[k].get()] = xm;
      const double cm = eval1(cost, b).item_double();
      const double num = (cp - cm) / (2 * eps);
      EXPECT_NEAR(sym[k].item_double(i), num, tol * (1 + std::fabs(num)))
          << "wrt " << k << " element " << i;
    }
  }
}

// A random projection of v to a scalar, so that every output element matters.
Var project(const Var& v, uint32_t seed) {
  Shape s = v->type.shape;
  return sum(mul(v, make_constant(random_array(s, seed))));
}

// ---- softmax and log_softmax ------------------------------------------------------

TEST(Softmax, RowsOfAMatrix) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  EXPECT_EQ(softmax(x)->owner->op->name(), "Softmax{axis=1}");
  V xv{1, 2, 3, -1, 0, 5};
  NDArray a = arr<double>(xv, {2, 3});
  expect_near_all(values(eval1(softmax(x), {{x.get(), a}})), ref_softmax(xv, 2, 3, false),
                  1e-15);
  expect_near_all(values(eval1(log_softmax(x), {{x.get(), a}})),
                  ref_softmax(xv, 2, 3, true), 1e-15);
}

TEST(Softmax, AlongTheFirstAxisAndOfThreeDims) {
  Var x = input(DType::Float64, {2, 3}, "x");
  V xv{1, 2, 3, -1, 0, 5};
  // Axis 0 of x is the rows of x transposed.
  V xt{1, -1, 2, 0, 3, 5};
  V want_t = ref_softmax(xt, 3, 2, false);
  V got = values(eval1(softmax(x, 0), {{x.get(), arr<double>(xv, {2, 3})}}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(got[i * 3 + j], want_t[j * 2 + i], 1e-15);

  Var y = input(DType::Float64, {2, 2, 2}, "y");
  Var s = softmax(y, 1);
  NDArray r = eval1(s, {{y.get(), arr<double>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2})}});
  // Along axis 1, pairs (0, 2), (1, 3), ... differ by 2.
  const double lo = 1 / (1 + std::exp(2.0));
  expect_near_all(values(r), {lo, lo, 1 - lo, 1 - lo, lo, lo, 1 - lo, 1 - lo}, 1e-15);
}

TEST(Softmax, StridedAndSizeZeroInputs) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  NDArray base = arr<double>({1, 2, 3, -1, 0, 5}, {2, 3});
  NDArray t = base.transpose({1, 0});  // (3, 2), not contiguous
  V tv = values(t);
  expect_near_all(values(eval1(softmax(x), {{x.get(), t}})), ref_softmax(tv, 3, 2, false),
                  1e-15);
  expect_near_all(values(eval1(log_softmax(x), {{x.get(), t}})),
                  ref_softmax(tv, 3, 2, true), 1e-15);
  for (Shape s : {Shape{0, 3}, Shape{2, 0}}) {
    NDArray r = eval1(softmax(x), {{x.get(), NDArray::zeros(DType::Float64, s)}});
    EXPECT_EQ(r.shape(), s);
    EXPECT_EQ(
        eval1(log_softmax(x), {{x.get(), NDArray::zeros(DType::Float64, s)}}).shape(), s);
  }
}

TEST(Softmax, Dtypes) {
  Var f = input(DType::Float32, {-1, 2});
  Var i = input(DType::Int32, {-1, 2});
  Var b = input(DType::Int8, {-1, 2});
  EXPECT_EQ(softmax(f).dtype(), DType::Float32);
  EXPECT_EQ(log_softmax(i).dtype(), DType::Float64);
  EXPECT_EQ(softmax(b).dtype(), DType::Float32);
  NDArray r = eval1(softmax(i), {{i.get(), arr<int32_t>({0, 0, 1, 1}, {2, 2})}});
  EXPECT_EQ(values(r), (V{0.5, 0.5, 0.5, 0.5}));
  EXPECT_EQ(eval1(softmax(f), {{f.get(), arr<float>({0, 0}, {1, 2})}}).dtype(),
            DType::Float32);
}

TEST(Softmax, LogitsNearAThousandStayFinite) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  NDArray a = arr<double>({1000, 0, -1000, -1000, -1000, -999}, {2, 3});
  V sm = values(eval1(softmax(x), {{x.get(), a}}));
  V lsm = values(eval1(log_softmax(x), {{x.get(), a}}));
  EXPECT_EQ(sm[0], 1.0);
  EXPECT_EQ(sm[1], 0.0);
  EXPECT_EQ(lsm[0], 0.0);
  EXPECT_EQ(lsm[1], -1000.0);
  EXPECT_EQ(lsm[2], -2000.0);
  const double l = std::log1p(2 * std::exp(-1.0));  // log(e^-1 + e^-1 + 1)
  EXPECT_NEAR(lsm[5], -l, 1e-15);
  EXPECT_NEAR(lsm[3], -1 - l, 1e-13);
}

TEST(Softmax, ErrorsNameTheInput) {
  Var s = input(DType::Float64, {}, "s");
  expect_error<TypeError>([&] { softmax(s); }, {"softmax", "at least one dim"});
  Var x = input(DType::Float64, {2, 3}, "x");
  expect_error<IndexError>([&] { log_softmax(x, 2); }, {"log_softmax", "axis 2"});
  Var m = input(DType::Bool, {2, 3}, "m");
  expect_error<TypeError>([&] { softmax(m); }, {"numeric"});
}

TEST(SoftmaxGrad, Gradients) {
  Var x = input(DType::Float64, {3, 4}, "x");
  Bindings at{{x.get(), random_array({3, 4}, 1)}};
  check_grad({x}, project(softmax(x), 2), at);
  check_grad({x}, project(log_softmax(x), 3), at);
  check_grad({x}, project(softmax(x, 0), 4), at);
  check_grad({x}, project(log_softmax(x, 0), 5), at);
  // Second order: the gradient of softmax_grad itself, in both inputs.
  Var dy = input(DType::Float64, {3, 4}, "dy");
  Var sm = input(DType::Float64, {3, 4}, "sm");
  at[dy.get()] = random_array({3, 4}, 6);
  at[sm.get()] = random_array({3, 4}, 7);
  check_grad({dy, sm}, project(softmax_grad(dy, sm, 1), 8), at);
  check_grad({dy, sm}, project(softmax_grad(dy, sm, 0), 9), at);
  check_grad({dy, sm}, project(log_softmax_grad(dy, sm, 1), 10), at);
  check_grad({dy, sm}, project(log_softmax_grad(dy, sm, 0), 11), at);
}

TEST(SoftmaxGrad, LogSoftmaxGradValue) {
  Var dy = input(DType::Float64, {-1, 2}, "dy");
  Var l = input(DType::Float64, {-1, 2}, "l");
  EXPECT_EQ(log_softmax_grad(dy, l, 1)->owner->op->name(), "LogSoftmaxGrad{axis=1}");
  NDArray d = arr<double>({1, 3}, {1, 2});
  NDArray lv = arr<double>({std::log(0.25), std::log(0.75)}, {1, 2});
  expect_near_all(
      values(eval1(log_softmax_grad(dy, l, 1), {{dy.get(), d}, {l.get(), lv}})),
      {1 - 4 * 0.25, 3 - 4 * 0.75}, 1e-15);
}

TEST(SoftmaxGrad, ValueAndBroadcastDy) {
  Var dy = input(DType::Float64, {1, 3}, "dy");
  Var sm = input(DType::Float64, {2, 3}, "sm");
  NDArray d = arr<double>({1, 2, 3}, {1, 3});
  NDArray s = arr<double>({0.2, 0.3, 0.5, 1, 0, 0}, {2, 3});
  // Row 0: dot = 0.2 + 0.6 + 1.5 = 2.3; row 1: dot = 1.
  V want{(1 - 2.3) * 0.2, (2 - 2.3) * 0.3, (3 - 2.3) * 0.5, 0, 0, 0};
  expect_near_all(values(eval1(softmax_grad(dy, sm, 1), {{dy.get(), d}, {sm.get(), s}})),
                  want, 1e-15);
}

TEST(SoftmaxGrad, LogSoftmaxGradientAtAThousandIsSoftmaxMinusOnehot) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  NDArray a = arr<double>({1000, 0, -1000}, {1, 3});
  // d/dx of log_softmax(x)[0, 1] = onehot(1) - softmax(x) = (-1, 1, 0).
  Var c = sum(mul(log_softmax(x), make_constant(arr<double>({0, 1, 0}, {1, 3}))));
  EXPECT_EQ(values(eval1(grad(c, x), {{x.get(), a}})), (V{-1, 1, 0}));
}

// ---- crossentropy_softmax ----------------------------------------------------------

TEST(CrossentropySoftmax, ValuesAndNegativeLabels) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  Var ce = crossentropy_softmax(x, y);
  EXPECT_EQ(ce->type.str(), "float64(?,)");
  V xv{1, 2, 3, -1, 0, 5};
  V lsm = ref_softmax(xv, 2, 3, true);
  NDArray r = eval1(
      ce, {{x.get(), arr<double>(xv, {2, 3})}, {y.get(), arr<int32_t>({2, -3}, {2})}});
  expect_near_all(values(r), {-lsm[2], -lsm[3]}, 1e-15);
}

TEST(CrossentropySoftmax, ExplicitRowsBroadcastLikeIndexing) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var y = input(DType::Int64, {-1}, "y");
  Var rows = input(DType::Int64, {-1}, "rows");
  Var ce = crossentropy_softmax_rows(x, y, rows);
  V xv{1, 2, 3, -1, 0, 5};
  V lsm = ref_softmax(xv, 2, 3, true);
  Bindings b{{x.get(), arr<double>(xv, {2, 3})},
             {y.get(), arr<int64_t>({0, 1, 2}, {3})},
             {rows.get(), arr<int64_t>({-1}, {1})}};
  expect_near_all(values(eval1(ce, b)), {-lsm[3], -lsm[4], -lsm[5]}, 1e-15);
  b[rows.get()] = arr<int64_t>({1, 0, 1}, {3});
  expect_near_all(values(eval1(ce, b)), {-lsm[3], -lsm[1], -lsm[5]}, 1e-15);
  b[rows.get()] = arr<int64_t>({0, 1}, {2});
  expect_error<IndexError>([&] { eval1(ce, b); }, {"could not be broadcast"});
  b[rows.get()] = arr<int64_t>({0, 2, 1}, {3});
  expect_error<IndexError>([&] { eval1(ce, b); }, {"row index 2", "2 rows"});
}

TEST(CrossentropySoftmax, OutOfRangeLabelsAreIndexErrorsNamingTheLabel) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  Var ce = crossentropy_softmax(x, y);
  NDArray xv = random_array({2, 3}, 1);
  expect_error<IndexError>(
      [&] {
        eval1(ce, {{x.get(), xv}, {y.get(), arr<int32_t>({0, 3}, {2})}});
      },
      {"label 3", "y_idx[1]", "3 classes"});
  expect_error<IndexError>(
      [&] {
        eval1(ce, {{x.get(), xv}, {y.get(), arr<int32_t>({-4, 0}, {2})}});
      },
      {"label -4"});
  expect_error<ShapeError>(
      [&] {
        eval1(ce, {{x.get(), xv}, {y.get(), arr<int32_t>({0, 1, 2}, {3})}});
      },
      {"3 labels", "2 rows"});
  // The gradient checks the same way.
  Var g = grad(sum(ce), x);
  expect_error<IndexError>(
      [&] {
        eval1(g, {{x.get(), xv}, {y.get(), arr<int32_t>({0, 7}, {2})}});
      },
      {"label 7"});
}

TEST(CrossentropySoftmax, TypeErrors) {
  Var v = input(DType::Float64, {3}, "v");
  Var x = input(DType::Float64, {2, 3}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  Var yf = input(DType::Float64, {-1}, "yf");
  expect_error<TypeError>([&] { crossentropy_softmax(v, y); }, {"matrix"});
  expect_error<TypeError>([&] { crossentropy_softmax(x, yf); }, {"integer vector"});
  expect_error<ShapeError>([&] { crossentropy_softmax(x, input(DType::Int32, {3})); },
                           {"3 labels", "2 rows"});
}

TEST(CrossentropySoftmax, SizeZero) {
  Var x = input(DType::Float32, {-1, -1}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  NDArray r = eval1(crossentropy_softmax(x, y),
                    {{x.get(), NDArray::zeros(DType::Float32, {0, 4})},
                     {y.get(), NDArray::zeros(DType::Int32, {0})}});
  EXPECT_EQ(r.shape(), (Shape{0}));
  EXPECT_EQ(r.dtype(), DType::Float32);
  NDArray g = eval1(grad(sum(crossentropy_softmax(x, y)), x),
                    {{x.get(), NDArray::zeros(DType::Float32, {0, 4})},
                     {y.get(), NDArray::zeros(DType::Int32, {0})}});
  EXPECT_EQ(g.shape(), (Shape{0, 4}));
}

TEST(CrossentropySoftmax, GradientIsSoftmaxMinusOnehotAtAThousand) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  Var cost = sum(crossentropy_softmax(x, y));
  Bindings b{{x.get(), arr<double>({1000, 0, -1000, -1000, 1000, 0}, {2, 3})},
             {y.get(), arr<int32_t>({2, 1}, {2})}};
  EXPECT_EQ(values(eval1(cost, b)).at(0), 2000.0);
  EXPECT_EQ(values(eval1(grad(cost, x), b)), (V{1, 0, -1, 0, 0, 0}));
}

TEST(CrossentropySoftmax, Gradients) {
  Var x = input(DType::Float64, {4, 3}, "x");
  Var y = make_constant(arr<int64_t>({2, 0, 1, 1}, {4}));
  Bindings at{{x.get(), random_array({4, 3}, 11)}};
  check_grad({x}, project(crossentropy_softmax(x, y), 12), at);
  Var rows = make_constant(arr<int64_t>({3, 0, 3, -1}, {4}));
  check_grad({x}, project(crossentropy_softmax_rows(x, y, rows), 13), at);
  // The gradient op's own gradient, in gz and sm, with and without rows, with
  // a vector and a broadcast scalar gz.
  Var gz = input(DType::Float64, {4}, "gz");
  Var g0 = input(DType::Float64, {}, "g0");
  Var sm = input(DType::Float64, {4, 3}, "sm");
  at[gz.get()] = random_array({4}, 14);
  at[g0.get()] = random_array({}, 15);
  at[sm.get()] = random_array({4, 3}, 16);
  check_grad({gz, sm}, project(crossentropy_softmax_grad(gz, sm, y, Var()), 17), at);
  check_grad({gz, sm}, project(crossentropy_softmax_grad(gz, sm, y, rows), 18), at);
  check_grad({g0, sm}, project(crossentropy_softmax_grad(g0, sm, y, rows), 19), at);
  Var one_row = make_constant(arr<int64_t>({2}, {1}));
  check_grad({gz, sm}, project(crossentropy_softmax_grad(gz, sm, y, one_row), 20), at);
}

TEST(CrossentropySoftmax, GradientOpValue) {
  Var gz = input(DType::Float64, {-1}, "gz");
  Var sm = input(DType::Float64, {-1, 2}, "sm");
  Var y = input(DType::Int32, {-1}, "y");
  Var rows = input(DType::Int32, {-1}, "rows");
  Bindings b{{gz.get(), arr<double>({2, 3}, {2})},
             {sm.get(), arr<double>({0.25, 0.75, 0.5, 0.5}, {2, 2})},
             {y.get(), arr<int32_t>({1, 0}, {2})},
             {rows.get(), arr<int32_t>({1, 1}, {2})}};
  EXPECT_EQ(values(eval1(crossentropy_softmax_grad(gz, sm, y, Var()), b)),
            (V{0.5, -0.5, -1.5, 1.5}));
  // Both entries in row 1: 2 * (0.5, -0.5) + 3 * (-0.5, 0.5); row 0 untouched.
  EXPECT_EQ(values(eval1(crossentropy_softmax_grad(gz, sm, y, rows), b)),
            (V{0, 0, -0.5, 0.5}));
  b[gz.get()] = arr<double>({1, 2, 3}, {3});
  expect_error<ShapeError>([&] { eval1(crossentropy_softmax_grad(gz, sm, y, rows), b); },
                           {"gz of shape (3,)"});
}

}  // namespace
}  // namespace theanine
