// The canonicalize rules (passes/canonicalize*.cc): each rule fires on its
// pattern, leaves the graph it promises, keeps dtype and broadcast shape, and
// the rewritten graph computes what the original did on random inputs; where a
// rule must not apply (floats that may be NaN, dims a constant adds, checks
// that could fail) it does not.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "passes/pipeline.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

using Names = std::vector<std::string>;

Var ilit(int64_t v) { return scalar_literal(static_cast<double>(v), true); }
Var cst(double v, DType d) { return scalar_constant(v, d); }

Bindings bind(const std::vector<std::pair<Var, Shape>>& shapes) {
  Bindings b;
  uint32_t seed = 7;
  for (auto& [v, s] : shapes) b[v.get()] = random_array(v.dtype(), s, seed++, 2.0);
  return b;
}

// Canonicalizes `outs`, checks each output keeps its type, and that both
// graphs agree on `b`.
std::vector<Var> canon(const std::vector<Var>& outs, const Bindings& b,
                       RewriteStats* stats, double tol = 1e-6) {
  return rewrite_and_compare(outs, canonicalize_rules(), b, stats, tol);
}
Var canon1(const Var& out, const Bindings& b, RewriteStats* stats) {
  return canon({out}, b, stats).at(0);
}

// ---- neutral and absorbing elements --------------------------------------------

TEST(Canonicalize, MulOneAndAddZeroGiveTheOperand) {
  Var x = input(DType::Float32, {3, -1}, "x");
  Bindings b = bind({{x, {3, 4}}});
  RewriteStats stats;
  std::vector<Var> out =
      canon({mul(x, lit(1)), mul(lit(1), x), add(x, lit(0)), add(ilit(0), x),
             sub(x, lit(0)), true_div(x, lit(1)), pow(x, lit(1))},
            b, &stats);
  for (const Var& o : out) EXPECT_TRUE(o.same(x));
  EXPECT_EQ(stats.count("mul_one"), 2);
  EXPECT_EQ(stats.count("add_zero"), 2);
  EXPECT_EQ(stats.count("sub_zero"), 1);
  EXPECT_EQ(stats.count("div_one"), 1);
  EXPECT_EQ(stats.count("pow_one"), 1);
}

TEST(Canonicalize, NeutralElementsKeepDtypeAndBroadcastShape) {
  Var x = input(DType::Float32, {-1}, "x");
  Bindings b = bind({{x, {4}}});
  RewriteStats stats;
  // A strong float64 one makes the result float64: x is cast, not returned.
  Var up = canon1(mul(x, cst(1, DType::Float64)), b, &stats);
  EXPECT_EQ(op_names({up}), Names{"Elemwise{cast{float64}}"});
  // A constant that adds dims keeps its broadcast.
  Var ones34 =
      make_constant(NDArray::from_vector<double>(std::vector<double>(12, 1.0), {3, 4}));
  RewriteStats stats2;
  Var wide = canon1(mul(x, ones34), b, &stats2);
  EXPECT_EQ(stats2.count("mul_one"), 0);
  EXPECT_EQ(wide->type.shape, (Shape{3, 4}));
  // An integer divided by one is a float; integer // 1 is the integer.
  Var i = input(DType::Int32, {-1}, "i");
  Bindings bi = bind({{i, {5}}});
  RewriteStats stats3;
  std::vector<Var> outs =
      canon({true_div(i, ilit(1)), int_div(i, ilit(1)), int_div(x, lit(1))},
            {{i.get(), bi[i.get()]}, {x.get(), b[x.get()]}}, &stats3);
  EXPECT_EQ(op_names({outs[0]}), Names{"Elemwise{cast{float64}}"});
  EXPECT_TRUE(outs[1].same(i));
  EXPECT_EQ(op_names({outs[2]}), Names{"Elemwise{int_div}"});  // floor for floats
  EXPECT_EQ(stats3.count("div_one"), 2);
}

TEST(Canonicalize, MulByZeroOnlyForIntegers) {
  Var i = input(DType::Int16, {3, 4}, "i"), u = input(DType::Int64, {-1, 4}, "u");
  Var x = input(DType::Float64, {3, 4}, "x");
  Bindings b = bind({{i, {3, 4}}, {u, {2, 4}}, {x, {3, 4}}});
  b[x.get()].set_item_double(0, std::numeric_limits<double>::infinity());
  RewriteStats stats;
  std::vector<Var> out =
      canon({mul(i, ilit(0)), mul(ilit(0), u), mul(x, lit(0))}, b, &stats);
  EXPECT_EQ(stats.count("mul_zero"), 2);
  EXPECT_TRUE(out[0]->is_constant());  // shape known: folded
  EXPECT_EQ(op_names({out[1]}), Names{"Fill"});
  EXPECT_EQ(op_names({out[2]}), Names{"Elemwise{mul}"});  // inf * 0 is NaN
}

TEST(Canonicalize, PowZeroIsOneEvenForNaN) {
  Var x = input(DType::Float32, {-1}, "x");
  Var k = input(DType::Bool, {-1}, "k");
  Bindings b = bind({{x, {5}}, {k, {5}}});
  b[x.get()].set_item_double(1, std::nan(""));
  b[x.get()].set_item_double(2, -std::numeric_limits<double>::infinity());
  RewriteStats stats;
  std::vector<Var> out = canon({pow(x, lit(0)), pow(k, ilit(0))}, b, &stats);
  EXPECT_EQ(stats.count("pow_zero"), 2);
  EXPECT_EQ(count_kind(out, "Elemwise"), 0);
  EXPECT_EQ(count_kind(out, "Fill"), 2);
  EXPECT_EQ(values(evaluate(out, b)[0]), std::vector<double>(5, 1.0));
}

TEST(Canonicalize, SubSelfOnlyForIntegers) {
  Var i = input(DType::Int32, {-1}, "i"), x = input(DType::Float64, {-1}, "x");
  Bindings b = bind({{i, {4}}, {x, {4}}});
  b[x.get()].set_item_double(0, std::numeric_limits<double>::infinity());
  RewriteStats stats;
  std::vector<Var> out = canon({sub(i, i), sub(x, x)}, b, &stats);
  EXPECT_EQ(stats.count("sub_self"), 1);
  EXPECT_EQ(op_names({out[0]}), Names{"Fill"});
  EXPECT_EQ(op_names({out[1]}), Names{"Elemwise{sub}"});  // inf - inf is NaN
}

// ---- negation -----------------------------------------------------------------------

TEST(Canonicalize, DoubleNegation) {
  Var x = input(DType::Int8, {-1}, "x");
  RewriteStats stats;
  Var out = canon1(exp(neg(neg(x))), bind({{x, {6}}}), &stats);
  EXPECT_EQ(stats.count("neg_neg"), 1);
  EXPECT_TRUE(out->owner->inputs[0].same(x));
}

TEST(Canonicalize, NegationFoldsIntoAConstantFactor) {
  Var x = input(DType::Float32, {-1, 3}, "x");
  Bindings b = bind({{x, {2, 3}}});
  RewriteStats stats;
  Var out = canon1(neg(mul(lit(3), x)), b, &stats);
  EXPECT_EQ(stats.count("neg_mul_constant"), 1);
  EXPECT_EQ(op_names({out}), Names{"Elemwise{mul}"});
  EXPECT_EQ(out->owner->inputs[1]->constant_value.item_double(), -3);
  // A product used elsewhere stays, and so does its negation.
  Var p = mul(x, lit(3));
  RewriteStats stats2;
  canon({neg(p), p}, b, &stats2);
  EXPECT_EQ(stats2.count("neg_mul_constant"), 0);
  // x * -1 -> -x
  RewriteStats stats3;
  Var n = canon1(mul(x, lit(-1)), b, &stats3);
  EXPECT_EQ(stats3.count("mul_neg_one"), 1);
  EXPECT_EQ(op_names({n}), Names{"Elemwise{neg}"});
}

TEST(Canonicalize, AddingANegationSubtracts) {
  Var a = input(DType::Float64, {-1, 1}, "a"), c = input(DType::Float64, {-1}, "c");
  Bindings b = bind({{a, {3, 1}}, {c, {4}}});
  RewriteStats stats;
  std::vector<Var> out =
      canon({add(a, neg(c)), add(neg(c), a), sub(a, neg(c))}, b, &stats);
  EXPECT_EQ(stats.count("add_neg"), 2);
  EXPECT_EQ(stats.count("sub_neg"), 1);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{sub}"});
  EXPECT_EQ(op_names({out[2]}), Names{"Elemwise{add}"});
  EXPECT_EQ(count_kind(out, "Elemwise"), 2);  // a - c merged, and a + c
  // -u wraps in uint8 (-5 is 251) before the int16 sum reads it: it stays.
  Var i = input(DType::Int16, {-1}, "i"), u = input(DType::UInt8, {-1}, "u");
  RewriteStats stats2;
  canon({add(i, neg(u)), sub(i, neg(u))}, bind({{i, {4}}, {u, {4}}}), &stats2);
  EXPECT_EQ(stats2.count("add_neg") + stats2.count("sub_neg"), 0);
}

// ---- constants
// -------------------------------------------------------------------------

TEST(Canonicalize, ConstantsOfAddAndMulChainsCollect) {
  Var a = input(DType::Float32, {-1}, "a");
  Bindings b = bind({{a, {5}}});
  RewriteStats stats;
  std::vector<Var> out = canon({add(add(add(a, lit(1)), lit(2)), lit(3)),
                                mul(lit(4), mul(mul(a, lit(2)), lit(3)))},
                               b, &stats);
  EXPECT_EQ(stats.count("collect_constants"), 4);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{add}"});
  EXPECT_EQ(out[0]->owner->inputs[1]->constant_value.item_double(), 6);
  EXPECT_EQ(out[0]->owner->inputs[1]->type.dtype, DType::Float32);
  EXPECT_EQ(op_names({out[1]}), Names{"Elemwise{mul}"});
  EXPECT_EQ(out[1]->owner->inputs[1]->constant_value.item_double(), 24);
}

TEST(Canonicalize, LongChainsCollapseInOneRewrite) {
  Var a = input(DType::Float64, {-1}, "a");
  Var y = a;
  for (int k = 1; k <= 20; ++k) y = add(y, lit(k));
  RewriteStats stats;
  Var out = canon1(y, bind({{a, {4}}}), &stats);
  EXPECT_EQ(op_names({out}), Names{"Elemwise{add}"});
  EXPECT_EQ(out->owner->inputs[1]->constant_value.item_double(), 210);
}

TEST(Canonicalize, CollectedIntegerConstantsWrapAsTheGraphDid) {
  Var a = input(DType::Int8, {-1}, "a");
  Bindings b = bind({{a, {6}}});
  RewriteStats stats;
  Var out = canon1(add(add(a, ilit(100)), ilit(100)), b, &stats);
  EXPECT_EQ(stats.count("collect_constants"), 1);
  EXPECT_EQ(out->owner->inputs[1]->constant_value.item_int(), -56);
}

TEST(Canonicalize, ConstantsStayWhereCollectingWouldChangeTypesOrDuplicateWork) {
  Var a = input(DType::Float32, {-1}, "a");
  Bindings b = bind({{a, {5}}});
  RewriteStats stats;
  // The inner sum is float32, the outer float64: no common dtype to combine in.
  canon({add(add(a, lit(1)), cst(2, DType::Float64))}, b, &stats);
  // The inner sum has another use.
  Var inner = add(a, lit(1));
  canon({add(inner, lit(2)), inner}, b, &stats);
  EXPECT_EQ(stats.count("collect_constants"), 0);
}

TEST(Canonicalize, CollectingKeepsTheBroadcastOfBothConstants) {
  Var a = input(DType::Float64, {-1, 1}, "a");
  Var c1 = make_constant(NDArray::from_vector<double>({1, 2, 3}, {3}));
  Var c2 = make_constant(NDArray::from_vector<double>({10}, {1, 1}));
  RewriteStats stats;
  Var out = canon1(add(add(a, c1), c2), bind({{a, {2, 1}}}), &stats);
  EXPECT_EQ(stats.count("collect_constants"), 1);
  EXPECT_EQ(out->type.shape, (Shape{-1, 3}));
}

TEST(Canonicalize, DivisionByAConstantMultipliesByItsReciprocal) {
  Var x = input(DType::Float32, {-1}, "x"), i = input(DType::Int32, {-1}, "i");
  Bindings b = bind({{x, {5}}, {i, {5}}});
  RewriteStats stats;
  std::vector<Var> out = canon(
      {true_div(x, lit(4)), true_div(i, ilit(8)), true_div(true_div(x, lit(2)), lit(5))},
      b, &stats);
  EXPECT_EQ(stats.count("div_to_mul"), 4);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{mul}"});
  EXPECT_EQ(out[0]->owner->inputs[1]->constant_value.item_double(), 0.25);
  EXPECT_EQ(out[0]->owner->inputs[1]->type.dtype, DType::Float32);
  EXPECT_EQ(out[1]->type.dtype, DType::Float64);
  EXPECT_EQ(op_names({out[2]}), Names{"Elemwise{mul}"});  // x * 0.1 after collecting
}

TEST(Canonicalize, DivisionStaysWhereTheReciprocalIsNotNormal) {
  Var x = input(DType::Float64, {-1}, "x"), y = input(DType::Float32, {-1}, "y");
  Bindings b = bind({{x, {4}}, {y, {4}}});
  RewriteStats stats;
  std::vector<Var> out = canon({true_div(x, lit(0)), true_div(x, lit(1e-310)),
                                true_div(x, lit(1e308 * 10)), true_div(y, lit(1e-39))},
                               b, &stats);
  EXPECT_EQ(stats.count("div_to_mul"), 0);
}

TEST(Canonicalize, SmallPowersBecomeMultiplications) {
  Var x = input(DType::Float64, {-1}, "x");
  Bindings b = bind({{x, {6}}});
  b[x.get()] = arr<double>({0.5, 2, 3.5, 0, 9, 1e-3}, {6});
  RewriteStats stats;
  std::vector<Var> out = canon({pow(x, ilit(2)), pow(x, ilit(3)), pow(x, lit(0.5)),
                                pow(x, ilit(-1)), pow(x, lit(4))},
                               b, &stats, 1e-12);
  EXPECT_EQ(stats.count("pow_to_mul"), 3);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{sqr}"});
  EXPECT_EQ(op_names({out[1]}), (Names{"Elemwise{sqr}", "Elemwise{mul}"}));
  // Not sqrt: (-inf) ** 0.5 is inf where sqrt(-inf) is NaN.
  EXPECT_EQ(op_names({out[2]}), Names{"Elemwise{pow}"});
  EXPECT_EQ(op_names({out[3]}), Names{"Elemwise{true_div}"});
  EXPECT_EQ(op_names({out[4]}), Names{"Elemwise{pow}"});
}

TEST(Canonicalize, IntegerPowersKeepDtypeWrapAndErrors) {
  Var i = input(DType::Int32, {-1}, "i");
  Bindings b{{i.get(), arr<int32_t>({100000, -3, 7, 46341}, {4})}};
  RewriteStats stats;
  // i ** 2 wraps in int32 as sqr does; i ** 2.0 is computed in float64.
  std::vector<Var> out =
      canon({pow(i, ilit(2)), pow(i, lit(2.0)), pow(i, ilit(3))}, b, &stats);
  EXPECT_EQ(stats.count("pow_to_mul"), 3);
  EXPECT_EQ(op_names({out[1]}), (Names{"Elemwise{cast{float64}}", "Elemwise{sqr}"}));
  // An integer to the power -1 is an error at run time, and stays one.
  RewriteStats stats2;
  Var inv = rewrite({pow(i, ilit(-1))}, canonicalize_rules(), &stats2)[0];
  EXPECT_EQ(stats2.count("pow_to_mul"), 0);
  expect_error<ValueError>([&] { evaluate({inv}, b); }, {"negative integer powers"});
}

// ---- casts
// -----------------------------------------------------------------------------

TEST(Canonicalize, CastsThroughALosslessDtypeCollapse) {
  Var i = input(DType::Int8, {-1}, "i"), x = input(DType::Float64, {-1}, "x");
  Bindings b = bind({{i, {5}}, {x, {5}}});
  b[x.get()].set_item_double(0, 1.0 + 1e-12);
  RewriteStats stats;
  std::vector<Var> out = canon({cast(cast(i, DType::Int32), DType::Float64),
                                cast(cast(i, DType::Int32), DType::Int8),
                                cast(cast(x, DType::Float32), DType::Float64)},
                               b, &stats, 0);
  EXPECT_EQ(stats.count("cast_cast"), 2);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{cast{float64}}"});
  EXPECT_TRUE(out[1].same(i));
  EXPECT_EQ(op_names({out[2]}).size(), 2u);  // float32 rounds: both casts stay
}

TEST(Canonicalize, CastToTheSameDtypeGoes) {
  Var x = input(DType::Float32, {-1}, "x");
  Var c = make_node1(std::make_shared<Elemwise>(scalar_op("cast").id, DType::Float32),
                     {x}, SourceLoc());
  RewriteStats stats;
  EXPECT_TRUE(canon1(c, bind({{x, {3}}}), &stats).same(x));
  EXPECT_EQ(stats.count("useless_cast"), 1);
}

// ---- views and shapes ----------------------------------------------------------------

TEST(Canonicalize, DimshuffleChainsCollapse) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var r = input(DType::Float64, {1, -1}, "r");
  Bindings b = bind({{x, {2, 3}}, {r, {1, 4}}});
  RewriteStats stats;
  std::vector<Var> out =
      canon({transpose(transpose(x)), dimshuffle(dimshuffle(x, {1, -1, 0}), {2, 1, 0}),
             dimshuffle(dimshuffle(r, {1}), {-1, 0})},
            b, &stats);
  EXPECT_EQ(stats.count("dimshuffle_dimshuffle"), 3);
  EXPECT_TRUE(out[0].same(x));
  EXPECT_EQ(op_names({out[1]}), Names{"DimShuffle{0,x,1}"});
  EXPECT_EQ(op_names({out[2]}), Names{"DimShuffle{x,1;ndim=2}"});
  // An identity pattern built directly goes too.
  RewriteStats stats2;
  EXPECT_TRUE(canon1(dimshuffle(x, {0, 1}), b, &stats2).same(x));
  EXPECT_EQ(stats2.count("useless_dimshuffle"), 1);
}

TEST(Canonicalize, ReshapeChainsCollapseWhenTheInnerOneCannotFail) {
  Var k = input(DType::Float32, {3, 4}, "k"), x = input(DType::Float32, {-1, -1}, "x");
  Bindings b = bind({{k, {3, 4}}, {x, {3, 4}}});
  RewriteStats stats;
  std::vector<Var> out =
      canon({reshape(reshape(k, std::vector<int64_t>{12}), std::vector<int64_t>{4, 3}),
             reshape(reshape(x, std::vector<int64_t>{-1}), std::vector<int64_t>{2, -1}),
             reshape(flatten(x, 1), std::vector<int64_t>{6, 2})},
            b, &stats);
  EXPECT_EQ(stats.count("reshape_reshape"), 3);
  for (const Var& o : out) EXPECT_EQ(count_kind({o}, "Reshape"), 1);
  // reshape(x, (5, -1)) fails for 12 elements; dropping it would hide that.
  RewriteStats stats2;
  Var kept = rewrite(
      {reshape(reshape(x, std::vector<int64_t>{5, -1}), std::vector<int64_t>{-1})},
      canonicalize_rules(), &stats2)[0];
  EXPECT_EQ(stats2.count("reshape_reshape"), 0);
  expect_error<ShapeError>([&] { evaluate({kept}, b); }, {"cannot reshape"});
}

TEST(Canonicalize, ReshapeToTheOwnShapeGoes) {
  Var x = input(DType::Float64, {-1, 4}, "x"), k = input(DType::Float64, {3, 4}, "k");
  Bindings b = bind({{x, {2, 4}}, {k, {3, 4}}});
  RewriteStats stats;
  std::vector<Var> out = canon(
      {reshape(x, shape(x), 2),
       reshape(x, make_vector({shape_i(x, 0), cst(4, DType::Int64)}, DType::Int64), 2),
       reshape(x, std::vector<int64_t>{-1, 4}), reshape(k, std::vector<int64_t>{3, 4}),
       flatten(k, 2)},
      b, &stats);
  for (size_t n = 0; n < out.size(); ++n)
    EXPECT_EQ(count_kind({out[n]}, "Reshape"), 0) << n;
  EXPECT_GE(stats.count("useless_reshape"), 5);
  // With an unknown dim beside the -1 (it may be 0 at run time) the reshape stays.
  Var y = input(DType::Float64, {-1, -1}, "y");
  RewriteStats stats2;
  rewrite(
      {reshape(y, make_vector({cst(-1, DType::Int64), shape_i(y, 1)}, DType::Int64), 2)},
      canonicalize_rules(), &stats2);
  EXPECT_EQ(stats2.count("useless_reshape"), 0);
}

TEST(Canonicalize, KnownShapesBecomeConstants) {
  Var x = input(DType::Float32, {-1, 4}, "x");
  Bindings b = bind({{x, {3, 4}}});
  RewriteStats stats;
  std::vector<Var> out = canon({shape_i(x, 1), subtensor(shape(x), {idx(int64_t{-1})}),
                                subtensor(shape(x), {idx(int64_t{0})}), shape(x)},
                               b, &stats);
  EXPECT_GE(stats.count("shape_i_constant"), 1);
  EXPECT_TRUE(out[0]->is_constant());
  EXPECT_TRUE(out[1]->is_constant());
  EXPECT_EQ(out[1]->constant_value.item_int(), 4);
  EXPECT_EQ(op_names({out[2]}), Names{"Shape_i{0}"});
  EXPECT_EQ(op_names({out[3]}), (Names{"Shape_i{0}", "MakeVector{dtype=int64}"}));
  EXPECT_GE(stats.count("shape_known_dims"), 1);
  EXPECT_GE(stats.count("subtensor_make_vector"), 2);
  // Fully known: a constant vector.
  Var k = input(DType::Float32, {2, 5}, "k");
  RewriteStats stats2;
  EXPECT_TRUE(canon1(shape(k), bind({{k, {2, 5}}}), &stats2)->is_constant());
  // Nothing known: shape(y)[i] is shape_i.
  Var y = input(DType::Float32, {-1, -1}, "y");
  RewriteStats stats3;
  Var s1 = canon1(subtensor(shape(y), {idx(int64_t{1})}), bind({{y, {2, 3}}}), &stats3);
  EXPECT_EQ(stats3.count("shape_subtensor"), 1);
  EXPECT_EQ(op_names({s1}), Names{"Shape_i{1}"});
}

TEST(Canonicalize, ShapesOfElemwiseResultsAreTheirOperands) {
  Var w = input(DType::Float32, {-1, -1}, "w"), r = input(DType::Float32, {1, 4}, "r");
  Var w4 = input(DType::Float32, {-1, 4}, "w4"), i = input(DType::Int32, {-1}, "i");
  Bindings b = bind({{w, {3, 4}}, {r, {1, 4}}, {w4, {2, 4}}, {i, {3}}});
  RewriteStats stats;
  std::vector<Var> out = canon({shape_i(sqr(tanh(w)), 1), shape_i(add(r, w4), 0),
                                shape_i(transpose(exp(w)), 0), shape_i(add(w4, r), 1)},
                               b, &stats);
  EXPECT_EQ(op_names({out[0]}), Names{"Shape_i{1}"});
  EXPECT_TRUE(out[0]->owner->inputs[0].same(w));
  EXPECT_TRUE(out[1]->owner->inputs[0].same(w4));  // r's 1 broadcasts
  EXPECT_EQ(op_names({out[2]}), Names{"Shape_i{1}"});
  EXPECT_TRUE(out[2]->owner->inputs[0].same(w));
  EXPECT_TRUE(out[3]->is_constant());
  EXPECT_GE(stats.count("shape_i_lift"), 5);
  // Operands that may fail to broadcast, and an integer pow (an error for
  // negative exponents), keep their node.
  Var v = input(DType::Float32, {-1, -1}, "v");
  RewriteStats stats2;
  std::vector<Var> kept = rewrite({shape_i(add(w, v), 0), shape_i(pow(i, i), 0)},
                                  canonicalize_rules(), &stats2);
  EXPECT_EQ(stats2.count("shape_i_lift"), 0);
  EXPECT_EQ(count_kind(kept, "Elemwise"), 2);
}

TEST(Canonicalize, NegationsLeaveSums) {
  Var x = input(DType::Float64, {-1, -1}, "x"), c = input(DType::Float64, {1, -1}, "c");
  Var k = input(DType::Int8, {-1}, "k");
  Bindings b = bind({{x, {3, 4}}, {c, {1, 4}}, {k, {5}}});
  RewriteStats stats;
  std::vector<Var> out = canon(
      {neg(sum_to(neg(x), c)), sum(neg(x), std::vector<int>{0}), sum(neg(k))}, b, &stats);
  EXPECT_EQ(stats.count("neg_out_of_sum"), 2);
  EXPECT_EQ(op_names({out[0]}), Names{"SumTo"});  // the two negations cancel
  EXPECT_EQ(op_names({out[1]}),
            (Names{"Sum{axis=(0,), keepdims=False}", "Elemwise{neg}"}));
  // -k wraps in int8 before the int64 sum: it stays.
  EXPECT_EQ(op_names({out[2]}),
            (Names{"Elemwise{neg}", "Sum{axis=None, keepdims=False}"}));
}

TEST(Canonicalize, UselessSubtensorsGo) {
  Var x = input(DType::Float64, {3, -1}, "x");
  Bindings b = bind({{x, {3, 5}}});
  RewriteStats stats;
  std::vector<Var> out = canon(
      {subtensor(x, {slice()}), subtensor(x, {slice(0, 3), slice({}, {}, 1)}),
       subtensor(x, {slice(0, 100)}), subtensor(x, {slice(), slice(0, shape_i(x, 1))}),
       subtensor(x, {slice(0, 2)}), subtensor(x, {slice(), slice(0, 4)})},
      b, &stats);
  for (int n = 0; n < 4; ++n) EXPECT_TRUE(out[n].same(x)) << n;
  EXPECT_EQ(stats.count("useless_subtensor"), 4);
  EXPECT_EQ(count_kind({out[4]}, "Subtensor"), 1);
  EXPECT_EQ(count_kind({out[5]}, "Subtensor"), 1);  // dim 1 may be longer than 4
}

TEST(Canonicalize, UselessAllocGoesButABroadcastingOneStays) {
  Var x = input(DType::Float32, {-1, 4}, "x"), v = input(DType::Float32, {-1}, "v");
  Bindings b = bind({{x, {2, 4}}, {v, {1}}});
  RewriteStats stats;
  std::vector<Var> out = canon(
      {alloc(x, {shape_i(x, 0), cst(4, DType::Int64)}), alloc(v, {cst(5, DType::Int64)})},
      b, &stats);
  EXPECT_EQ(stats.count("useless_alloc"), 1);
  EXPECT_TRUE(out[0].same(x));
  EXPECT_EQ(op_names({out[1]}), Names{"Alloc"});  // v of length 1 broadcasts to 5
}

TEST(Canonicalize, AllocsOfTheOperandsShapeSinkIntoTheElemwise) {
  Var w = input(DType::Float32, {-1, -1}, "w"), g = input(DType::Float32, {}, "g");
  Var v = input(DType::Float32, {-1, -1}, "v");
  Bindings b = bind({{w, {3, 4}}, {g, {}}, {v, {3, 4}}});
  // The gradient of sum(c * w ** 2) in w, as grad writes it.
  Var a = alloc(g, {shape_i(w, 0), shape_i(w, 1)});
  RewriteStats stats;
  std::vector<Var> out =
      canon({mul(mul(a, lit(2)), w), sum_to(mul(mul(a, lit(2)), w), w)}, b, &stats);
  EXPECT_EQ(stats.count("alloc_lift"), 1);
  EXPECT_GE(stats.count("alloc_sink"), 1);
  EXPECT_EQ(stats.count("useless_sum_to"), 1);
  EXPECT_EQ(count_kind(out, "Alloc"), 0);
  EXPECT_EQ(count_kind(out, "SumTo"), 0);
  EXPECT_TRUE(out[0].same(out[1]));
  // An alloc to v's shape does not sink into an op with w: only w's dims are
  // known to match w, and v may differ (the alloc's failure must stay).
  RewriteStats stats2;
  Var kept = rewrite({mul(alloc(g, {shape_i(v, 0), shape_i(v, 1)}), w)},
                     canonicalize_rules(), &stats2)[0];
  EXPECT_EQ(stats2.count("alloc_sink"), 0);
  EXPECT_EQ(count_kind({kept}, "Alloc"), 1);
  // An alloc with another use is not lifted (that would allocate twice).
  RewriteStats stats3;
  Var a2 = alloc(g, {shape_i(v, 0), shape_i(v, 1)});
  canon({mul(a2, lit(2)), a2}, b, &stats3);
  EXPECT_EQ(stats3.count("alloc_lift"), 0);
}

TEST(Canonicalize, SumToOfASameShapedGradientGoesButABroadcastOneStays) {
  Var w = input(DType::Float64, {-1, -1}, "w"), r = input(DType::Float64, {-1, -1}, "r");
  Bindings b = bind({{w, {3, 4}}, {r, {1, 4}}});
  RewriteStats stats;
  std::vector<Var> out = canon({sum_to(exp(w), w), sum_to(add(w, r), r)}, b, &stats);
  EXPECT_EQ(stats.count("useless_sum_to"), 1);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{exp}"});
  EXPECT_EQ(count_kind({out[1]}, "SumTo"), 1);  // r is (1, 4) here: it sums
}

TEST(Canonicalize, FillsOfShapesTheOperandsHaveGo) {
  Var m = input(DType::Float64, {3, 4}, "m"), v = input(DType::Float64, {3, 4}, "v");
  Var y = input(DType::Float64, {3, 4}, "y"), z = input(DType::Float64, {-1, 4}, "z");
  Bindings b = bind({{m, {3, 4}}, {v, {3, 4}}, {y, {3, 4}}, {z, {3, 4}}});
  RewriteStats stats;
  std::vector<Var> out =
      canon({fill(m, v), mul(fill(m, lit(2)), y), mul(fill(m, lit(2)), z)}, b, &stats);
  EXPECT_EQ(stats.count("useless_fill"), 1);
  EXPECT_TRUE(out[0].same(v));
  EXPECT_EQ(stats.count("fill_sink"), 1);
  EXPECT_EQ(op_names({out[1]}), Names{"Elemwise{mul}"});
  // z's first dim is unknown: the fill's 3 is what checks it, so the fill stays.
  EXPECT_EQ(count_kind({out[2]}, "Fill"), 1);
}

TEST(Canonicalize, ReductionsOverNoAxesAreTheirInput) {
  Var x = input(DType::Int8, {-1, 3}, "x"), f = input(DType::Float32, {-1}, "f");
  Bindings b = bind({{x, {2, 3}}, {f, {4}}});
  RewriteStats stats;
  std::vector<Var> out =
      canon({sum(x, std::vector<int>{}), max(f, std::vector<int>{}),
             mean(x, std::vector<int>{}, true), any(f, std::vector<int>{}), sum(sum(f))},
            b, &stats);
  EXPECT_EQ(stats.count("reduce_no_axes"), 5);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{cast{int64}}"});
  EXPECT_TRUE(out[1].same(f));
  EXPECT_EQ(op_names({out[4]}), Names{"Sum{axis=None, keepdims=False}"});
}

// ---- the phase as a whole
// ---------------------------------------------------------------

TEST(Canonicalize, RewrittenNodesKeepTheUsersLocation) {
  Var a = input(DType::Float64, {-1}, "a");
  Var y = add(add(a, lit(1)), lit(2));
  const int line = y->owner->loc.line;
  RewriteStats stats;
  Var out = canon1(y, bind({{a, {3}}}), &stats);
  EXPECT_EQ(stats.count("collect_constants"), 1);
  EXPECT_EQ(out->owner->loc.line, line);
}

TEST(Canonicalize, FunctionRunsTheRulesAndAgreesWithTheUnoptimizedGraph) {
  Var x = input(DType::Float32, {-1, 3}, "x");
  Var y = neg(neg(exp(true_div(add(add(mul(x, lit(1)), lit(2)), lit(3)), lit(2)))));
  Var z = pow(transpose(transpose(y)), ilit(2));
  Function opt = function({x}, {z});
  FunctionOptions no_opt;
  no_opt.mode = "NO_OPTIMIZATION";
  Function raw = function({x}, {z}, {}, no_opt);
  NDArray xv = random_array(DType::Float32, {4, 3}, 3, 2.0);
  expect_close(opt({xv}).at(0), raw({xv}).at(0), 1e-6, "z");
  const auto& fired = opt.rewrite_stats();
  for (const char* rule : {"mul_one", "collect_constants", "div_to_mul", "neg_neg",
                           "dimshuffle_dimshuffle", "pow_to_mul"})
    EXPECT_GE(fired.count(rule) ? fired.at(rule) : 0, 1) << rule;
}

}  // namespace
}  // namespace theanine
