#include "ops/subtensor.h"

#include <gtest/gtest.h>

#include "codegen/function.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

Var matrix() { return make_input(TensorType::unknown_shape(DType::Float64, 2), "x"); }
Var iscalar(const std::string& name) {
  return make_input(TensorType(DType::Int32, {}), name);
}

// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
NDArray iota34() {
  std::vector<double> v(12);
  for (int i = 0; i < 12; ++i) v[i] = i;
  return NDArray::from_vector(v, {3, 4});
}

TEST(Subtensor, IntAndSliceGiveAView) {
  Var x = matrix();
  Var y = subtensor(x, {idx(-1), slice(1, std::nullopt, 2)});  // x[-1, 1::2]
  EXPECT_TRUE(y->owner->op->is_view());
  EXPECT_EQ(y.type().shape, (Shape{-1}));
  EXPECT_EQ(values(run1({x}, y, {iota34()})), (std::vector<double>{9, 11}));
}

TEST(Subtensor, NegativeStepsAndClamping) {
  Var x = make_input(TensorType(DType::Float64, {3, 4}), "x");
  Var rev = subtensor(x, {slice({}, {}, -1)});  // x[::-1]
  EXPECT_EQ(rev.type().shape, (Shape{3, 4}));
  EXPECT_EQ(values(run1({x}, rev, {iota34()})),
            (std::vector<double>{8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3}));
  // x[0, 10:-10:-3] -> indices 3, 0
  Var y = subtensor(x, {idx(0), slice(10, -10, -3)});
  EXPECT_EQ(y.type().shape, (Shape{2}));
  EXPECT_EQ(values(run1({x}, y, {iota34()})), (std::vector<double>{3, 0}));
  // x[5:] is empty, x[:, -100:2] is the first two columns.
  EXPECT_EQ(subtensor(x, {slice(5)}).type().shape, (Shape{0, 4}));
  EXPECT_EQ(subtensor(x, {slice(), slice(-100, 2)}).type().shape, (Shape{3, 2}));
}

TEST(Subtensor, SymbolicBounds) {
  // data[i*2:(i+1)*2] with the bounds as separate scalar inputs.
  Var x = matrix();
  Var a = iscalar("a"), b = iscalar("b");
  Var y = subtensor(x, {slice(a, b)});
  NDArray r = run1(
      {x, a, b}, y,
      {iota34(), NDArray::scalar(DType::Int32, 1), NDArray::scalar(DType::Int32, 3)});
  EXPECT_EQ(r.shape(), (Shape{2, 4}));
  EXPECT_EQ(r.item_double(0), 4);
  Var st = iscalar("st");
  Var z = subtensor(x, {slice({}, {}, st)});
  expect_error<ValueError>(
      [&] {
        run1({x, st}, z, {iota34(), NDArray::scalar(DType::Int32, 0)});
      },
      {"slice step cannot be zero"});
}

TEST(Subtensor, NewAxisAndEllipsis) {
  Var x = matrix();
  Var y = subtensor(x, {ellipsis(), newaxis(), idx(1)});  // x[..., None, 1]
  EXPECT_EQ(y.ndim(), 2);
  NDArray r = run1({x}, y, {iota34()});
  EXPECT_EQ(r.shape(), (Shape{3, 1}));
  EXPECT_EQ(values(r), (std::vector<double>{1, 5, 9}));
  expect_error<IndexError>(
      [&] {
        subtensor(x, {ellipsis(), ellipsis()});
      },
      {"single ellipsis"});
}

TEST(Subtensor, IndexErrors) {
  Var x = matrix();
  expect_error<IndexError>(
      [&] {
        subtensor(x, {idx(0), idx(0), idx(0)});
      },
      {"too many indices", "ndim 2"});
  Var y = subtensor(x, {idx(5)});
  expect_error<IndexError>([&] { run1({x}, y, {iota34()}); },
                           {"index 5 is out of bounds for axis 0 with size 3"});
  Var z = subtensor(x, {slice(), idx(-5)});
  expect_error<IndexError>([&] { run1({x}, z, {iota34()}); },
                           {"index -5", "axis 1", "size 4"});
  Var k = make_input(TensorType(DType::Float64, {3, 4}), "k");
  expect_error<IndexError>([&] { subtensor(k, {idx(3)}); }, {"index 3", "size 3"});
  expect_error<ValueError>([&] { subtensor(k, {slice(0, 2, 0)}); },
                           {"step cannot be zero"});
  expect_error<TypeError>([&] { subtensor(x, {idx(scalar_literal(1.0, false))}); },
                          {"integers"});
  Var mask = make_input(TensorType(DType::Bool, {-1}), "mask");
  expect_error<TypeError>([&] { subtensor(x, {idx(mask)}); }, {"boolean mask"});
  expect_error<TypeError>([&] { subtensor(x, {slice(scalar_literal(0.5, false))}); },
                          {"slice bound"});
}

TEST(Subtensor, AdvancedVectorOnAxis0) {
  Var x = matrix();
  Var y = subtensor(x, {idx(std::vector<int64_t>{2, 0, 2})});
  EXPECT_FALSE(y->owner->op->is_view());
  NDArray r = run1({x}, y, {iota34()});
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
  EXPECT_EQ(values(r), (std::vector<double>{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}));
}

TEST(Subtensor, AdvancedPairPicksElements) {
  // p[arange(n), y]
  Var p = matrix();
  Var yv = make_input(TensorType(DType::Int32, {-1}), "y");
  Var r = subtensor(p, {idx(arange(shape_i(p, 0))), idx(yv)});
  NDArray out =
      run1({p, yv}, r, {iota34(), NDArray::from_vector<int32_t>({3, -4, 1}, {3})});
  EXPECT_EQ(values(out), (std::vector<double>{3, 4, 9}));
  expect_error<IndexError>(
      [&] {
        run1({p, yv}, r, {iota34(), NDArray::from_vector<int32_t>({0, 4, 0}, {3})});
      },
      {"index 4 is out of bounds for axis 1 with size 4"});
  expect_error<IndexError>(
      [&] {
        run1({p, yv}, r, {iota34(), NDArray::from_vector<int32_t>({0, 1}, {2})});
      },
      {"could not be broadcast", "(3,)", "(2,)"});
}

TEST(Subtensor, AdvancedPlacementFollowsNumPy) {
  Var x = make_input(TensorType(DType::Float64, {2, 3, 4}), "x");
  // Adjacent advanced indices stay in place: x[:, [0, 2], [1, 3]] -> (2, 2)
  Var a = subtensor(
      x, {slice(), idx(std::vector<int64_t>{0, 2}), idx(std::vector<int64_t>{1, 3})});
  EXPECT_EQ(a.type().shape, (Shape{2, 2}));
  // Separated by a slice: they go first. x[[0, 1], :, [1, 3]] -> (2, 3)
  Var b = subtensor(
      x, {idx(std::vector<int64_t>{0, 1}), slice(), idx(std::vector<int64_t>{1, 3})});
  EXPECT_EQ(b.type().shape, (Shape{2, 3}));
  // An integer counts as an advanced index: x[0, :, [1, 2, 3]] -> (3, 3)
  Var c = subtensor(x, {idx(0), slice(), idx(std::vector<int64_t>{1, 2, 3})});
  EXPECT_EQ(c.type().shape, (Shape{3, 3}));
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;
  NDArray xv = NDArray::from_vector(v, {2, 3, 4});
  // b[i, j] = x[[0,1][i], j, [1,3][i]]
  EXPECT_EQ(values(run1({x}, b, {xv})), (std::vector<double>{1, 5, 9, 15, 19, 23}));
  // c[i, j] = x[0, j, [1,2,3][i]]
  EXPECT_EQ(values(run1({x}, c, {xv})),
            (std::vector<double>{1, 5, 9, 2, 6, 10, 3, 7, 11}));
  expect_error<IndexError>([&] { subtensor(x, {idx(std::vector<int64_t>{2})}); },
                           {"index 2 is out of bounds for axis 0 with size 2"});
}

TEST(Subtensor, SetAndIncBasic) {
  Var x = matrix();
  NDArray xv = iota34();
  Var s = set_subtensor(subtensor(x, {slice(1), idx(0)}), scalar_literal(-1, true));
  NDArray r = run1({x}, s, {xv});
  EXPECT_EQ(values(r), (std::vector<double>{0, 1, 2, 3, -1, 5, 6, 7, -1, 9, 10, 11}));
  EXPECT_EQ(xv.item_double(4), 4) << "x must not be mutated";
  Var yv = make_input(TensorType(DType::Float64, {-1}), "y");
  Var i = inc_subtensor(subtensor(x, {idx(1)}), yv);
  NDArray q = run1({x, yv}, i, {xv, NDArray::from_vector<double>({10, 20, 30, 40}, {4})});
  EXPECT_EQ(values(q), (std::vector<double>{0, 1, 2, 3, 14, 25, 36, 47, 8, 9, 10, 11}));
  expect_error<ShapeError>(
      [&] {
        run1({x, yv}, i, {xv, NDArray::from_vector<double>({1, 2, 3}, {3})});
      },
      {"(3,)", "(4,)"});
}

TEST(Subtensor, SetAndIncAdvancedWithDuplicates) {
  Var x = make_input(TensorType(DType::Float64, {-1}), "x");
  NDArray xv = NDArray::from_vector<double>({0, 0, 0, 0}, {4});
  Var sub = subtensor(x, {idx(std::vector<int64_t>{1, 3, 1, -1})});
  Var y = make_input(TensorType(DType::Float64, {-1}), "y");
  NDArray yv = NDArray::from_vector<double>({1, 2, 3, 4}, {4});
  EXPECT_EQ(values(run1({x, y}, inc_subtensor(sub, y), {xv, yv})),
            (std::vector<double>{0, 4, 0, 6}));
  EXPECT_EQ(values(run1({x, y}, set_subtensor(sub, y), {xv, yv})),
            (std::vector<double>{0, 3, 0, 4}));
}

TEST(Subtensor, SetSubtensorErrors) {
  Var x = matrix();
  expect_error<TypeError>([&] { set_subtensor(x, scalar_literal(1, true)); },
                          {"result of indexing"});
  expect_error<TypeError>([&] { inc_subtensor(transpose(x), scalar_literal(1, true)); },
                          {"result of indexing", "DimShuffle"});
  Var ix = make_input(TensorType::unknown_shape(DType::Int32, 2), "ix");
  Var f = make_input(TensorType(DType::Float32, {}), "f");
  expect_error<TypeError>([&] { set_subtensor(subtensor(ix, {idx(0)}), f); },
                          {"float32", "int32"});
  Var k = make_input(TensorType(DType::Float64, {3, 4}), "k");
  Var y3 = make_input(TensorType(DType::Float64, {3}), "y3");
  expect_error<ShapeError>([&] { set_subtensor(subtensor(k, {idx(0)}), y3); },
                           {"(3,)", "(4,)"});
  // An int y into a float x is fine (cast).
  Var iy = make_input(TensorType(DType::Int64, {}), "iy");
  EXPECT_EQ(set_subtensor(subtensor(k, {idx(0)}), iy).type(), k.type());
}

}  // namespace
}  // namespace theanine
