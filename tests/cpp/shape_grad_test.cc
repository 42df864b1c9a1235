// Gradient rules of the shape and indexing ops through the C++ API, against
// hand-computed values.
#include <gtest/gtest.h>

#include "codegen/function.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::arr;
using testing::input;
using testing::values;

using Vals = std::vector<double>;

// Output 0 of function(ins, {out}) on args; a gradient often needs only the
// shapes of the inputs, which are static here, so unused inputs are allowed.
NDArray run1(const std::vector<Var>& ins, const Var& out,
             const std::vector<NDArray>& args) {
  FunctionOptions o;
  o.on_unused_input = UnusedInput::Ignore;
  std::vector<In> in(ins.begin(), ins.end());
  std::vector<Arg> a(args.begin(), args.end());
  return function(in, {out}, {}, o)(a).at(0);
}

Var weights(const std::vector<double>& v, Shape s) {
  return make_constant(arr<double>(v, std::move(s)));
}

TEST(ShapeGrad, ConcatenateGivesEachInputItsStretch) {
  Var a = input(DType::Float64, {2, 2}, "a"), b = input(DType::Float64, {1, 2}, "b");
  Var w = weights({1, 2, 3, 4, 5, 6}, {3, 2});
  std::vector<Var> g = grad(sum(mul(concatenate({a, b}, 0), w)), {a, b});
  EXPECT_EQ(g[0].type(), a.type());
  EXPECT_EQ(g[1].type(), b.type());
  NDArray av = arr<double>({0, 0, 0, 0}, {2, 2}), bv = arr<double>({0, 0}, {1, 2});
  EXPECT_EQ(values(run1({a, b}, g[0], {av, bv})), (Vals{1, 2, 3, 4}));
  EXPECT_EQ(values(run1({a, b}, g[1], {av, bv})), (Vals{5, 6}));
}

TEST(ShapeGrad, AdvancedIndexDuplicatesAccumulate) {
  Var x = input(DType::Float64, {3}, "x");
  Var y = subtensor(x, {idx(std::vector<int64_t>{0, 0, 2})});
  Var g = grad(sum(mul(y, weights({1, 2, 3}, {3}))), x);
  EXPECT_EQ(g.type(), x.type());
  EXPECT_EQ(values(run1({x}, g, {arr<double>({5, 6, 7}, {3})})), (Vals{3, 0, 3}));
}

TEST(ShapeGrad, SliceWithNegativeStep) {
  Var x = input(DType::Float64, {5}, "x");
  Var y = subtensor(x, {slice(-1, std::nullopt, -2)});  // x[4], x[2], x[0]
  Var g = grad(sum(mul(y, weights({1, 2, 3}, {3}))), x);
  EXPECT_EQ(values(run1({x}, g, {arr<double>({0, 0, 0, 0, 0}, {5})})),
            (Vals{3, 0, 2, 0, 1}));
}

TEST(ShapeGrad, SetSubtensorOverwrittenRegionAndLastWrite) {
  Var x = input(DType::Float64, {3}, "x"), y = input(DType::Float64, {3}, "y");
  Var i = input(DType::Int64, {3}, "i");
  Var out = set_subtensor(subtensor(x, {idx(i)}), y);
  std::vector<Var> g = grad(sum(mul(out, weights({1, 2, 3}, {3}))), {x, y});
  NDArray xv = arr<double>({0, 0, 0}, {3}), yv = arr<double>({0, 0, 0}, {3});
  NDArray iv = arr<int64_t>({2, 0, 2}, {3});
  // x[1] survives; y[0] is overwritten by y[2] at x[2].
  EXPECT_EQ(values(run1({x, y, i}, g[0], {xv, yv, iv})), (Vals{0, 2, 0}));
  EXPECT_EQ(values(run1({x, y, i}, g[1], {xv, yv, iv})), (Vals{0, 1, 3}));
}

TEST(ShapeGrad, IncSubtensorBroadcastY) {
  Var x = input(DType::Float64, {2, 3}, "x"), y = input(DType::Float64, {}, "y");
  Var out = inc_subtensor(subtensor(x, {slice(), slice(1)}), y);
  Var w = weights({1, 2, 3, 4, 5, 6}, {2, 3});
  std::vector<Var> g = grad(sum(mul(out, w)), {x, y});
  EXPECT_EQ(g[0].type(), x.type());
  EXPECT_EQ(g[1].type(), y.type());
  NDArray xv = arr<double>({0, 0, 0, 0, 0, 0}, {2, 3}),
          yv = NDArray::scalar(DType::Float64, 1);
  EXPECT_EQ(values(run1({x, y}, g[0], {xv, yv})), (Vals{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(values(run1({x, y}, g[1], {xv, yv})), (Vals{2 + 3 + 5 + 6}));
}

TEST(ShapeGrad, RepeatWithCountsAndTile) {
  Var x = input(DType::Float64, {3}, "x");
  Var counts = make_constant(arr<int64_t>({2, 0, 1}, {3}));
  Var g = grad(sum(mul(repeat(x, counts, 0), weights({1, 2, 3}, {3}))), x);
  EXPECT_EQ(g.type(), x.type());
  NDArray xv = arr<double>({0, 0, 0}, {3});
  EXPECT_EQ(values(run1({x}, g, {xv})), (Vals{3, 0, 3}));
  Var t = grad(sum(mul(tile(x, {2}), weights({1, 2, 3, 4, 5, 6}, {6}))), x);
  EXPECT_EQ(t.type(), x.type());
  EXPECT_EQ(values(run1({x}, t, {xv})), (Vals{5, 7, 9}));
}

TEST(ShapeGrad, DimShuffleDroppingABroadcastableDim) {
  Var x = input(DType::Float64, {1, 3}, "x");
  Var g = grad(sum(mul(dimshuffle(x, {1, -1}), weights({1, 2, 3}, {3, 1}))), x);
  EXPECT_EQ(g.type(), x.type());
  EXPECT_EQ(values(run1({x}, g, {arr<double>({0, 0, 0}, {1, 3})})), (Vals{1, 2, 3}));
}

TEST(ShapeGrad, SecondDerivativeThroughReshapeAndSubtensor) {
  Var x = input(DType::Float64, {4}, "x");
  Var m = reshape(x, {2, 2});
  Var cost = sum(mul(mul(subtensor(m, {idx(1)}), subtensor(m, {idx(1)})),
                     subtensor(m, {idx(1)})));  // x2^3 + x3^3
  Var h = hessian(cost, x);
  NDArray r = run1({x}, h, {arr<double>({1, 2, 3, 4}, {4})});
  EXPECT_EQ(r.shape(), (Shape{4, 4}));
  Vals expect(16, 0.0);
  expect[2 * 4 + 2] = 18;
  expect[3 * 4 + 3] = 24;
  EXPECT_EQ(values(r), expect);
}

}  // namespace
}  // namespace theanine
