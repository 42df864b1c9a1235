#include "ops/shape_ops.h"

#include <gtest/gtest.h>

#include "codegen/function.h"
#include "ops/op_util.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

Var matrix(DType d = DType::Float64) {
  return make_input(TensorType::unknown_shape(d, 2), "x");
}

NDArray iota23() { return NDArray::from_vector<double>({0, 1, 2, 3, 4, 5}, {2, 3}); }

TEST(ShapeOps, ReshapeWithMinusOneAndStaticShape) {
  Var x = make_input(TensorType(DType::Float64, {2, 3}), "x");
  Var y = reshape(x, {3, -1});
  EXPECT_EQ(y.type().shape, (Shape{3, 2}));
  NDArray r = run1({x}, y, {iota23()});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(r), (std::vector<double>{0, 1, 2, 3, 4, 5}));
}

TEST(ShapeOps, ReshapeOfNonContiguousInputCopiesInCOrder) {
  Var x = matrix();
  Var y = reshape(x, {-1});
  EXPECT_EQ(y.type().shape, (Shape{-1}));
  NDArray t = iota23().transpose({1, 0});  // [[0,3],[1,4],[2,5]]
  EXPECT_EQ(values(run1({x}, y, {t})), (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

TEST(ShapeOps, ReshapeSymbolicShapeVector) {
  Var x = matrix();
  Var n = make_input(TensorType(DType::Int32, {}), "n");
  Var y = reshape(x, make_vector({n, scalar_literal(-1, true)}, DType::Int64), 2);
  EXPECT_EQ(y.type().shape, (Shape{-1, -1}));
  NDArray r = run1({x, n}, y, {iota23(), NDArray::scalar(DType::Int32, 3)});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  // make_vector of constants gives static dims.
  Var z = reshape(x, make_vector({scalar_literal(6, true)}, DType::Int64), 1);
  EXPECT_EQ(z.type().shape, (Shape{6}));
}

TEST(ShapeOps, ReshapeSizeMismatchIsShapeErrorStaticallyAndAtRunTime) {
  Var x = make_input(TensorType(DType::Float64, {2, 3}), "x");
  expect_error<ShapeError>([&] { reshape(x, {4, 2}); }, {"(2, 3)", "(4, 2)"});
  expect_error<ShapeError>([&] { reshape(x, {4, -1}); }, {"(2, 3)", "(4, -1)"});
  Var u = matrix();
  Var y = reshape(u, {5});
  expect_error<ShapeError>([&] { run1({u}, y, {iota23()}); },
                           {"(2, 3)", "(5,)", "size 6"});
  expect_error<ValueError>([&] { reshape(u, {-1, -1}); }, {"one unknown"});
  expect_error<ValueError>([&] { reshape(u, {2, -3}); }, {"negative dimension -3"});
  expect_error<TypeError>([&] { reshape(u, scalar_literal(1.5, false), 1); },
                          {"integer vector"});
}

TEST(ShapeOps, FlattenKeepsLeadingDims) {
  Var x = make_input(TensorType(DType::Float64, {2, -1, 4}), "x");
  EXPECT_EQ(flatten(x).type().shape, (Shape{-1}));
  EXPECT_EQ(flatten(x, 2).type().shape, (Shape{2, -1}));
  EXPECT_EQ(flatten(x, 3).type().shape, (Shape{2, -1, 4}));
  NDArray a = NDArray::zeros(DType::Float64, {2, 0, 4});
  EXPECT_EQ(run1({x}, flatten(x, 2), {a}).shape(), (Shape{2, 0}));
  expect_error<ValueError>([&] { flatten(x, 0); }, {"outdim 0"});
  expect_error<ValueError>([&] { flatten(x, 4); }, {"outdim 4"});
  Var s = make_input(TensorType(DType::Float64, {}), "s");
  EXPECT_EQ(flatten(s).type().shape, (Shape{1}));
}

TEST(ShapeOps, DimShuffleAddsDropsAndPermutes) {
  Var x = make_input(TensorType(DType::Float64, {2, 1, 3}), "x");
  Var y = dimshuffle(x, {2, -1, 0});
  EXPECT_EQ(y.type().shape, (Shape{3, 1, 2}));
  EXPECT_TRUE(y->owner->op->is_view());
  NDArray a = NDArray::from_vector<double>({0, 1, 2, 3, 4, 5}, {2, 1, 3});
  NDArray r = run1({x}, y, {a});
  EXPECT_EQ(r.shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(values(r), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(y->owner->op->name(), "DimShuffle{2,x,0;ndim=3}");
}

TEST(ShapeOps, DimShuffleErrors) {
  Var x = matrix();
  expect_error<TypeError>([&] { dimshuffle(x, {0}); },
                          {"cannot drop dim 1", "broadcastable"});
  expect_error<ValueError>(
      [&] {
        dimshuffle(x, {0, 0});
      },
      {"dim 0 appears more than once"});
  expect_error<IndexError>([&] { dimshuffle(x, {0, 2}); }, {"entry 2", "ndim 2"});
}

TEST(ShapeOps, TransposeDefaultReversesAndAcceptsNegativeAxes) {
  Var x = matrix();
  NDArray r = run1({x}, transpose(x), {iota23()});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(r), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(values(run1({x}, transpose(x, std::vector<int>{-1, 0}), {iota23()})),
            values(r));
  expect_error<ValueError>([&] { transpose(x, std::vector<int>{0}); }, {"axes has 1"});
  expect_error<ValueError>(
      [&] {
        transpose(x, std::vector<int>{1, -1});
      },
      {"repeated axis"});
}

TEST(ShapeOps, ShapeAndShapeI) {
  Var x = matrix();
  NDArray s = run1({x}, shape(x), {iota23()});
  EXPECT_EQ(s.dtype(), DType::Int64);
  EXPECT_EQ(values(s), (std::vector<double>{2, 3}));
  EXPECT_EQ(run1({x}, shape_i(x, -1), {iota23()}).item_int(), 3);
  expect_error<IndexError>([&] { shape_i(x, 2); }, {"axis 2"});
}

TEST(ShapeOps, MakeVectorCastsAndRefusesFloatIntoInt) {
  Var a = make_input(TensorType(DType::Int32, {}), "a");
  Var v = make_vector({a, scalar_literal(7, true)}, DType::Float32);
  EXPECT_EQ(v.type(), TensorType(DType::Float32, {2}));
  NDArray r = run1({a}, v, {NDArray::scalar(DType::Int32, -2)});
  EXPECT_EQ(values(r), (std::vector<double>{-2, 7}));
  expect_error<TypeError>(
      [&] { make_vector({scalar_literal(1.5, false)}, DType::Int64); },
      {"float64", "int64"});
  expect_error<TypeError>([&] { make_vector({matrix()}, DType::Int64); }, {"scalar"});
}

TEST(ShapeOps, ConcatenatePromotesAndChecksShapes) {
  Var x = matrix();
  Var y = make_input(TensorType(DType::Int32, {-1, 1}), "y");
  Var j = concatenate({x, y}, -1);
  EXPECT_EQ(j.type().dtype, DType::Float64);
  NDArray yv = NDArray::from_vector<int32_t>({7, 8}, {2, 1});
  NDArray r = run1({x, y}, j, {iota23(), yv});
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  EXPECT_EQ(values(r), (std::vector<double>{0, 1, 2, 7, 3, 4, 5, 8}));
  // Run-time mismatch of a non-join dim.
  NDArray bad = NDArray::from_vector<int32_t>({7, 8, 9}, {3, 1});
  expect_error<ShapeError>(
      [&] {
        run1({x, y}, j, {iota23(), bad});
      },
      {"(3, 1)", "(2, 3)"});
  // Static mismatch.
  Var a = make_input(TensorType(DType::Float64, {2, 3}), "a");
  Var b = make_input(TensorType(DType::Float64, {4, 2}), "b");
  expect_error<ShapeError>(
      [&] {
        concatenate({a, b}, 0);
      },
      {"(4, 2)", "(2, 3)", "dim 1"});
  Var c = make_input(TensorType(DType::Float64, {4, 3}), "c");
  EXPECT_EQ(concatenate({a, c}, 0).type().shape, (Shape{6, 3}));
  expect_error<TypeError>(
      [&] {
        concatenate({a, make_input(TensorType(DType::Float64, {2}))});
      },
      {"same ndim"});
  expect_error<ValueError>([&] { concatenate({scalar_literal(1, true)}); },
                           {"zero-dimensional"});
  expect_error<ValueError>([&] { concatenate({}); }, {"at least one"});
}

TEST(ShapeOps, StackAddsAnAxis) {
  Var a = make_input(TensorType(DType::Float64, {-1}), "a");
  Var b = make_input(TensorType(DType::Float64, {-1}), "b");
  NDArray av = NDArray::from_vector<double>({1, 2}, {2});
  NDArray bv = NDArray::from_vector<double>({3, 4}, {2});
  NDArray r0 = run1({a, b}, stack({a, b}), {av, bv});
  EXPECT_EQ(r0.shape(), (Shape{2, 2}));
  EXPECT_EQ(values(r0), (std::vector<double>{1, 2, 3, 4}));
  NDArray r1 = run1({a, b}, stack({a, b}, -1), {av, bv});
  EXPECT_EQ(values(r1), (std::vector<double>{1, 3, 2, 4}));
  Var c = make_input(TensorType(DType::Float64, {3}), "c");
  Var d = make_input(TensorType(DType::Float64, {2}), "d");
  expect_error<ShapeError>([&] { stack({c, d}); }, {"same shape", "(3,)", "(2,)"});
  expect_error<IndexError>([&] { stack({a, b}, 2); }, {"axis 2"});
}

TEST(ShapeOps, ArangeIntFloatAndNegativeSteps) {
  Var r = arange(2, 11, 3);
  EXPECT_EQ(r.type(), TensorType(DType::Int64, {3}));
  EXPECT_EQ(values(run1({}, r, {})), (std::vector<double>{2, 5, 8}));
  EXPECT_EQ(values(run1({}, arange(5, -2, -2), {})), (std::vector<double>{5, 3, 1, -1}));
  EXPECT_EQ(run1({}, arange(3, 3, 1), {}).size(), 0);
  EXPECT_EQ(run1({}, arange(0, 5, -1), {}).size(), 0);
  Var f = arange(scalar_literal(1, false), scalar_literal(0, false),
                 scalar_literal(-0.25, false));
  EXPECT_EQ(f.type(), TensorType(DType::Float64, {4}));
  EXPECT_EQ(values(run1({}, f, {})), (std::vector<double>{1, 0.75, 0.5, 0.25}));
  // Symbolic stop: unknown length; the dtype follows the input.
  Var n = make_input(TensorType(DType::Int32, {}), "n");
  Var s = arange(n);
  EXPECT_EQ(s.type(), TensorType(DType::Int32, {-1}));
  EXPECT_EQ(values(run1({n}, s, {NDArray::scalar(DType::Int32, 4)})),
            (std::vector<double>{0, 1, 2, 3}));
}

TEST(ShapeOps, ArangeZeroStepIsValueError) {
  expect_error<ValueError>([&] { arange(0, 5, 0); }, {"step cannot be zero"});
  Var st = make_input(TensorType(DType::Int64, {}), "st");
  Var r = arange(scalar_literal(0, true), scalar_literal(5, true), st);
  expect_error<ValueError>([&] { run1({st}, r, {NDArray::scalar(DType::Int64, 0)}); },
                           {"step cannot be zero"});
  expect_error<TypeError>([&] { arange(matrix(), matrix(), matrix()); }, {"start"});
}

TEST(ShapeOps, AllocBroadcastsTheValue) {
  Var v = make_input(TensorType(DType::Float32, {-1}), "v");
  Var n = make_input(TensorType(DType::Int64, {}), "n");
  Var a = alloc(v, {n, scalar_literal(3, true)});
  EXPECT_EQ(a.type(), TensorType(DType::Float32, {-1, 3}));
  NDArray r = run1(
      {v, n}, a,
      {NDArray::from_vector<float>({1, 2, 3}, {3}), NDArray::scalar(DType::Int64, 2)});
  EXPECT_EQ(values(r), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  expect_error<ShapeError>(
      [&] {
        run1(
            {v, n}, a,
            {NDArray::from_vector<float>({1, 2}, {2}), NDArray::scalar(DType::Int64, 2)});
      },
      {"(2,)", "(2, 3)"});
  expect_error<ValueError>(
      [&] {
        run1({v, n}, a,
             {NDArray::from_vector<float>({1}, {1}), NDArray::scalar(DType::Int64, -1)});
      },
      {"negative dimension -1"});
  Var w = make_input(TensorType(DType::Float32, {4}), "w");
  expect_error<ShapeError>(
      [&] {
        alloc(w, {n, scalar_literal(3, true)});
      },
      {"(4,)", "(?, 3)"});
  expect_error<TypeError>([&] { alloc(w, {scalar_literal(2.5, false)}); },
                          {"shape entry 0"});
}

TEST(ShapeOps, ZerosOnesAndLike) {
  Var z = zeros(std::vector<int64_t>{2, 2}, DType::Int32);
  EXPECT_EQ(z.type(), TensorType(DType::Int32, {2, 2}));
  EXPECT_EQ(values(run1({}, z, {})), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(values(run1({}, ones(std::vector<int64_t>{3}, DType::Float32), {})),
            (std::vector<double>{1, 1, 1}));
  Var x = make_input(TensorType(DType::Float32, {-1, 3}), "x");
  Var ol = ones_like(x, DType::Int64);
  EXPECT_EQ(ol.type(), TensorType(DType::Int64, {-1, 3}));
  NDArray r = run1({x}, ol, {NDArray::zeros(DType::Float32, {2, 3})});
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(r), (std::vector<double>(6, 1)));
  EXPECT_EQ(zeros_like(x).type(), x.type());
}

TEST(ShapeOps, FillBroadcastsAndPromotes) {
  Var m = make_input(TensorType(DType::Int32, {-1, 2}), "m");
  Var f = fill(m, scalar_literal(1.5, false));
  EXPECT_EQ(f.type(), TensorType(DType::Float64, {-1, 2}));
  NDArray r = run1({m}, f, {NDArray::zeros(DType::Int32, {3, 2})});
  EXPECT_EQ(values(r), (std::vector<double>(6, 1.5)));
  Var v = make_input(TensorType(DType::Int32, {3}), "v");
  expect_error<ShapeError>([&] { fill(m, v); }, {"do not broadcast"});
}

TEST(ShapeOps, RepeatScalarVectorAndFlattened) {
  Var x = matrix();
  NDArray r = run1({x}, repeat(x, scalar_literal(2, true), 1), {iota23()});
  EXPECT_EQ(r.shape(), (Shape{2, 6}));
  EXPECT_EQ(values(r), (std::vector<double>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  NDArray q = run1({x}, repeat(x, int_vector_constant({0, 2}), 0), {iota23()});
  EXPECT_EQ(q.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(q), (std::vector<double>{3, 4, 5, 3, 4, 5}));
  NDArray f = run1({x}, repeat(x, scalar_literal(2, true)), {iota23().transpose({1, 0})});
  EXPECT_EQ(values(f), (std::vector<double>{0, 0, 3, 3, 1, 1, 4, 4, 2, 2, 5, 5}));
  Var k = make_input(TensorType(DType::Float64, {2, 3}), "k");
  EXPECT_EQ(repeat(k, int_vector_constant({1, 0, 4}), 1).type().shape, (Shape{2, 5}));
  expect_error<ShapeError>(
      [&] {
        repeat(k, int_vector_constant({1, 2}), 1);
      },
      {"2 entries", "axis 1", "size 3"});
  expect_error<ValueError>([&] { repeat(k, scalar_literal(-1, true), 1); }, {"negative"});
  expect_error<TypeError>([&] { repeat(k, scalar_literal(1.5, false), 1); }, {"integer"});
  Var reps = make_input(TensorType(DType::Int64, {-1}), "reps");
  expect_error<ShapeError>(
      [&] {
        run1({x, reps}, repeat(x, reps, 0),
             {iota23(), NDArray::zeros(DType::Int64, {3})});
      },
      {"3 entries", "size 2"});
}

TEST(ShapeOps, TileLikeNumPy) {
  Var x = make_input(TensorType(DType::Float64, {-1}), "x");
  Var t = tile(x, {2, 2});
  EXPECT_EQ(t.type().shape, (Shape{2, -1}));
  NDArray r = run1({x}, t, {NDArray::from_vector<double>({1, 2}, {2})});
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  EXPECT_EQ(values(r), (std::vector<double>{1, 2, 1, 2, 1, 2, 1, 2}));
  Var m = make_input(TensorType(DType::Float64, {2, 3}), "m");
  EXPECT_EQ(tile(m, {2}).type().shape, (Shape{2, 6}));
  EXPECT_EQ(tile(m, {0, 1}).type().shape, (Shape{0, 3}));
  expect_error<ValueError>([&] { tile(m, {-1}); }, {"negative"});
}

}  // namespace
}  // namespace theanine
