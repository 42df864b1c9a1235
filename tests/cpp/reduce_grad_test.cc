// Gradient rules of the reductions and products through the C++ API: a few
// hand-computed values, and the static types the rules themselves return.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "codegen/function.h"
#include "ops/blas.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/operators.h"
#include "ops/reduce.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::arr;
using testing::input;
using testing::run1;
using testing::values;

using V = std::vector<double>;

TEST(ReduceGrad, SumOverAnAxisBroadcastsTheOutputGradient) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var w = make_constant(arr<double>({1, -2}, {2}));
  Var g = grad(sum(sum(x, std::vector<int>{1}) * w), x);
  EXPECT_EQ(values(run1({x}, g, {arr<double>({0, 1, 2, 3, 4, 5}, {2, 3})})),
            (V{1, 1, 1, -2, -2, -2}));
}

TEST(ReduceGrad, MeanDividesByTheReducedCount) {
  Var x = input(DType::Float64, {-1, -1, -1}, "x");
  Var g = grad(sum(mean(x, std::vector<int>{0, 2}, true)), x);
  NDArray r = run1({x}, g, {NDArray::zeros(DType::Float64, {2, 1, 4})});
  EXPECT_EQ(r.shape(), (Shape{2, 1, 4}));
  for (double v : values(r)) EXPECT_DOUBLE_EQ(v, 1.0 / 8);
}

TEST(ReduceGrad, ProdWithZeros) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var g = grad(sum(prod(x, std::vector<int>{1})), x);
  // Rows: no zero (prod / x), one zero (only it gets the product of the rest),
  // two zeros (all 0).
  NDArray a = arr<double>({2, 3, 4, 2, 0, 5, 0, 7, 0}, {3, 3});
  EXPECT_EQ(values(run1({x}, g, {a})), (V{12, 8, 6, 0, 10, 0, 0, 0, 0}));
}

TEST(ReduceGrad, MaxAndMinTiesEachGetTheGradient) {
  Var x = input(DType::Float64, {-1, 4}, "x");
  NDArray a = arr<double>({1, 3, 3, 2, -1, -1, 0, 5}, {2, 4});
  EXPECT_EQ(values(run1({x}, grad(sum(max(x, std::vector<int>{1}) * 2.0), x), {a})),
            (V{0, 2, 2, 0, 0, 0, 0, 2}));
  EXPECT_EQ(values(run1({x}, grad(sum(min(x, std::vector<int>{1})), x), {a})),
            (V{1, 0, 0, 0, 1, 1, 0, 0}));
}

TEST(ReduceGrad, VarAndStd) {
  Var x = input(DType::Float64, {-1}, "x");
  NDArray a = arr<double>({1, 2, 6}, {3});  // mean 3, deviations -2 -1 3
  EXPECT_EQ(values(run1({x}, grad(var(x, std::nullopt, false, 1), x), {a})),
            (V{-2, -1, 3}));  // 2 * dev / (3 - 1)
  // std with ddof 0: sqrt(14 / 3); gradient dev / (3 std).
  std::vector<double> g = values(run1({x}, grad(std(x), x), {a}));
  const double s = std::sqrt(14.0 / 3);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_NEAR(g[0], -2 / (3 * s), 1e-14);
  EXPECT_NEAR(g[1], -1 / (3 * s), 1e-14);
  EXPECT_NEAR(g[2], 3 / (3 * s), 1e-14);
}

TEST(DotGrad, MatrixTimesMatrix) {
  Var a = input(DType::Float64, {2, 2}, "a");
  Var b = input(DType::Float64, {2, 3}, "b");
  std::vector<Var> g = grad(sum(dot(a, b)), {a, b});
  NDArray av = arr<double>({1, 2, 3, 4}, {2, 2});
  NDArray bv = arr<double>({1, 0, -1, 2, 1, 0}, {2, 3});
  // ga = ones(2, 3) . b^T: each row holds b's row sums; gb = a^T . ones(2, 3):
  // each row i holds a's column sum i.
  EXPECT_EQ(values(run1({b}, g[0], {bv})), (V{0, 3, 0, 3}));
  EXPECT_EQ(values(run1({a}, g[1], {av})), (V{4, 4, 4, 6, 6, 6}));
}

TEST(DotGrad, HessianOfAQuadraticForm) {
  // f(x) = x . (M x): the hessian is M + M^T.
  Var x = input(DType::Float64, {-1}, "x");
  Var m = make_constant(arr<double>({1, 2, 0, 3}, {2, 2}));
  Var h = hessian(dot(x, dot(m, x)), x);
  EXPECT_EQ(values(run1({x}, h, {arr<double>({0.5, -1}, {2})})), (V{2, 2, 2, 6}));
}

// The type the rule itself returns for input k of y's node, before the engine
// adds any cast or sum_to.
TensorType rule_type(const Var& y, int k) {
  Apply* node = y->owner;
  Var gz = make_input(y.type(), "gz");
  std::vector<Var> g = node->op->grad(*node, {gz});
  return g.at(k).type();
}

TEST(ReduceGrad, RulesKeepTheInputsStaticShape) {
  Var x = input(DType::Float32, {2, -1, 4}, "x");
  const std::vector<Axes> axes_list{std::nullopt, std::vector<int>{1},
                                    std::vector<int>{0, 2}, std::vector<int>{}};
  for (const Axes& axes : axes_list) {
    for (bool keepdims : {false, true}) {
      for (ReduceKind k : {ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Prod,
                           ReduceKind::Max, ReduceKind::Min}) {
        TensorType t = rule_type(reduce(k, x, axes, keepdims), 0);
        EXPECT_EQ(t.shape, x.type().shape) << reduce_kind_name(k);
        EXPECT_EQ(t.dtype, DType::Float32) << reduce_kind_name(k);
      }
      for (const Var& y : {var(x, axes, keepdims, 1), std(x, axes, keepdims)})
        EXPECT_EQ(rule_type(y, 0).shape, x.type().shape);
    }
  }
}

TEST(DotGrad, RulesKeepTheOperandsStaticShape) {
  const std::vector<std::pair<Shape, Shape>> cases{
      {{}, {3}},        {{4}, {4}},       {{3, 4}, {4}},          {{4}, {4, 2}},
      {{3, 4}, {4, 2}}, {{2, 3, 4}, {4}}, {{2, 3, 4}, {2, 4, 5}}, {{4}, {2, 4, 5}}};
  for (const auto& [sa, sb] : cases) {
    Var a = input(DType::Float64, sa, "a"), b = input(DType::Float64, sb, "b");
    Var z = dot(a, b);
    EXPECT_EQ(rule_type(z, 0).shape, sa) << shape_str(sa) << " . " << shape_str(sb);
    EXPECT_EQ(rule_type(z, 1).shape, sb) << shape_str(sa) << " . " << shape_str(sb);
  }
  Var a = input(DType::Float64, {3, 2, 4}, "a"), b = input(DType::Float64, {3, 4}, "b");
  EXPECT_EQ(rule_type(batched_dot(a, b), 0).shape, (Shape{3, 2, 4}));
  EXPECT_EQ(rule_type(batched_dot(a, b), 1).shape, (Shape{3, 4}));
  Var c = input(DType::Float64, {2, 3}, "c"), d = input(DType::Float64, {5}, "d");
  EXPECT_EQ(rule_type(outer(c, d), 0).shape, (Shape{2, 3}));
  EXPECT_EQ(rule_type(outer(c, d), 1).shape, (Shape{5}));
}

}  // namespace
}  // namespace theanine
