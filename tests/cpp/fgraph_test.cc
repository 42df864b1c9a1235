#include "graph/fgraph.h"

#include <gtest/gtest.h>

#include "tests/cpp/test_ops.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

TEST(Graph, OutputHandleKeepsNodeAndInputsAlive) {
  Var y;
  Variable* x_raw;
  {
    Var x = make_input(TensorType(DType::Float32, {2}), "x");
    x_raw = x.get();
    y = plus(x, x);
  }
  ASSERT_TRUE(y->owner);
  EXPECT_EQ(y->owner->inputs[0].get(), x_raw);
  EXPECT_EQ(y->owner->inputs[0]->name, "x");
}

TEST(Graph, ToposortPutsInputsFirstAndVisitsSharedNodesOnce) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var a = plus(x, x);
  Var b = plus(a, a);
  Var c = plus(a, b);
  auto order = toposort({c});
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], a->owner);
  EXPECT_EQ(order[1], b->owner);
  EXPECT_EQ(order[2], c->owner);
}

TEST(Graph, ToposortHandlesDeepChainsWithoutRecursion) {
  Var x = make_input(TensorType(DType::Float32, {}), "x");
  Var y = x;
  for (int i = 0; i < 200000; ++i) y = plus(y, x);
  EXPECT_EQ(toposort({y}).size(), 200000u);
}

TEST(Graph, CloneReplaceRebuildsOnlyDependentNodesAndPropagatesShapes) {
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Var z = make_input(TensorType(DType::Float32, {-1}), "z");
  Var a = plus(z, z);  // independent of x
  Var b = plus(x, a);
  Var x2 = make_input(TensorType(DType::Float32, {5}), "x2");
  auto out = clone_replace({b}, {{x.get(), x2}});
  ASSERT_FALSE(out[0].same(b));
  EXPECT_TRUE(out[0]->owner->inputs[0].same(x2));
  EXPECT_TRUE(out[0]->owner->inputs[1].same(a));  // kept
  EXPECT_EQ(out[0]->type.shape, (Shape{5}));
}

TEST(Graph, FreeVariablesListsLeaves) {
  Var x = make_input(TensorType(DType::Float32, {2}), "x");
  Var w = make_shared(NDArray::zeros(DType::Float32, {2}), "w");
  auto free = free_variables({plus(x, w)});
  ASSERT_EQ(free.size(), 2u);
}

TEST(Graph, MakeNodeErrorNamesOpAndLine) {
  Var x = make_input(TensorType(DType::Float32, {2}), "x");
  Var y = make_input(TensorType(DType::Float32, {2, 2}), "y");
  expect_error<ShapeError>([&] { plus(x, y); }, {"TestPlus", "test_ops.h"});
}

TEST(Graph, DebugprintShowsOpsAndInputs) {
  Var x = make_input(TensorType(DType::Float32, {2}), "x");
  Var a = plus(x, x);
  std::string s = debugprint({plus(a, a)});
  EXPECT_NE(s.find("TestPlus"), std::string::npos);
  EXPECT_NE(s.find("x [id"), std::string::npos);
  EXPECT_NE(s.find("..."), std::string::npos);  // a printed once, then referenced
}

TEST(Graph, SharedValueBorrowSemantics) {
  NDArray v = NDArray::zeros(DType::Float32, {3});
  Var w = make_shared(v, "w", /*borrow=*/true);
  EXPECT_TRUE(get_value(w, true).shares_memory(v));
  EXPECT_FALSE(get_value(w, false).shares_memory(v));
  Var w2 = make_shared(v, "w2", /*borrow=*/false);
  EXPECT_FALSE(get_value(w2, true).shares_memory(v));
  EXPECT_THROW(set_value(w, NDArray::zeros(DType::Float64, {3})), TypeError);
  EXPECT_THROW(set_value(w, NDArray::zeros(DType::Float32, {3, 1})), TypeError);
}

}  // namespace
}  // namespace theanine
