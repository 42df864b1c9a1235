// The stabilize rules (passes/stabilize.cc): each fires on its pattern and
// leaves the graph it promises; on ordinary inputs the rewritten graph computes
// what the original did, and where the original overflows, underflows or
// rounds (logits near +-1000, log(1 + 1e-20)) the rewritten one is finite and
// accurate, gradients included.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/nnet.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "passes/pipeline.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::arr;
using testing::count_kind;
using testing::eval1;
using testing::expect_close;
using testing::input;
using testing::lit;
using testing::op_names;
using testing::random_array;
using testing::rewrite_and_compare;
using testing::values;

using V = std::vector<double>;
using Names = std::vector<std::string>;

// Stabilizes `outs`, checks each output keeps its dtype and ndim, and that both
// graphs agree on `b` (ordinary values, where the naive graph is accurate).
std::vector<Var> stab(const std::vector<Var>& outs, const Bindings& b,
                      RewriteStats* stats, double tol = 1e-12) {
  return rewrite_and_compare(outs, stabilize_rules(), b, stats, tol);
}

bool all_finite(const NDArray& a) {
  for (int64_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a.item_double(i))) return false;
  return true;
}

// ---- log of softmax ----------------------------------------------------------------

TEST(Stabilize, LogOfSoftmaxBecomesLogSoftmax) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var l = log(softmax(x));
  RewriteStats stats;
  Var out =
      stab({l}, {{x.get(), random_array(DType::Float64, {3, 4}, 1, 2.0)}}, &stats)[0];
  EXPECT_EQ(stats.count("log_softmax"), 1);
  EXPECT_EQ(op_names({out}), Names{"LogSoftmax{axis=1}"});
  // Near +-1000 the naive graph takes the log of an underflowed 0.
  Bindings big{{x.get(), arr<double>({1000, 0, -1000}, {1, 3})}};
  EXPECT_FALSE(all_finite(evaluate({l}, big)[0]));
  EXPECT_EQ(values(evaluate({out}, big)[0]), (V{0, -1000, -2000}));
}

TEST(Stabilize, LogOfSoftmaxGradientStaysFinite) {
  Var x = input(DType::Float64, {-1, 3}, "x");
  Var w = make_constant(arr<double>({1, 2, 3}, {3}));
  Var g = grad(sum(mul(log(softmax(x)), w)), x);
  RewriteStats stats;
  Var out =
      stab({g}, {{x.get(), random_array(DType::Float64, {2, 3}, 2, 2.0)}}, &stats)[0];
  EXPECT_EQ(stats.count("log_softmax_grad"), 1);
  EXPECT_EQ(count_kind({out}, "SoftmaxGrad"), 0);
  // d/dx sum(w * log_softmax(x)) = w - sum(w) * softmax(x).
  Bindings big{{x.get(), arr<double>({1000, 0, -1000}, {1, 3})}};
  EXPECT_FALSE(all_finite(evaluate({g}, big)[0]));
  EXPECT_EQ(values(evaluate({out}, big)[0]), (V{1 - 6, 2, 3}));
}

TEST(Stabilize, LogSoftmaxGradBroadcastsAnOutputGradientOfOneColumn) {
  // g / sm with g of one column: the sum over the axis must count each column.
  Var x = input(DType::Float64, {2, 3}, "x");
  Var g = input(DType::Float64, {2, 1}, "g");
  Var sm = softmax(x);
  Var dx = softmax_grad(true_div(g, sm), sm, 1);
  RewriteStats stats;
  stab({dx},
       {{x.get(), random_array(DType::Float64, {2, 3}, 3, 2.0)},
        {g.get(), random_array(DType::Float64, {2, 1}, 4, 2.0)}},
       &stats);
  EXPECT_EQ(stats.count("log_softmax_grad"), 1);
}

// ---- softmax written by hand ----------------------------------------------------------

TEST(Stabilize, SoftmaxByHandIsRecognized) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  std::vector<int> ax{1};
  Var e = exp(sub(x, max(x, ax, true)));
  Var p = true_div(e, sum(e, ax, true));
  // Without keepdims, a dimshuffle puts the axis back; and without the shift.
  Var e0 = exp(sub(x, dimshuffle(max(x, std::vector<int>{0}), {-1, 0})));
  Var p0 = true_div(e0, dimshuffle(sum(e0, std::vector<int>{0}), {-1, 0}));
  Var e2 = exp(x);
  Var p2 = true_div(e2, sum(e2, ax, true));
  RewriteStats stats;
  std::vector<Var> out =
      stab({p, p0, p2, log(p)}, {{x.get(), random_array(DType::Float64, {3, 4}, 5, 2.0)}},
           &stats);
  EXPECT_EQ(stats.count("softmax_by_hand"), 3);
  EXPECT_EQ(op_names({out[0]}), Names{"Softmax{axis=1}"});
  EXPECT_EQ(op_names({out[1]}), Names{"Softmax{axis=0}"});
  EXPECT_TRUE(out[2].same(out[0]));
  EXPECT_EQ(op_names({out[3]}), Names{"LogSoftmax{axis=1}"});
  Bindings big{{x.get(), arr<double>({1000, 0, -1000}, {1, 3})}};
  EXPECT_FALSE(all_finite(evaluate({log(p), p2}, big)[1]));
  EXPECT_EQ(values(evaluate({out[3]}, big)[0]), (V{0, -1000, -2000}));
  EXPECT_EQ(values(evaluate({out[2]}, big)[0]), (V{1, 0, 0}));
}

TEST(Stabilize, SoftmaxByHandNeedsTheSameAxisAndExp) {
  Var x = input(DType::Float64, {3, 4}, "x");
  Var e = exp(x);
  RewriteStats stats;
  stab({true_div(e, sum(e, std::vector<int>{0}, true)),  // axis 0 sum, but fine
        true_div(e, sum(e, std::vector<int>{0, 1}, true)),
        true_div(e, sum(exp(mul(x, lit(2))), std::vector<int>{1}, true))},
       {{x.get(), random_array(DType::Float64, {3, 4}, 6, 2.0)}}, &stats);
  EXPECT_EQ(stats.count("softmax_by_hand"), 1);
}

TEST(Stabilize, LogSoftmaxByHandIsRecognized) {
  Var x = input(DType::Float32, {-1, -1}, "x");
  std::vector<int> ax{1};
  Var s = sub(x, max(x, ax, true));
  Var l = sub(s, log(sum(exp(s), ax, true)));
  RewriteStats stats;
  Var out = stab({l}, {{x.get(), random_array(DType::Float32, {3, 4}, 7, 2.0)}}, &stats,
                 1e-6)[0];
  EXPECT_EQ(stats.count("log_softmax_by_hand"), 1);
  EXPECT_EQ(op_names({out}), Names{"LogSoftmax{axis=1}"});
}

// ---- sigmoid ------------------------------------------------------------------------

TEST(Stabilize, LogOfSigmoidIsMinusSoftplus) {
  Var x = input(DType::Float64, {-1}, "x");
  Var a = log(sigmoid(x));
  Var b = log(sub(lit(1), sigmoid(x)));
  RewriteStats stats;
  std::vector<Var> out =
      stab({a, b}, {{x.get(), random_array(DType::Float64, {5}, 8, 2.0)}}, &stats);
  EXPECT_EQ(stats.count("log_sigmoid"), 2);
  EXPECT_EQ(stats.count("one_minus_sigmoid"), 1);
  EXPECT_EQ(op_names({out[0]}),
            (Names{"Elemwise{neg}", "Elemwise{softplus}", "Elemwise{neg}"}));
  EXPECT_EQ(op_names({out[1]}), (Names{"Elemwise{softplus}", "Elemwise{neg}"}));
  Bindings big{{x.get(), arr<double>({-1000, 1000, 40}, {3})}};
  std::vector<NDArray> naive = evaluate({a, b}, big), fixed = evaluate(out, big);
  EXPECT_FALSE(all_finite(naive[0]));
  EXPECT_FALSE(all_finite(naive[1]));
  EXPECT_EQ(values(fixed[0])[0], -1000.0);
  EXPECT_EQ(values(fixed[1])[1], -1000.0);
  EXPECT_NEAR(values(fixed[1])[2], -40, 1e-15);
  EXPECT_NEAR(values(fixed[0])[2], -std::exp(-40.0), 1e-30);  // naive: 0
}

TEST(Stabilize, OneMinusSigmoidIsSigmoidOfMinusX) {
  Var x = input(DType::Float32, {-1}, "x");
  Var i = input(DType::Int8, {-1}, "i");
  RewriteStats stats;
  std::vector<Var> out = stab(
      {sub(lit(1), sigmoid(x)), add(lit(1), neg(sigmoid(x))), sub(lit(1), sigmoid(i))},
      {{x.get(), random_array(DType::Float32, {4}, 9, 2.0)},
       {i.get(), arr<int8_t>({-128, 127, 0, 5}, {4})}},
      &stats, 1e-6);
  EXPECT_EQ(stats.count("one_minus_sigmoid"), 3);
  EXPECT_EQ(op_names({out[0]}), (Names{"Elemwise{neg}", "Elemwise{sigmoid}"}));
  // An int8 input is negated after the cast, so -(-128) does not wrap.
  EXPECT_EQ(count_kind({out[2]}, "Elemwise"), 3);
}

TEST(Stabilize, LogSigmoidGradientsStayFinite) {
  Var x = input(DType::Float64, {-1}, "x");
  Var ga = grad(sum(log(sigmoid(x))), x);
  Var gb = grad(sum(log(sub(lit(1), sigmoid(x)))), x);
  RewriteStats stats;
  std::vector<Var> out =
      stab({ga, gb}, {{x.get(), random_array(DType::Float64, {5}, 10, 2.0)}}, &stats);
  EXPECT_EQ(stats.count("cancel_division"), 2);
  Bindings big{{x.get(), arr<double>({-1000, 1000, 40}, {3})}};
  std::vector<NDArray> naive = evaluate({ga, gb}, big), fixed = evaluate(out, big);
  EXPECT_FALSE(all_finite(naive[0]));
  EXPECT_FALSE(all_finite(naive[1]));
  // d log(sigmoid(x)) = sigmoid(-x); d log(1 - sigmoid(x)) = -sigmoid(x).
  EXPECT_EQ(values(fixed[0])[0], 1.0);
  EXPECT_EQ(values(fixed[0])[1], 0.0);
  EXPECT_NEAR(values(fixed[0])[2], std::exp(-40.0), 1e-30);
  EXPECT_EQ(values(fixed[1])[0], 0.0);
  EXPECT_EQ(values(fixed[1])[1], -1.0);
}

TEST(Stabilize, CancelDivisionOnlyForPositiveByConstruction) {
  Var x = input(DType::Float64, {4}, "x");
  Var g = input(DType::Float64, {4}, "g");
  RewriteStats stats;
  // x may be 0: g / x * x is NaN there, and stays so.
  std::vector<Var> out =
      stab({mul(true_div(g, x), x), mul(neg(true_div(g, exp(x))), mul(lit(3), exp(x)))},
           {{x.get(), random_array(DType::Float64, {4}, 11, 2.0)},
            {g.get(), random_array(DType::Float64, {4}, 12, 2.0)}},
           &stats);
  EXPECT_EQ(stats.count("cancel_division"), 1);
  EXPECT_EQ(op_names({out[1]}), (Names{"Elemwise{mul}", "Elemwise{neg}"}));  // -(g * 3)
}

TEST(Stabilize, CancelDivisionKeepsTheBroadcastOfWhatItDrops) {
  // g of one element broadcast against exp(x): the result keeps x's shape, and
  // a g that does not broadcast still raises.
  Var x = input(DType::Float64, {-1}, "x");
  Var g = input(DType::Float64, {-1}, "g");
  Var e = exp(x);
  Var prod = mul(true_div(g, e), e);
  RewriteStats stats;
  Var out = stab({prod},
                 {{x.get(), random_array(DType::Float64, {4}, 13, 2.0)},
                  {g.get(), random_array(DType::Float64, {1}, 14, 2.0)}},
                 &stats)[0];
  EXPECT_EQ(stats.count("cancel_division"), 1);
  EXPECT_EQ(count_kind({out}, "Fill"), 1);
  Bindings bad{{x.get(), random_array(DType::Float64, {4}, 13, 2.0)},
               {g.get(), random_array(DType::Float64, {3}, 14, 2.0)}};
  EXPECT_THROW(evaluate({prod}, bad), ShapeError);
  EXPECT_THROW(evaluate({out}, bad), ShapeError);
}

TEST(Stabilize, CancelDivisionDistributesOverASum) {
  // The gradient of binary_crossentropy(sigmoid(z), t):
  // (a / sigmoid(z) + b / (1 - sigmoid(z))) * sigmoid(z) * (1 - sigmoid(z)).
  Var z = input(DType::Float64, {-1}, "z");
  Var t = input(DType::Float64, {-1}, "t");
  Var o = sigmoid(z);
  Var c = sum(neg(add(mul(t, log(o)), mul(sub(lit(1), t), log(sub(lit(1), o))))));
  Var g = grad(c, z);
  RewriteStats stats;
  Bindings ordinary{{z.get(), random_array(DType::Float64, {4}, 19, 2.0)},
                    {t.get(), random_array(DType::Float64, {4}, 20, 1.0)}};
  Var out = stab({g}, ordinary, &stats)[0];
  EXPECT_GE(stats.count("cancel_division"), 1);
  for (const std::string& name : op_names({out})) EXPECT_NE(name, "Elemwise{true_div}");
  Bindings big{{z.get(), arr<double>({-1000, 1000}, {2})},
               {t.get(), arr<double>({1, 0}, {2})}};
  EXPECT_FALSE(all_finite(evaluate({g}, big)[0]));
  EXPECT_EQ(values(evaluate({out}, big)[0]), (V{-1, 1}));  // sigmoid(z) - t
  // A term without a matching divisor leaves the sum alone.
  Var e = exp(z);
  RewriteStats stats2;
  stab({mul(add(true_div(t, e), t), e)}, ordinary, &stats2);
  EXPECT_EQ(stats2.count("cancel_division"), 0);
}

// ---- log1p and expm1 ------------------------------------------------------------------

TEST(Stabilize, LogOfOnePlusIsLog1p) {
  Var x = input(DType::Float64, {-1}, "x");
  Var f = input(DType::Float32, {-1}, "f");
  RewriteStats stats;
  std::vector<Var> out =
      stab({log(add(lit(1), x)), log(add(x, lit(1))), log(sub(lit(1), x)),
            log(add(f, scalar_constant(1, DType::Float64)))},
           {{x.get(), random_array(DType::Float64, {4}, 13, 0.5)},
            {f.get(), random_array(DType::Float32, {4}, 14, 0.5)}},
           &stats);
  EXPECT_EQ(stats.count("log1p"), 4);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{log1p}"});
  EXPECT_TRUE(out[1].same(out[0]));
  EXPECT_EQ(op_names({out[2]}), (Names{"Elemwise{neg}", "Elemwise{log1p}"}));
  // float32 + a strong float64 one is float64: log1p runs on x cast to float64.
  EXPECT_EQ(op_names({out[3]}), (Names{"Elemwise{cast{float64}}", "Elemwise{log1p}"}));
  // log(1 + 1e-20) is not 0.
  Bindings tiny{{x.get(), arr<double>({1e-20, -1e-20}, {2})},
                {f.get(), arr<float>({1e-20f, 0}, {2})}};
  EXPECT_EQ(values(evaluate({out[0]}, tiny)[0]), (V{1e-20, -1e-20}));
  EXPECT_EQ(values(evaluate({log(add(lit(1), x))}, tiny)[0]), (V{0, 0}));
  EXPECT_NEAR(values(evaluate({out[3]}, tiny)[0])[0], 1e-20, 1e-27);
}

TEST(Stabilize, LogOfOnePlusKeepsTheConstantsBroadcast) {
  Var x = input(DType::Float64, {-1}, "x");
  Var ones = make_constant(arr<double>({1, 1, 1}, {3}));
  Var l = log(add(ones, x));
  RewriteStats stats;
  Var out = stab({l}, {{x.get(), random_array(DType::Float64, {1}, 21, 0.5)}}, &stats)[0];
  EXPECT_EQ(stats.count("log1p"), 1);
  EXPECT_EQ(out->type.shape, (Shape{3}));
  Bindings bad{{x.get(), random_array(DType::Float64, {4}, 22, 0.5)}};
  EXPECT_THROW(evaluate({l}, bad), ShapeError);
  EXPECT_THROW(evaluate({out}, bad), ShapeError);
}

TEST(Stabilize, LogOfOnePlusLeavesIntegerSums) {
  // 1 + i in int8 wraps at 127; log1p of the float would not.
  Var i = input(DType::Int8, {-1}, "i");
  RewriteStats stats;
  stab({log(add(scalar_literal(1, true), i))}, {{i.get(), arr<int8_t>({127, 3}, {2})}},
       &stats);
  EXPECT_EQ(stats.count("log1p"), 0);
}

TEST(Stabilize, ExpMinusOneIsExpm1) {
  Var x = input(DType::Float64, {-1}, "x");
  RewriteStats stats;
  std::vector<Var> out =
      stab({sub(exp(x), lit(1)), add(exp(x), lit(-1)), sub(exp(x), lit(2))},
           {{x.get(), random_array(DType::Float64, {4}, 15, 2.0)}}, &stats);
  EXPECT_EQ(stats.count("expm1"), 2);
  EXPECT_EQ(op_names({out[0]}), Names{"Elemwise{expm1}"});
  EXPECT_TRUE(out[1].same(out[0]));
  Bindings tiny{{x.get(), arr<double>({1e-20}, {1})}};
  EXPECT_EQ(values(evaluate({out[0]}, tiny)[0]), (V{1e-20}));
}

// ---- crossentropy of a softmax
// ----------------------------------------------------------

struct Crossentropy {
  Var x = input(DType::Float64, {-1, -1}, "x");
  Var y = input(DType::Int32, {-1}, "y");
  Var sm = softmax(x);
  // -mean(log(softmax(x))[arange(y.shape[0]), y]), as Theano code writes it.
  Var cost =
      neg(mean(subtensor(log(sm), {idx(arange(subtensor(shape(y), {idx(0)}))), idx(y)})));
  Bindings ordinary() const {
    return {{x.get(), random_array(DType::Float64, {4, 5}, 16, 2.0)},
            {y.get(), arr<int32_t>({0, 4, 2, -1}, {4})}};
  }
  Bindings big() const {
    return {{x.get(), arr<double>({1000, 0, -1000, 0, 1000, -1000}, {2, 3})},
            {y.get(), arr<int32_t>({2, 1}, {2})}};
  }
};

TEST(Stabilize, CrossentropyOfSoftmaxIsOneOp) {
  Crossentropy c;
  RewriteStats stats;
  Var out = stab({c.cost}, c.ordinary(), &stats)[0];
  EXPECT_EQ(stats.count("crossentropy_softmax"), 1);
  EXPECT_EQ(stats.count("stabilize_double_negation"), 0);
  EXPECT_EQ(count_kind({out}, "CrossentropySoftmax"), 1);
  EXPECT_EQ(count_kind({out}, "LogSoftmax"), 0);
  EXPECT_EQ(count_kind({out}, "AdvancedSubtensor"), 0);
  EXPECT_FALSE(all_finite(evaluate({c.cost}, c.big())[0]));
  EXPECT_EQ(values(evaluate({out}, c.big())[0]), (V{1000}));  // (2000 + 0) / 2
}

TEST(Stabilize, CrossentropyUnderAMinusLosesTheDoubleNegation) {
  Crossentropy c;
  Var picked = subtensor(log_softmax(c.x), {idx(arange(shape_i(c.x, 0))), idx(c.y)});
  RewriteStats stats;
  Var out = stab({neg(picked)}, c.ordinary(), &stats)[0];
  EXPECT_EQ(stats.count("stabilize_double_negation"), 1);
  EXPECT_EQ(op_kind(*out->owner), "CrossentropySoftmax");
}

TEST(Stabilize, CrossentropyKeepsALogSoftmaxSomeoneElseReads) {
  Crossentropy c;
  Var l = log_softmax(c.x);
  Var picked = subtensor(l, {idx(arange(shape_i(c.x, 0))), idx(c.y)});
  RewriteStats stats;
  std::vector<Var> out = stab({neg(picked), exp(l)}, c.ordinary(), &stats);
  EXPECT_EQ(stats.count("crossentropy_softmax"), 0);
}

TEST(Stabilize, CrossentropyKeepsIndexErrors) {
  Crossentropy c;
  RewriteStats stats;
  Var out = stab({c.cost}, c.ordinary(), &stats)[0];
  Bindings bad = c.ordinary();
  bad[c.y.get()] = arr<int32_t>({0, 5, 1, 1}, {4});
  EXPECT_THROW(evaluate({c.cost}, bad), IndexError);
  testing::expect_error<IndexError>([&] { evaluate({out}, bad); }, {"label 5"});
  // More labels than rows: arange(4) indexes past the 3 rows of x.
  bad = c.ordinary();
  bad[c.x.get()] = random_array(DType::Float64, {3, 5}, 17, 2.0);
  EXPECT_THROW(evaluate({c.cost}, bad), IndexError);
  EXPECT_THROW(evaluate({out}, bad), IndexError);
  // Fewer labels than rows is fine for both: the first rows are used.
  bad = c.ordinary();
  bad[c.y.get()] = arr<int32_t>({1, 2}, {2});
  expect_close(evaluate({out}, bad)[0], evaluate({c.cost}, bad)[0], 1e-12, "2 of 4 rows");
}

TEST(Stabilize, CrossentropyGradientIsFused) {
  Crossentropy c;
  Var g = grad(c.cost, c.x);
  RewriteStats stats;
  Var out = stab({g}, c.ordinary(), &stats)[0];
  EXPECT_EQ(stats.count("crossentropy_softmax_grad"), 1);
  EXPECT_EQ(stats.count("log_softmax_grad"), 0);
  EXPECT_EQ(count_kind({out}, "CrossentropySoftmaxGrad"), 1);
  EXPECT_EQ(count_kind({out}, "SoftmaxGrad"), 0);
  EXPECT_EQ(count_kind({out}, "AdvancedIncSubtensor"), 0);
  EXPECT_FALSE(all_finite(evaluate({g}, c.big())[0]));
  // (softmax - onehot) / n.
  EXPECT_EQ(values(evaluate({out}, c.big())[0]), (V{0.5, 0, -0.5, 0, 0, 0}));
  // Fewer labels than rows: the rows without one get no gradient.
  Bindings two = c.ordinary();
  two[c.y.get()] = arr<int32_t>({1, 2}, {2});
  expect_close(evaluate({out}, two)[0], evaluate({g}, two)[0], 1e-12, "2 of 4 rows");
}

TEST(Stabilize, CrossentropyOfALogSoftmaxHasTheFusedGradient) {
  Crossentropy c;
  Var cost =
      neg(mean(subtensor(log_softmax(c.x), {idx(arange(shape_i(c.x, 0))), idx(c.y)})));
  Var g = grad(cost, c.x);
  RewriteStats stats;
  Var out = stab({g}, c.ordinary(), &stats)[0];
  EXPECT_EQ(stats.count("crossentropy_log_softmax_grad"), 1);
  EXPECT_EQ(count_kind({out}, "CrossentropySoftmaxGrad"), 1);
  EXPECT_EQ(count_kind({out}, "LogSoftmaxGrad"), 0);
  EXPECT_EQ(values(evaluate({out}, c.big())[0]), (V{0.5, 0, -0.5, 0, 0, 0}));
}

TEST(Stabilize, SoftmaxShapeReadsTheInput) {
  Var x = input(DType::Float64, {-1, -1}, "x");
  RewriteStats stats;
  std::vector<Var> out =
      stab({shape_i(softmax(x), 1), shape(log_softmax(x))},
           {{x.get(), random_array(DType::Float64, {2, 3}, 18, 2.0)}}, &stats);
  EXPECT_EQ(stats.count("softmax_shape"), 2);
  EXPECT_EQ(count_kind(out, "Softmax") + count_kind(out, "LogSoftmax"), 0);
}

TEST(Stabilize, WholePipelineKeepsTheRules) {
  // The same graphs through optimize(): canonicalize runs first and must leave
  // patterns the stabilize rules still recognize.
  Crossentropy c;
  Var g = grad(c.cost, c.x);
  RewriteStats stats;
  OptimizeOptions o;
  o.stats = &stats;
  std::vector<Var> out = optimize({c.cost, g}, o);
  EXPECT_EQ(stats.count("crossentropy_softmax"), 1);
  EXPECT_EQ(stats.count("crossentropy_softmax_grad"), 1);
  std::vector<NDArray> got = evaluate(out, c.big());
  EXPECT_EQ(values(got[0]), (V{1000}));
  EXPECT_EQ(values(got[1]), (V{0.5, 0, -0.5, 0, 0, 0}));
}

}  // namespace
}  // namespace theanine
