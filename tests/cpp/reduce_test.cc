#include "ops/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "codegen/function.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

// x = [[0, 1, 2], [3, 4, 5]]
NDArray m23() { return arr<float>({0, 1, 2, 3, 4, 5}, {2, 3}); }

TEST(Reduce, SumOverEachAxisAndAll) {
  Var x = input(DType::Float32, {-1, 3}, "x");
  EXPECT_EQ(values(run1({x}, sum(x, std::vector<int>{0}), {m23()})),
            (std::vector<double>{3, 5, 7}));
  EXPECT_EQ(values(run1({x}, sum(x, std::vector<int>{1}), {m23()})),
            (std::vector<double>{3, 12}));
  EXPECT_EQ(values(run1({x}, sum(x, std::vector<int>{-1}), {m23()})),
            (std::vector<double>{3, 12}));
  NDArray all_sum = run1({x}, sum(x), {m23()});
  EXPECT_EQ(all_sum.ndim(), 0);
  EXPECT_EQ(all_sum.item_double(), 15);
  EXPECT_EQ(all_sum.dtype(), DType::Float32);
}

TEST(Reduce, KeepdimsShapes) {
  Var x = input(DType::Float32, {-1, 3, 4}, "x");
  EXPECT_EQ(sum(x, std::vector<int>{1}, true).type().shape, (Shape{-1, 1, 4}));
  EXPECT_EQ(sum(x, std::vector<int>{0, 2}).type().shape, (Shape{3}));
  EXPECT_EQ(sum(x, std::nullopt, true).type().shape, (Shape{1, 1, 1}));
  EXPECT_EQ(sum(x, std::vector<int>{}).type().shape, (Shape{-1, 3, 4}));
  Var m = input(DType::Float32, {-1, 3}, "m");
  NDArray r = run1({m}, max(m, std::vector<int>{1}, true), {m23()});
  EXPECT_EQ(r.shape(), (Shape{2, 1}));
  EXPECT_EQ(values(r), (std::vector<double>{2, 5}));
}

TEST(Reduce, EmptyAxisListIsACast) {
  Var x = input(DType::Int32, {-1}, "x");
  NDArray r = run1({x}, sum(x, std::vector<int>{}),
                   {NDArray::from_vector<int32_t>({4, -2}, {2})});
  EXPECT_EQ(r.dtype(), DType::Int64);
  EXPECT_EQ(values(r), (std::vector<double>{4, -2}));
}

TEST(Reduce, OutputDtypesFollowNumPy) {
  using K = ReduceKind;
  for (DType d : {DType::Bool, DType::Int8, DType::Int16, DType::Int32, DType::Int64,
                  DType::UInt8}) {
    EXPECT_EQ(reduce_out_dtype(K::Sum, d), DType::Int64) << dtype_name(d);
    EXPECT_EQ(reduce_out_dtype(K::Prod, d), DType::Int64) << dtype_name(d);
    EXPECT_EQ(reduce_out_dtype(K::Mean, d), DType::Float64) << dtype_name(d);
    EXPECT_EQ(reduce_out_dtype(K::Max, d), d);
    EXPECT_EQ(reduce_out_dtype(K::All, d), DType::Bool);
  }
  for (DType d : {DType::Float32, DType::Float64}) {
    EXPECT_EQ(reduce_out_dtype(K::Sum, d), d);
    EXPECT_EQ(reduce_out_dtype(K::Mean, d), d);
    EXPECT_EQ(reduce_out_dtype(K::Min, d), d);
    EXPECT_EQ(reduce_out_dtype(K::Any, d), DType::Bool);
  }
  EXPECT_EQ(reduce_acc_dtype(K::Sum, DType::Float32), DType::Float64);
  Var x = input(DType::Int16, {3}, "x");
  EXPECT_EQ(var(x).dtype(), DType::Float64);
  EXPECT_EQ(argmax(x).dtype(), DType::Int64);
  Var f = input(DType::Float32, {3}, "f");
  EXPECT_EQ(std(f).dtype(), DType::Float32);
}

TEST(Reduce, NamesSpellCanonicalAxes) {
  Var x = input(DType::Float32, {2, 3, 4}, "x");
  auto name = [](const Var& v) { return v->owner->op->name(); };
  EXPECT_EQ(name(sum(x, std::vector<int>{-1})), "Sum{axis=(2,), keepdims=False}");
  EXPECT_EQ(name(sum(x, std::vector<int>{2, 0}, true)),
            "Sum{axis=(0, 2), keepdims=True}");
  EXPECT_EQ(name(max(x, std::vector<int>{2, 1, 0})), "Max{axis=None, keepdims=False}");
  EXPECT_EQ(name(var(x, std::vector<int>{1}, false, 1)),
            "Var{axis=(1,), keepdims=False, ddof=1}");
  EXPECT_EQ(name(argmin(x, -1)), "Argmin{axis=2, keepdims=False}");
  EXPECT_TRUE(sum(x, std::vector<int>{-1})
                  ->owner->op->equals(*sum(x, std::vector<int>{2})->owner->op));
  EXPECT_FALSE(sum(x, std::vector<int>{1})
                   ->owner->op->equals(*sum(x, std::vector<int>{1}, true)->owner->op));
  EXPECT_FALSE(sum(x)->owner->op->equals(*prod(x)->owner->op));
}

TEST(Reduce, BadAxesAreRejectedNamingAxisAndNdim) {
  Var x = input(DType::Float32, {2, 3}, "x");
  std::string m = error_of<IndexError>([&] { sum(x, std::vector<int>{2}); });
  EXPECT_NE(m.find("axis 2"), std::string::npos) << m;
  EXPECT_NE(m.find("ndim 2"), std::string::npos) << m;
  EXPECT_NE(m.find("reduce_test.cc"), std::string::npos) << m;  // the user's line
  m = error_of<IndexError>([&] { mean(x, std::vector<int>{-3}); });
  EXPECT_NE(m.find("axis -3"), std::string::npos) << m;
  m = error_of<ValueError>([&] { max(x, std::vector<int>{1, -1}); });
  EXPECT_NE(m.find("duplicate"), std::string::npos) << m;
  m = error_of<IndexError>([&] { argmax(x, 5); });
  EXPECT_NE(m.find("axis 5"), std::string::npos) << m;
  m = error_of<IndexError>([&] { std(x, std::vector<int>{7}); });
  EXPECT_NE(m.find("axis 7"), std::string::npos) << m;
  Var s = input(DType::Float32, {}, "s");
  EXPECT_THROW(argmax(s, 0), IndexError);
}

TEST(Reduce, EmptyReductions) {
  Var x = input(DType::Float32, {-1, 3}, "x");
  NDArray empty = NDArray::empty(DType::Float32, {0, 3});
  EXPECT_EQ(values(run1({x}, sum(x, std::vector<int>{0}), {empty})),
            (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(values(run1({x}, prod(x, std::vector<int>{0}), {empty})),
            (std::vector<double>{1, 1, 1}));
  EXPECT_TRUE(std::isnan(run1({x}, mean(x), {empty}).item_double()));
  EXPECT_TRUE(std::isnan(run1({x}, var(x), {empty}).item_double()));
  EXPECT_EQ(run1({x}, all(x), {empty}).item_double(), 1);
  EXPECT_EQ(run1({x}, any(x), {empty}).item_double(), 0);
  // Max over a non-empty axis of an empty array is just empty.
  EXPECT_EQ(run1({x}, max(x, std::vector<int>{1}), {empty}).shape(), (Shape{0}));
  EXPECT_EQ(run1({x}, argmax(x, 1), {empty}).shape(), (Shape{0}));
  std::string m =
      error_of<ValueError>([&] { run1({x}, max(x, std::vector<int>{0}), {empty}); });
  EXPECT_NE(m.find("zero-size array to reduction operation max which has no identity"),
            std::string::npos)
      << m;
  m = error_of<ValueError>([&] { run1({x}, min(x), {empty}); });
  EXPECT_NE(m.find("reduction operation min"), std::string::npos) << m;
  m = error_of<ValueError>([&] { run1({x}, argmax(x, 0), {empty}); });
  EXPECT_NE(m.find("argmax of an empty sequence"), std::string::npos) << m;
  m = error_of<ValueError>([&] { run1({x}, argmin(x), {empty}); });
  EXPECT_NE(m.find("argmin of an empty sequence"), std::string::npos) << m;
}

TEST(Reduce, MaxMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Var x = input(DType::Float32, {-1, 3}, "x");
  NDArray v = arr<float>({1, nan, 3, nan, 5, 6}, {2, 3});
  NDArray mx = run1({x}, max(x, std::vector<int>{1}), {v});
  EXPECT_TRUE(std::isnan(mx.item_double(0)));
  EXPECT_TRUE(std::isnan(mx.item_double(1)));
  NDArray mn = run1({x}, min(x, std::vector<int>{0}), {v});
  EXPECT_TRUE(std::isnan(mn.item_double(0)));
  EXPECT_TRUE(std::isnan(mn.item_double(1)));
  EXPECT_EQ(mn.item_double(2), 3);
  // NaN is nonzero, so it counts as true.
  EXPECT_EQ(values(run1({x}, all(x, std::vector<int>{1}), {v})),
            (std::vector<double>{1, 1}));
}

TEST(Reduce, IntegerAndBoolKinds) {
  Var x = input(DType::Int8, {-1}, "x");
  NDArray v = NDArray::from_vector<int8_t>({100, 100, -7}, {3});
  EXPECT_EQ(run1({x}, sum(x), {v}).item_int(), 193);  // int64, no int8 overflow
  EXPECT_EQ(run1({x}, prod(x), {v}).item_int(), -70000);
  EXPECT_EQ(run1({x}, max(x), {v}).item_int(), 100);
  EXPECT_EQ(run1({x}, min(x), {v}).dtype(), DType::Int8);
  EXPECT_EQ(run1({x}, min(x), {v}).item_int(), -7);
  EXPECT_DOUBLE_EQ(run1({x}, mean(x), {v}).item_double(), 193.0 / 3);
  Var b = input(DType::Bool, {-1}, "b");
  NDArray bv = NDArray::from_vector<bool>({true, false, true}, {3});
  EXPECT_EQ(run1({b}, sum(b), {bv}).item_int(), 2);
  EXPECT_EQ(run1({b}, max(b), {bv}).dtype(), DType::Bool);
  EXPECT_EQ(run1({b}, min(b), {bv}).item_int(), 0);
  EXPECT_EQ(run1({b}, all(b), {bv}).item_int(), 0);
  EXPECT_EQ(run1({b}, any(b), {bv}).item_int(), 1);
  // int64 sums wrap around like NumPy's instead of being undefined.
  Var l = input(DType::Int64, {-1}, "l");
  NDArray lv =
      NDArray::from_vector<int64_t>({std::numeric_limits<int64_t>::max(), 1}, {2});
  EXPECT_EQ(run1({l}, sum(l), {lv}).item_int(), std::numeric_limits<int64_t>::min());
}

TEST(Reduce, Float32SumsAccumulateInDouble) {
  // In float32, 2^24 + 1 rounds back to 2^24: a float32 accumulator loses every 1.
  Var x = input(DType::Float32, {-1}, "x");
  NDArray v = arr<float>({16777216.f, 1, 1, 1, 1}, {5});
  EXPECT_EQ(run1({x}, sum(x), {v}).item_double(), 16777220.0);
}

TEST(Reduce, StridedInputs) {
  Var x = input(DType::Float32, {-1, -1}, "x");
  NDArray t = m23().transpose({1, 0});  // [[0, 3], [1, 4], [2, 5]]
  EXPECT_EQ(values(run1({x}, sum(x, std::vector<int>{1}), {t})),
            (std::vector<double>{3, 5, 7}));
  EXPECT_EQ(values(run1({x}, argmax(x, 0), {t})), (std::vector<double>{2, 2}));
  EXPECT_EQ(run1({x}, argmax(x), {t}).item_int(), 5);  // flattened in C order of the view
  NDArray rev = m23().slice(1, 2, -1, -1);             // [[2, 1, 0], [5, 4, 3]]
  EXPECT_EQ(values(run1({x}, argmin(x, 1), {rev})), (std::vector<double>{2, 2}));
  EXPECT_EQ(values(run1({x}, prod(x, std::vector<int>{0}), {rev})),
            (std::vector<double>{10, 4, 0}));
  // A broadcast (zero-stride) input.
  NDArray bc = arr<float>({1, 2, 3}, {1, 3}).broadcast_to({4, 3});
  EXPECT_EQ(values(run1({x}, sum(x, std::vector<int>{0}), {bc})),
            (std::vector<double>{4, 8, 12}));
}

TEST(Reduce, ArgmaxTiesNaNAndKeepdims) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Var x = input(DType::Float32, {-1, 4}, "x");
  NDArray v = arr<float>({3, 7, 7, 1, 2, nan, 9, nan}, {2, 4});
  EXPECT_EQ(values(run1({x}, argmax(x, 1), {v})), (std::vector<double>{1, 1}));
  EXPECT_EQ(values(run1({x}, argmin(x, 1), {v})), (std::vector<double>{3, 1}));
  EXPECT_EQ(values(run1({x}, argmax(x, 0), {v})), (std::vector<double>{0, 1, 1, 1}));
  EXPECT_EQ(run1({x}, argmax(x), {v}).item_int(), 5);
  NDArray k = run1({x}, argmax(x, 1, true), {v});
  EXPECT_EQ(k.shape(), (Shape{2, 1}));
  EXPECT_EQ(argmax(x, std::nullopt, true).type().shape, (Shape{1, 1}));
  EXPECT_EQ(run1({x}, argmax(x, std::nullopt, true), {v}).shape(), (Shape{1, 1}));
  Var s = input(DType::Float64, {}, "s");
  EXPECT_EQ(run1({s}, argmax(s), {NDArray::scalar(DType::Float64, 4)}).item_int(), 0);
}

TEST(Reduce, VarAndStd) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  NDArray v = NDArray::from_vector<double>({1, 2, 3, 4, 6, 8}, {2, 3});
  // Rows: mean 2, squared deviations 1+0+1 = 2; mean 6, 4+0+4 = 8.
  EXPECT_EQ(values(run1({x}, var(x, std::vector<int>{1}), {v})),
            (std::vector<double>{2.0 / 3, 8.0 / 3}));
  EXPECT_EQ(values(run1({x}, var(x, std::vector<int>{1}, false, 1), {v})),
            (std::vector<double>{1, 4}));
  EXPECT_EQ(values(run1({x}, std(x, std::vector<int>{1}, true, 1), {v})),
            (std::vector<double>{1, 2}));
  // All six: mean 4, deviations 9+4+1+0+4+16 = 34.
  EXPECT_DOUBLE_EQ(run1({x}, var(x), {v}).item_double(), 34.0 / 6);
  // n - ddof <= 0: NumPy's inf (x/0), or nan when the deviations are 0 too.
  EXPECT_TRUE(
      std::isinf(run1({x}, var(x, std::vector<int>{0}, false, 2), {v}).item_double(0)));
  NDArray same = NDArray::from_vector<double>({5, 5, 5, 5, 5, 5}, {2, 3});
  EXPECT_TRUE(std::isnan(
      run1({x}, var(x, std::vector<int>{0}, false, 2), {same}).item_double(0)));
  Var i = input(DType::Int32, {-1}, "i");
  NDArray r = run1({i}, std(i), {NDArray::from_vector<int32_t>({1, 3}, {2})});
  EXPECT_EQ(r.dtype(), DType::Float64);
  EXPECT_EQ(r.item_double(), 1);
}

TEST(Reduce, DtypeOverride) {
  Var x = input(DType::Int32, {-1}, "x");
  Var y = reduce(ReduceKind::Sum, x, std::nullopt, false, DType::Float32);
  EXPECT_EQ(y.dtype(), DType::Float32);
  EXPECT_EQ(y->owner->op->name(), "Sum{axis=None, keepdims=False, dtype=float32}");
  NDArray r = run1({x}, y, {NDArray::from_vector<int32_t>({1, 2}, {2})});
  EXPECT_EQ(r.dtype(), DType::Float32);
  EXPECT_EQ(r.item_double(), 3);
  // The natural dtype is no override at all, so the op merges with plain sum.
  EXPECT_EQ(
      reduce(ReduceKind::Sum, x, std::nullopt, false, DType::Int64)->owner->op->name(),
      "Sum{axis=None, keepdims=False}");
}

}  // namespace
}  // namespace theanine
