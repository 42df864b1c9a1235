#include "runtime/ndarray.h"

#include <gtest/gtest.h>

#include "runtime/error.h"

namespace theanine {
namespace {

TEST(NDArray, EmptyIsContiguousWithCOrderStrides) {
  NDArray a = NDArray::empty(DType::Float32, {2, 3, 4});
  EXPECT_EQ(a.size(), 24);
  EXPECT_EQ(a.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(a.is_contiguous());
  EXPECT_EQ(a.nbytes(), 96u);
}

TEST(NDArray, TransposeIsAViewAndNotContiguous) {
  NDArray a = NDArray::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  NDArray t = a.transpose({1, 0});
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(t.shares_memory(a));
  // t[1][0] == a[0][1]
  EXPECT_EQ(t.item_double(2), 1.0);
  NDArray c = t.copy();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_memory(a));
  EXPECT_EQ(c.item_double(1), 3.0);
}

TEST(NDArray, NegativeStepSlice) {
  NDArray a = NDArray::from_vector<int64_t>({0, 1, 2, 3, 4}, {5});
  NDArray r = a.slice(0, 4, -1, -2);  // a[4::-2] -> 4, 2, 0
  ASSERT_EQ(r.shape(), (Shape{3}));
  EXPECT_EQ(r.item_int(0), 4);
  EXPECT_EQ(r.item_int(1), 2);
  EXPECT_EQ(r.item_int(2), 0);
}

TEST(NDArray, BroadcastToRejectsMismatch) {
  NDArray a = NDArray::zeros(DType::Float64, {3});
  EXPECT_EQ(a.broadcast_to({2, 3}).strides(), (Shape{0, 1}));
  EXPECT_THROW(a.broadcast_to({2, 4}), ShapeError);
}

TEST(NDArray, AstypeConverts) {
  NDArray a = NDArray::from_vector<double>({1.7, -2.5}, {2});
  NDArray i = a.astype(DType::Int32);
  EXPECT_EQ(i.dtype(), DType::Int32);
  EXPECT_EQ(i.item_int(0), 1);
  EXPECT_EQ(i.item_int(1), -2);
}

TEST(NDArray, ReshapeOfNonContiguousCopies) {
  NDArray a = NDArray::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  NDArray r = a.transpose({1, 0}).reshape({6});
  EXPECT_FALSE(r.shares_memory(a));
  EXPECT_EQ(r.item_double(1), 3.0);
  EXPECT_THROW(a.reshape({4}), ShapeError);
}

TEST(DType, PromotionFollowsNumPy) {
  EXPECT_EQ(promote(DType::Int32, DType::Float32), DType::Float64);
  EXPECT_EQ(promote(DType::Int16, DType::Float32), DType::Float32);
  EXPECT_EQ(promote(DType::UInt8, DType::Int8), DType::Int16);
  EXPECT_EQ(promote(DType::Bool, DType::UInt8), DType::UInt8);
  EXPECT_EQ(promote(DType::Int64, DType::Int8), DType::Int64);
  EXPECT_EQ(promote(DType::Float32, DType::Float64), DType::Float64);
  EXPECT_TRUE(can_cast_safely(DType::Int8, DType::Float32));
  EXPECT_FALSE(can_cast_safely(DType::Float64, DType::Float32));
}

}  // namespace
}  // namespace theanine
