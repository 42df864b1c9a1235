// The rewrite engine itself, with rules written here: fixpoint, merge, constant
// folding, statistics, type checks and inner graphs.
#include "passes/rewriter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/map_op.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::op_names;

// neg(neg(x)) -> x
Rule double_neg() {
  return {"double_neg", {"Elemwise"}, [](const Apply& node, const RewriteContext&) {
            const Apply* inner = nullptr;
            if (elemwise_name(node) == "neg" &&
                (inner = elemwise_producer(node.inputs[0], "neg")))
              return std::vector<Var>{inner->inputs[0]};
            return std::vector<Var>{};
          }};
}

TEST(Rewriter, AppliesRulesToAFixpointAndCountsThem) {
  Var x = make_input(TensorType(DType::Float64, {3}), "x");
  Var y = exp(neg(neg(neg(neg(x)))));
  RewriteStats stats;
  std::vector<Var> out = rewrite({y}, {double_neg()}, &stats);
  EXPECT_EQ(op_names(out), std::vector<std::string>{"Elemwise{exp}"});
  EXPECT_EQ(stats.count("double_neg"), 2);
  EXPECT_TRUE(out[0]->owner->inputs[0].same(x));
}

TEST(Rewriter, LeavesTheUsersGraphUnchanged) {
  Var x = make_input(TensorType(DType::Float64, {3}), "x");
  Var nn = neg(neg(x));
  Var y = exp(nn);
  rewrite({y}, {double_neg()});
  EXPECT_TRUE(y->owner->inputs[0].same(nn));
  EXPECT_EQ(op_names({y}).size(), 3u);
}

TEST(Rewriter, MergesEqualNodesAndEqualConstants) {
  Var x = make_input(TensorType(DType::Float64, {3}), "x");
  Var a = exp(x);
  Var b = exp(x);
  Var c1 = make_constant(NDArray::scalar(DType::Float64, 2.0));
  Var c2 = make_constant(NDArray::scalar(DType::Float64, 2.0));
  Var y = add(mul(a, c1), mul(b, c2));
  RewriteStats stats;
  std::vector<Var> out = rewrite({y}, {}, &stats);
  EXPECT_EQ(op_names(out).size(), 3u);  // exp, mul, add
  const Apply* add_node = out[0]->owner;
  EXPECT_TRUE(add_node->inputs[0].same(add_node->inputs[1]));
}

TEST(Rewriter, WeakAndStrongConstantsAreNotMerged) {
  Var x = make_input(TensorType(DType::Float32, {3}), "x");
  Var y = add(mul(x, scalar_literal(2.0, false)),
              mul(cast(x, DType::Float64), scalar_constant(2.0, DType::Float64)));
  std::vector<Var> out = rewrite({y}, {});
  EXPECT_EQ(out[0]->type.dtype, DType::Float64);
  const Apply* lhs = out[0]->owner->inputs[0]->owner;
  EXPECT_EQ(lhs->output_ptr(0)->type.dtype, DType::Float32);
}

TEST(Rewriter, FoldsConstantSubgraphs) {
  Var c = make_constant(NDArray::from_vector<double>({1, 2, 3}, {3}));
  Var x = make_input(TensorType(DType::Float64, {3}), "x");
  Var y = add(x, exp(mul(c, c)));
  RewriteStats stats;
  std::vector<Var> out = rewrite({y}, {}, &stats);
  EXPECT_EQ(op_names(out), std::vector<std::string>{"Elemwise{add}"});
  EXPECT_EQ(stats.count("constant_folding"), 2);
  Var folded = out[0]->owner->inputs[1];
  ASSERT_TRUE(folded->is_constant());
  EXPECT_DOUBLE_EQ(folded->constant_value.item_double(2), std::exp(9.0));
}

TEST(Rewriter, DoesNotFoldWhatWouldFailAtRunTime) {
  Var a = make_constant(NDArray::from_vector<int64_t>({1, 2, 3}, {3}));
  Var e = make_constant(NDArray::from_vector<int64_t>({-1}, {1}));
  Var y = pow(a, e);  // integers to negative powers raise at run time
  std::vector<Var> out = rewrite({y}, {});
  EXPECT_FALSE(out[0]->is_constant());
}

TEST(Rewriter, RejectsARuleThatChangesTheType) {
  Rule bad{"bad", {"Elemwise"}, [](const Apply& node, const RewriteContext&) {
             if (elemwise_name(node) != "exp") return std::vector<Var>{};
             return std::vector<Var>{cast(node.inputs[0], DType::Float32)};
           }};
  Var x = make_input(TensorType(DType::Float64, {3}), "x");
  try {
    rewrite({exp(x)}, {bad});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bad'"), std::string::npos);
  }
}

TEST(Rewriter, StopsAfterTheSweepBound) {
  // A rule that always fires (rebuilds x + 0 as (x + 0) + 0) must not hang.
  Rule grow{"grow", {"Elemwise"}, [](const Apply& node, const RewriteContext&) {
              if (elemwise_name(node) != "add") return std::vector<Var>{};
              return std::vector<Var>{add(node.output(0), scalar_literal(0.0, false))};
            }};
  Var x = make_input(TensorType(DType::Float64, {}), "x");
  RewriteStats stats;
  rewrite({add(x, scalar_literal(0.0, false))}, {grow}, &stats, 3);
  EXPECT_GT(stats.count("grow"), 0);
  EXPECT_LT(stats.count("grow"), 1000);
}

TEST(Rewriter, ClientCountsSeeSharedUses) {
  Var x = make_input(TensorType(DType::Float64, {3}), "x");
  Var e = exp(x);
  int seen = -1;
  Rule probe{"probe", {"Elemwise"}, [&](const Apply& node, const RewriteContext& ctx) {
               if (elemwise_name(node) == "add") seen = ctx.clients(node.inputs[0].get());
               return std::vector<Var>{};
             }};
  rewrite({add(e, e), e}, {probe});
  EXPECT_EQ(seen, 3);  // twice by add, once as an output
}

TEST(Rewriter, RecursesIntoInnerGraphs) {
  Var x = make_input(TensorType(DType::Float64, {-1}), "x");
  Var j = jacobian(neg(neg(exp(x))), x);
  RewriteStats stats;
  std::vector<Var> out = rewrite({j}, {double_neg()}, &stats);
  EXPECT_GE(stats.count("double_neg"), 1);
  Bindings b{{x.get(), NDArray::from_vector<double>({0.5, -1.0}, {2})}};
  NDArray before = evaluate({j}, b).at(0), after = evaluate(out, b).at(0);
  ASSERT_EQ(before.shape(), after.shape());
  for (int64_t i = 0; i < before.size(); ++i)
    EXPECT_DOUBLE_EQ(before.item_double(i), after.item_double(i));
}

}  // namespace
}  // namespace theanine
