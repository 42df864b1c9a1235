// Elementwise fusion: the FusedElemwise and FusedReduce ops (ops/fused_elemwise.h)
// and the pass that forms them (passes/fusion.cc). Every fused graph is checked
// against the graph it came from on the reference path.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "ops/elemwise.h"
#include "ops/fused_elemwise.h"
#include "ops/gradient.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "passes/pipeline.h"
#include "runtime/error.h"
#include "test_util.h"

namespace theanine {
namespace {

using testing::count_kind;
using testing::expect_error;
using testing::input;
using testing::op_names;

// Values in [-1, 1) (integers in [-3, 3], coin flips for bool) of a given shape.
NDArray random_array(std::mt19937& rng, DType dtype, const Shape& shape) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(shape_size(shape));
  for (double& e : v) e = is_float(dtype) ? u(rng) : std::round(u(rng) * 3);
  if (is_bool(dtype))
    for (double& e : v) e = e > 0;
  return NDArray::from_vector(v, shape).astype(dtype);
}

// a and b hold the same values (NaN matching NaN), dtypes and shapes.
void expect_same(const NDArray& a, const NDArray& b, const std::string& what = "") {
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.size(); ++i) {
    double x = a.item_double(i), y = b.item_double(i);
    if (std::isnan(x) && std::isnan(y)) continue;
    ASSERT_EQ(x, y) << what << " element " << i;
  }
}

// Fuses `outs` and checks that the fused graph computes the same values as the
// original for `args` (bound to `ins`).
std::vector<Var> fuse_and_compare(const std::vector<Var>& ins,
                                  const std::vector<Var>& outs,
                                  const std::vector<NDArray>& args, RewriteStats* stats) {
  std::vector<Var> fused = fuse(outs, stats);
  Bindings b;
  for (size_t i = 0; i < ins.size(); ++i) b[ins[i].get()] = args[i];
  std::vector<NDArray> want = evaluate(outs, b), got = evaluate(fused, b);
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_EQ(fused[i]->type.dtype, outs[i]->type.dtype);
    EXPECT_EQ(fused[i]->type.shape, outs[i]->type.shape);
    expect_same(got[i], want[i], "output " + std::to_string(i));
  }
  return fused;
}

// The number of elementwise applications a graph computes, fused or not.
int elementwise_work(const std::vector<Var>& outs) {
  int n = 0;
  for (Apply* node : toposort(outs)) {
    if (op_kind(*node) == "Elemwise") ++n;
    if (auto* f = dynamic_cast<const FusedElemwise*>(node->op.get()))
      n += static_cast<int>(f->graph().nodes.size());
    if (auto* f = dynamic_cast<const FusedReduce*>(node->op.get()))
      n += static_cast<int>(f->prologue().nodes.size());
  }
  return n;
}

TEST(FusedElemwise, NameSpellsTheWholeGraph) {
  Var a = input(DType::Float64, {-1, -1}, "a"), x = input(DType::Float64, {-1, -1}, "x");
  Var b = input(DType::Float64, {-1}, "b");
  std::vector<Var> out = fuse({tanh(add(mul(a, x), b))}, nullptr);
  EXPECT_EQ(op_names(out), std::vector<std::string>{"Fused{tanh(add(mul(i0, i1), i2))}"});
}

TEST(FusedElemwise, ConstantsCastsAndSharedNodesArePrinted) {
  // Static shapes: i must provably have x's shape for y to join z's group.
  Var x = input(DType::Float32, {5}, "x");
  Var i = input(DType::Int32, {5}, "i");
  Var t = exp(x);
  Var y = add(mul(t, scalar_literal(0.5, false)), cast(i, DType::Float32));
  Var z = mul(t, scalar_constant(2.0, DType::Float32));
  std::vector<Var> out = fuse({y, z}, nullptr);
  ASSERT_TRUE(out[0]->owner == out[1]->owner);
  EXPECT_EQ(out[0]->owner->op->name(),
            "Fused{t0=exp(i0); add(mul(t0, 0.5), cast{float32}(i1)), "
            "mul(t0, float32(2.0))}");
}

TEST(FusedElemwise, EqualGraphsAreEqualOps) {
  Var x = input(DType::Float64, {-1}, "x"), y = input(DType::Float64, {-1}, "y");
  auto op_of = [](const Var& v) { return fuse({v}, nullptr)[0]->owner->op; };
  OpPtr a = op_of(exp(add(x, y))), b = op_of(exp(add(y, x)));
  OpPtr c = op_of(exp(add(x, scalar_literal(1, true))));
  OpPtr d = op_of(exp(add(x, scalar_literal(1.0, false))));
  EXPECT_TRUE(a->equals(*b));
  EXPECT_EQ(a->hash(), b->hash());
  EXPECT_FALSE(c->equals(*d));  // an int literal and a float one
  EXPECT_NE(c->name(), d->name());
}

TEST(FusedElemwise, CheckRejectsMalformedGraphs) {
  ScalarGraph g;
  g.inputs = {DType::Float64};
  g.nodes.push_back({scalar_op("exp").id, std::nullopt, {{ScalarRef::Kind::Node, 0}}});
  g.outputs = {0};
  expect_error<ValueError>([&] { g.check(); }, {"not computed before"});
  g.nodes[0].args = {{ScalarRef::Kind::Input, 0}, {ScalarRef::Kind::Input, 0}};
  expect_error<ValueError>([&] { g.check(); }, {"takes 1 operands, got 2"});
  g.nodes[0].args = {{ScalarRef::Kind::Input, 0}};
  g.outputs = {0, 0};
  expect_error<ValueError>([&] { g.check(); }, {"twice"});
}

TEST(FusedElemwise, InputsOfAnotherDtypeAreATypeError) {
  Var x = input(DType::Float64, {-1}, "x");
  std::vector<Var> out = fuse({exp(neg(x))}, nullptr);
  const OpPtr op = out[0]->owner->op;
  expect_error<TypeError>(
      [&] { make_node(op, {input(DType::Float32, {-1})}, SourceLoc()); },
      {"float32", "float64"});
}

TEST(FusedElemwise, WritesIntoAnOfferedInputOnlyWhenNothingReadsItLater) {
  Var x = input(DType::Float64, {3}, "x"), y = input(DType::Float64, {3}, "y");
  std::mt19937 rng(1);
  {
    std::vector<Var> out = fuse({mul(exp(x), y)}, nullptr);
    NDArray a = random_array(rng, DType::Float64, {3}), b = a.copy();
    NDArray c = random_array(rng, DType::Float64, {3});
    std::vector<NDArray> into{a};
    ASSERT_TRUE(out[0]->owner->op->perform_into(*out[0]->owner, {a, c}, into));
    EXPECT_EQ(into[0].raw(), a.raw());
    for (int i = 0; i < 3; ++i)
      EXPECT_DOUBLE_EQ(into[0].item_double(i),
                       std::exp(b.item_double(i)) * c.item_double(i));
  }
  {
    // The first output is computed before the second reads x again.
    Var t = add(x, scalar_literal(1.0, false));
    std::vector<Var> out = fuse({t, mul(t, x)}, nullptr);
    ASSERT_TRUE(out[0]->owner == out[1]->owner);
    auto& fused = dynamic_cast<const FusedElemwise&>(*out[0]->owner->op);
    EXPECT_FALSE(fused.graph().may_overwrite(0, 0));
    EXPECT_TRUE(fused.graph().may_overwrite(1, 0));
    NDArray a = random_array(rng, DType::Float64, {3}), b = a.copy();
    std::vector<NDArray> into{a, NDArray()};
    ASSERT_TRUE(out[0]->owner->op->perform_into(*out[0]->owner, {a}, into));
    EXPECT_NE(into[0].raw(), a.raw());
    for (int i = 0; i < 3; ++i) {
      const double v = b.item_double(i);
      EXPECT_DOUBLE_EQ(into[0].item_double(i), v + 1);
      EXPECT_DOUBLE_EQ(into[1].item_double(i), (v + 1) * v);
    }
  }
}

TEST(Fusion, TanhOfAffineIsOneGroup) {
  Var a = input(DType::Float32, {-1, -1}, "a"), x = input(DType::Float32, {-1, -1}, "x");
  Var b = input(DType::Float32, {-1}, "b");
  std::mt19937 rng(2);
  RewriteStats stats;
  std::vector<Var> out = fuse_and_compare(
      {a, x, b}, {tanh(add(mul(a, x), b))},
      {random_array(rng, DType::Float32, {3, 4}),
       random_array(rng, DType::Float32, {1, 4}), random_array(rng, DType::Float32, {4})},
      &stats);
  EXPECT_EQ(stats.count("fusion_groups"), 1);
  EXPECT_EQ(stats.count("fused_nodes"), 3);
  EXPECT_EQ(count_kind(out, "Fused"), 1);
  EXPECT_EQ(count_kind(out, "Elemwise"), 0);
}

TEST(Fusion, LoneNodesStayElemwise) {
  Var x = input(DType::Float64, {-1}, "x");
  RewriteStats stats;
  std::vector<Var> lone = fuse({exp(x)}, &stats);
  EXPECT_EQ(stats.count("fusion_groups"), 0);
  EXPECT_EQ(op_names(lone), std::vector<std::string>{"Elemwise{exp}"});
  EXPECT_TRUE(lone[0]->owner->inputs[0].same(x));
}

TEST(Fusion, SharedIntermediateIsComputedOnce) {
  Var x = input(DType::Float64, {-1, -1}, "x"), a = input(DType::Float64, {-1, -1}, "a");
  Var t = exp(x);
  std::mt19937 rng(3);
  RewriteStats stats;
  std::vector<Var> out = fuse_and_compare({x, a}, {mul(t, a), add(t, a)},
                                          {random_array(rng, DType::Float64, {2, 3}),
                                           random_array(rng, DType::Float64, {2, 3})},
                                          &stats);
  // Both consumers in one group, the exp inside it once.
  EXPECT_EQ(stats.count("fusion_groups"), 1);
  ASSERT_TRUE(out[0]->owner == out[1]->owner);
  EXPECT_EQ(out[0]->owner->op->name(), "Fused{t0=exp(i0); mul(t0, i1), add(t0, i1)}");
  EXPECT_EQ(elementwise_work(out), 3);
}

TEST(Fusion, IntermediateReadOutsideBecomesAnExtraOutput) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var t = exp(x);
  Var s = sum(t, std::vector<int>{1});  // a reader that is no elementwise op
  Var y = mul(t, scalar_literal(2.0, false));
  std::mt19937 rng(4);
  RewriteStats stats;
  std::vector<Var> out =
      fuse_and_compare({x}, {s, y}, {random_array(rng, DType::Float64, {3, 2})}, &stats);
  EXPECT_EQ(stats.count("fusion_groups"), 1);
  EXPECT_EQ(stats.count("fused_reductions"), 0);
  const Apply* fused = out[1]->owner;
  EXPECT_EQ(fused->op->name(), "Fused{t0=exp(i0); t0, mul(t0, 2.0)}");
  EXPECT_EQ(out[0]->owner->inputs[0]->owner, fused);  // the sum reads output 0
  EXPECT_EQ(elementwise_work(out), 2);
}

TEST(Fusion, GraphOutputsInsideAGroupAreOutputsOfIt) {
  Var x = input(DType::Float64, {-1}, "x");
  Var t = add(x, scalar_literal(1.0, false));
  std::mt19937 rng(5);
  std::vector<Var> out = fuse_and_compare(
      {x}, {t, tanh(t)}, {random_array(rng, DType::Float64, {5})}, nullptr);
  ASSERT_TRUE(out[0]->owner == out[1]->owner);
  EXPECT_EQ(out[0]->owner->num_outputs(), 2);
}

TEST(Fusion, ExpensiveWorkIsNotRepeatedAlongBroadcastDims) {
  Var x = input(DType::Float64, {-1, -1}, "x"), b = input(DType::Float64, {-1}, "b");
  Var row = input(DType::Float64, {1, -1}, "row");
  std::mt19937 rng(6);
  std::vector<NDArray> args{random_array(rng, DType::Float64, {3, 4}),
                            random_array(rng, DType::Float64, {4}),
                            random_array(rng, DType::Float64, {1, 4})};
  // exp(b) would be computed once per row of x inside a kernel over x's shape.
  std::vector<Var> out =
      fuse_and_compare({x, b, row}, {mul(x, exp(b)), add(x, tanh(row))}, args, nullptr);
  EXPECT_EQ(count_kind(out, "Fused"), 0);
  EXPECT_EQ(count_kind(out, "Elemwise"), 4);
  // Cheap work is recomputed rather than stored.
  RewriteStats stats;
  out = fuse_and_compare({x, b, row}, {mul(x, add(b, scalar_literal(1.0, false)))}, args,
                         &stats);
  EXPECT_EQ(op_names(out), std::vector<std::string>{"Fused{mul(i0, add(i1, 1.0))}"});
}

TEST(Fusion, SmallerIntermediatesReadOutsideStayOutside) {
  Var x = input(DType::Float64, {-1, -1}, "x"), b = input(DType::Float64, {-1}, "b");
  Var t = mul(b, scalar_literal(2.0, false));
  std::mt19937 rng(7);
  std::vector<Var> out = fuse_and_compare(
      {x, b}, {t, tanh(add(x, t))},
      {random_array(rng, DType::Float64, {3, 4}), random_array(rng, DType::Float64, {4})},
      nullptr);
  // t, of b's shape, cannot be an output of a kernel over x's shape.
  EXPECT_EQ(op_names({out[0]}), std::vector<std::string>{"Elemwise{mul}"});
  EXPECT_EQ(out[1]->owner->op->name(), "Fused{tanh(add(i0, i1))}");
  EXPECT_TRUE(out[1]->owner->inputs[1].same(out[0]));
}

TEST(Fusion, ReductionOfAnElementwiseChainFuses) {
  Var x = input(DType::Float32, {-1, -1}, "x");
  Var m = max(x, std::vector<int>{1}, /*keepdims=*/true);
  Var s = sum(exp(sub(x, m)), std::vector<int>{1});
  std::mt19937 rng(8);
  RewriteStats stats;
  std::vector<Var> out =
      fuse_and_compare({x}, {s}, {random_array(rng, DType::Float32, {4, 5})}, &stats);
  EXPECT_EQ(stats.count("fusion_groups"), 1);
  EXPECT_EQ(stats.count("fused_reductions"), 1);
  EXPECT_EQ(stats.count("fused_nodes"), 3);
  EXPECT_EQ(op_names(out),
            (std::vector<std::string>{
                "Max{axis=(1,), keepdims=True}",
                "FusedReduce{Sum{axis=(1,), keepdims=False}(exp(sub(i0, i1)))}"}));
}

TEST(Fusion, ReductionsKeepTheirKindDtypeAndErrors) {
  Var x = input(DType::Int32, {-1, -1}, "x");
  Var p = reduce(ReduceKind::Prod, mul(x, x), std::vector<int>{0}, true, DType::Float64);
  Var m = max(add(x, scalar_literal(1, true)), std::vector<int>{1});
  std::mt19937 rng(9);
  std::vector<Var> out =
      fuse_and_compare({x}, {p, m}, {random_array(rng, DType::Int32, {3, 2})}, nullptr);
  EXPECT_EQ(count_kind(out, "FusedReduce"), 2);
  EXPECT_EQ(out[0]->type.dtype, DType::Float64);
  // The max of nothing still fails at run time, as the Max node did.
  Bindings b{{x.get(), NDArray::zeros(DType::Int32, {3, 0})}};
  expect_error<ValueError>([&] { evaluate({out[1]}, b); }, {"zero-size"});
}

TEST(Fusion, ReductionInputReadElsewhereIsNotRecomputed) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var e = exp(x);
  Var s = sum(e, std::vector<int>{1}, true);
  std::mt19937 rng(10);
  std::vector<Var> out = fuse_and_compare(
      {x}, {true_div(e, s)}, {random_array(rng, DType::Float64, {3, 4})}, nullptr);
  // e feeds the sum and the division: neither may take it in.
  EXPECT_EQ(count_kind(out, "FusedReduce"), 0);
  EXPECT_EQ(elementwise_work(out), 2);
}

TEST(Fusion, NoGroupDependsOnItself) {
  // t is read by the sum, whose result comes back into t's consumer: taking
  // t into that consumer's group would make the group its own input.
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var t = add(x, scalar_literal(1.0, false));
  Var y = tanh(mul(t, sum(t, std::vector<int>{1}, true)));
  std::mt19937 rng(11);
  std::vector<Var> out =
      fuse_and_compare({x}, {y}, {random_array(rng, DType::Float64, {3, 4})}, nullptr);
  EXPECT_EQ(op_names(out),
            (std::vector<std::string>{"Elemwise{add}", "Sum{axis=(1,), keepdims=True}",
                                      "Fused{tanh(mul(i0, i1))}"}));
}

TEST(Fusion, IntsBoolsAndCastsFuse) {
  Var x = input(DType::Float32, {-1, -1}, "x");
  Var i = input(DType::Int32, {-1}, "i");
  Var m = input(DType::Bool, {-1, 1}, "m");
  Var y = switch_(and_(gt(x, scalar_literal(0, true)), m),
                  mul(cast(i, DType::Float32), scalar_literal(2, true)),
                  int_div(sqr(x), scalar_literal(3, true)));
  Var k = mod(add(i, scalar_literal(7, true)), scalar_literal(4, true));
  std::mt19937 rng(12);
  RewriteStats stats;
  std::vector<Var> out = fuse_and_compare(
      {x, i, m}, {y, cast(k, DType::Int8)},
      {random_array(rng, DType::Float32, {3, 4}), random_array(rng, DType::Int32, {4}),
       random_array(rng, DType::Bool, {3, 1})},
      &stats);
  EXPECT_EQ(stats.count("fusion_groups"), 2);
  EXPECT_EQ(count_kind(out, "Elemwise"), 0);
}

TEST(Fusion, SizeZeroDims) {
  Var x = input(DType::Float64, {-1, -1}, "x"), b = input(DType::Float64, {-1}, "b");
  std::vector<Var> outs{tanh(add(mul(x, b), scalar_literal(1.0, false))),
                        sum(exp(x), std::vector<int>{0})};
  std::mt19937 rng(13);
  for (Shape s : {Shape{0, 3}, Shape{2, 0}, Shape{0, 0}}) {
    std::vector<Var> out = fuse_and_compare(
        {x, b}, outs,
        {random_array(rng, DType::Float64, s), random_array(rng, DType::Float64, {s[1]})},
        nullptr);
    EXPECT_EQ(count_kind(out, "Fused") + count_kind(out, "FusedReduce"), 2);
  }
}

TEST(Fusion, RunTimeBroadcastErrorsNameTheNodeAndInputs) {
  Var x = input(DType::Float64, {-1, -1}, "x"), y = input(DType::Float64, {-1}, "y");
  Function f = function({x, y}, {tanh(mul(x, y))});
  expect_error<ShapeError>(
      [&] {
        f({NDArray::zeros(DType::Float64, {3, 4}), NDArray::zeros(DType::Float64, {5})});
      },
      {"Fused{tanh(mul(i0, i1))}", "Elemwise{mul}", "(3, 4)", "(5,)", "'x'", "'y'",
       "fusion_test.cc"});
}

TEST(Fusion, FunctionsAgreeWithTheUnoptimizedGraph) {
  Var x = input(DType::Float64, {-1, -1}, "x"), b = input(DType::Float64, {-1}, "b");
  Var h = tanh(add(mul(x, scalar_literal(2.0, false)), b));
  Var cost = sum(sqr(sub(h, scalar_literal(0.5, false))));
  std::vector<Var> g = grad(cost, {x, b});
  std::mt19937 rng(14);
  std::vector<Arg> args{random_array(rng, DType::Float64, {3, 4}),
                        random_array(rng, DType::Float64, {4})};
  Function fast = function({x, b}, {cost, g[0], g[1]});
  FunctionOptions none;
  none.mode = "NO_OPTIMIZATION";
  Function slow = function({x, b}, {cost, g[0], g[1]}, {}, none);
  EXPECT_GT(fast.rewrite_stats().count("fusion_groups"), 0);
  std::vector<NDArray> got = fast(args), want = slow(args);
  for (size_t i = 0; i < got.size(); ++i)
    for (int64_t k = 0; k < got[i].size(); ++k)
      EXPECT_NEAR(got[i].item_double(k), want[i].item_double(k), 1e-12);
}

// Random graphs of elementwise ops, reductions and casts over broadcasting
// inputs: fusion keeps every value, computes each elementwise op exactly once,
// and never makes a cycle (the pass checks the order it builds in).
TEST(Fusion, RandomGraphsKeepTheirValuesAndWork) {
  const char* unary[] = {"exp", "tanh", "neg", "sqr", "abs", "sigmoid"};
  const char* binary[] = {"add", "mul", "sub", "maximum"};
  for (int seed = 0; seed < 500; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % n); };
    std::vector<Var> ins{input(DType::Float64, {-1, -1}, "x"),
                         input(DType::Float64, {-1, -1}, "y"),
                         input(DType::Float64, {-1}, "b"), input(DType::Float64, {}, "s"),
                         input(DType::Float64, {1, -1}, "r")};
    std::vector<NDArray> args{
        random_array(rng, DType::Float64, {3, 4}),
        random_array(rng, DType::Float64, {3, 4}), random_array(rng, DType::Float64, {4}),
        random_array(rng, DType::Float64, {}), random_array(rng, DType::Float64, {1, 4})};
    std::vector<Var> pool = ins;
    const int n = 4 + pick(14);
    for (int k = 0; k < n; ++k) {
      const Var& a = pool[pool.size() - 1 - pick(std::min<int>(pool.size(), 6))];
      const Var& c = pool[pick(pool.size())];
      const int what = pick(10);
      if (what < 4) {
        pool.push_back(elemwise(unary[pick(6)], {a}));
      } else if (what < 8) {
        pool.push_back(elemwise(binary[pick(4)], {a, c}));
      } else if (what == 8 && a.ndim() > 0) {
        const int how = pick(3);
        if (how == 0)
          pool.push_back(sum(a, std::vector<int>{a.ndim() - 1}, /*keepdims=*/true));
        else if (how == 1)
          pool.push_back(sum(a));
        else
          pool.push_back(max(a, std::vector<int>{0}));
      } else {
        pool.push_back(cast(cast(a, DType::Float32), DType::Float64));
      }
    }
    std::vector<Var> outs{pool.back()};
    for (int k = 0; k < 2; ++k) outs.push_back(pool[ins.size() + pick(n)]);
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Var> fused = fuse_and_compare(ins, outs, args, nullptr);
    EXPECT_EQ(elementwise_work(fused), elementwise_work(outs));
    EXPECT_EQ(count_kind(fused, "Sum") + count_kind(fused, "Max") +
                  count_kind(fused, "FusedReduce"),
              count_kind(outs, "Sum") + count_kind(outs, "Max"));
  }
}

}  // namespace
}  // namespace theanine
