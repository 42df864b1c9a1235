// Gradient rules of the elementwise ops through the C++ API: a few hand-computed
// values, the broadcast sums, the dtype kept by weak literals, and a second
// derivative. The Python tests check every op numerically.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/operators.h"
#include "ops/reduce.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::arr;
using testing::input;
using testing::values;

// The gradients of `cost` wrt `wrt`, evaluated with `ins` bound to `args`.
std::vector<NDArray> eval_grads(const Var& cost, const std::vector<Var>& wrt,
                                const std::vector<Var>& ins,
                                const std::vector<NDArray>& args) {
  std::vector<Var> gs = grad(cost, wrt);
  std::vector<In> in(ins.begin(), ins.end());
  std::vector<Out> out(gs.begin(), gs.end());
  std::vector<Arg> a(args.begin(), args.end());
  FunctionOptions o;
  o.on_unused_input = UnusedInput::Ignore;
  return function(in, out, {}, o)(a);
}

// A new table entry must say how it differentiates (or that it does not).
TEST(ElemwiseGrad, EveryTableEntryHasADerivative) {
  for (const ScalarOp& op : scalar_ops()) EXPECT_NE(op.derivative, nullptr) << op.name;
}

TEST(ElemwiseGrad, TanhTimesBroadcastRow) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var r = input(DType::Float64, {1, -1}, "r");
  Var cost = sum(tanh(x) * r);
  std::vector<Var> gs = grad(cost, {x, r});
  EXPECT_EQ(gs[1].type(), r.type());  // the row stays a row
  const std::vector<double> xv = {-1.0, 0.0, 0.5, 1.0, 2.0, -0.25};
  const std::vector<double> rv = {2.0, -1.0, 0.5};
  auto g = eval_grads(cost, {x, r}, {x, r}, {arr(xv, {2, 3}), arr(rv, {1, 3})});
  ASSERT_EQ(g[0].shape(), (Shape{2, 3}));
  ASSERT_EQ(g[1].shape(), (Shape{1, 3}));
  std::vector<double> gx = values(g[0]), gr = values(g[1]);
  for (int i = 0; i < 6; ++i)
    EXPECT_NEAR(gx[i], rv[i % 3] * (1 - std::tanh(xv[i]) * std::tanh(xv[i])), 1e-14);
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(gr[j], std::tanh(xv[j]) + std::tanh(xv[j + 3]), 1e-14);
}

TEST(ElemwiseGrad, MaximumTiesAndClipEdges) {
  Var x = input(DType::Float64, {3}, "x");
  Var y = input(DType::Float64, {3}, "y");
  auto g = eval_grads(sum(maximum(x, y)), {x, y}, {x, y},
                      {arr<double>({1, 2, 3}, {3}), arr<double>({1, 0, 5}, {3})});
  EXPECT_EQ(values(g[0]), (std::vector<double>{1, 1, 0}));  // a tie gives both
  EXPECT_EQ(values(g[1]), (std::vector<double>{1, 0, 1}));

  Var v = input(DType::Float64, {5}, "v");
  Var lo = input(DType::Float64, {}, "lo");
  Var hi = input(DType::Float64, {}, "hi");
  g = eval_grads(
      sum(clip(v, lo, hi)), {v, lo, hi}, {v, lo, hi},
      {arr<double>({-2, -1, 0, 1, 2}, {5}), NDArray::scalar(DType::Float64, -1),
       NDArray::scalar(DType::Float64, 1)});
  EXPECT_EQ(values(g[0]), (std::vector<double>{0, 1, 1, 1, 0}));  // edges included
  EXPECT_EQ(g[1].item_double(), 1.0);
  EXPECT_EQ(g[2].item_double(), 1.0);
}

TEST(ElemwiseGrad, PowBothSides) {
  Var x = input(DType::Float64, {3}, "x");
  Var y = input(DType::Float64, {3}, "y");
  const std::vector<double> xv = {0.0, 0.5, 2.0}, yv = {2.0, -1.5, 0.5};
  auto g = eval_grads(sum(pow(x, y)), {x, y}, {x, y}, {arr(xv, {3}), arr(yv, {3})});
  std::vector<double> gx = values(g[0]), gy = values(g[1]);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(gx[i], yv[i] * std::pow(xv[i], yv[i] - 1), 1e-14);
    // 0 ** y has slope 0 along y, where log(0) * 0 would give NaN.
    EXPECT_NEAR(gy[i], xv[i] == 0 ? 0.0 : std::log(xv[i]) * std::pow(xv[i], yv[i]),
                1e-14);
  }
}

TEST(ElemwiseGrad, Float32WithLiteralsStaysFloat32) {
  Var x = input(DType::Float32, {-1}, "x");
  Var cost = sum(sqrt(x) * 0.5 + pow(x, scalar_literal(2, true)) - 1.5 / x);
  Var gx = grad(cost, x);
  EXPECT_EQ(gx.dtype(), DType::Float32);
  // Nothing in the gradient computes in float64.
  std::vector<const Variable*> stack = {gx.get()};
  while (!stack.empty()) {
    const Variable* v = stack.back();
    stack.pop_back();
    if (!v->owner) continue;
    EXPECT_NE(v->type.dtype, DType::Float64) << v->owner->op->name();
    for (const Var& in : v->owner->inputs) stack.push_back(in.get());
  }
  std::vector<In> in = {x};
  NDArray r = function(in, {gx})({arr<float>({1.0f, 4.0f}, {2})}).at(0);
  ASSERT_EQ(r.dtype(), DType::Float32);
  EXPECT_NEAR(r.item_double(0), 0.25 + 2.0 + 1.5, 1e-6);
  EXPECT_NEAR(r.item_double(1), 0.125 + 8.0 + 1.5 / 16, 1e-6);
}

TEST(ElemwiseGrad, SecondDerivative) {
  Var x = input(DType::Float64, {-1}, "x");
  Var g = grad(sum(x * x * x + sigmoid(x)), x);  // 3x² + s(1 - s)
  Var h = grad(sum(g), x);                       // 6x + s(1 - s)(1 - 2s)
  const std::vector<double> xv = {-1.0, 0.5, 2.0};
  std::vector<In> in = {x};
  std::vector<double> hv = values(function(in, {h})({arr(xv, {3})}).at(0));
  for (int i = 0; i < 3; ++i) {
    double s = 1 / (1 + std::exp(-xv[i]));
    EXPECT_NEAR(hv[i], 6 * xv[i] + s * (1 - s) * (1 - 2 * s), 1e-12);
  }
}

}  // namespace
}  // namespace theanine
