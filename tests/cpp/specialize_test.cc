// The Gemm and Gemv ops (ops/gemm_op.h) and the specialize rules that build
// them (passes/specialize.cc): each rule fires on its pattern, leaves the graph
// it promises, and the rewritten graph computes what the original did.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "ops/blas.h"
#include "ops/elemwise.h"
#include "ops/gemm_op.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "passes/pipeline.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

// Rewrites `outs` with the specialize rules, and checks each output keeps its
// type and both graphs agree on `bindings`.
std::vector<Var> specialize_and_compare(const std::vector<Var>& outs,
                                        const Bindings& bindings, RewriteStats* stats,
                                        double tol = 1e-12) {
  return rewrite_and_compare(outs, specialize_rules(), bindings, stats, tol);
}

Var mat(DType d = DType::Float64, Shape s = {-1, -1}, const std::string& name = "") {
  return input(d, std::move(s), name);
}
Var vec(DType d = DType::Float64, Shape s = {-1}, const std::string& name = "") {
  return input(d, std::move(s), name);
}

// ---- the ops ------------------------------------------------------------------

// alpha * op(a) · op(b) + beta * c, by loops over item_double (c broadcast).
NDArray naive_gemm(const NDArray& a_in, const NDArray& b_in, const NDArray* c, bool ta,
                   bool tb, double alpha, double beta) {
  NDArray a = (ta ? a_in.transpose({1, 0}) : a_in).copy();
  NDArray b = (tb ? b_in.transpose({1, 0}) : b_in).copy();
  const int64_t m = a.shape(0), k = a.shape(1), n = b.shape(1);
  NDArray out = NDArray::zeros(DType::Float64, {m, n});
  NDArray cb = c ? c->broadcast_to({m, n}).astype(DType::Float64) : NDArray();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += a.item_double(i * k + p) * b.item_double(p * n + j);
      double v = alpha * acc + (c ? beta * cb.item_double(i * n + j) : 0);
      out.set_item_double(i * n + j, v);
    }
  return out.astype(a.dtype());
}

TEST(GemmOp, MatchesLoopsForEveryFlagDtypeAndShape) {
  const std::vector<Shape> mkn{{3, 4, 5}, {1, 4, 5}, {3, 4, 1}, {1, 1, 1},
                               {3, 0, 5}, {0, 4, 5}, {3, 4, 0}, {17, 33, 9}};
  uint32_t seed = 1;
  for (DType d : {DType::Float32, DType::Float64})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (const Shape& s : mkn)
          for (double beta : {0.0, 0.5, 1.0}) {
            const int64_t m = s[0], k = s[1], n = s[2];
            Var a = mat(d), b = mat(d), c = beta != 0 ? mat(d) : Var();
            Var g = gemm(a, b, c, ta, tb, 1.5, beta);
            NDArray av = random_array(d, ta ? Shape{k, m} : Shape{m, k}, seed++);
            NDArray bv = random_array(d, tb ? Shape{n, k} : Shape{k, n}, seed++);
            NDArray cv = random_array(d, {m, n}, seed++);
            Bindings bind{{a.get(), av}, {b.get(), bv}};
            if (c) bind[c.get()] = cv;
            const double tol = d == DType::Float32 ? 1e-5 : 1e-12;
            expect_close(eval1(g, bind),
                         naive_gemm(av, bv, c ? &cv : nullptr, ta, tb, 1.5, beta), tol,
                         g->owner->op->name() + " " + shape_str(s));
          }
}

TEST(GemmOp, ReadsStridedAndTransposedViews) {
  NDArray big_a = random_array(DType::Float64, {8, 10}, 3);
  NDArray big_b = random_array(DType::Float64, {10, 12}, 4);
  NDArray big_c = random_array(DType::Float64, {8, 12}, 5);
  // Every second row and column: no stride BLAS can read directly.
  NDArray av = big_a.slice(0, 0, 8, 2).slice(1, 0, 10, 2);   // (4, 5)
  NDArray bv = big_b.slice(0, 0, 10, 2).slice(1, 0, 12, 3);  // (5, 4)
  NDArray cv = big_c.slice(0, 0, 8, 2).slice(1, 0, 12, 3);   // (4, 4)
  NDArray at = big_a.slice(1, 0, 4, 1).transpose({1, 0});    // (4, 8), transposed
  for (bool ta : {false, true}) {
    Var a = mat(), b = mat(), c = mat();
    Var g = gemm(a, b, c, ta, false, -2, 0.25);
    NDArray a_val = ta ? av.transpose({1, 0}) : av;
    Bindings bind{{a.get(), a_val}, {b.get(), bv}, {c.get(), cv}};
    expect_close(eval1(g, bind), naive_gemm(a_val, bv, &cv, ta, false, -2, 0.25), 1e-12);
  }
  Var a = mat(), b = mat();
  Var g = gemm(a, b, {}, false, false, 1, 0);
  NDArray b8 = big_b.slice(0, 0, 8, 1);
  expect_close(eval1(g, {{a.get(), at}, {b.get(), b8}}),
               naive_gemm(at, b8, nullptr, false, false, 1, 0), 1e-12);
}

TEST(GemmOp, BroadcastsTheAccumulatedInputLikeAnAdd) {
  NDArray av = random_array(DType::Float64, {3, 4}, 6);
  NDArray bv = random_array(DType::Float64, {4, 5}, 7);
  Var a = mat(), b = mat(), c = mat();
  Var g = gemm(a, b, c, false, false, 1, 2);
  for (Shape cs : {Shape{1, 5}, Shape{3, 1}, Shape{1, 1}}) {
    NDArray cv = random_array(DType::Float64, cs, 8);
    expect_close(eval1(g, {{a.get(), av}, {b.get(), bv}, {c.get(), cv}}),
                 naive_gemm(av, bv, &cv, false, false, 1, 2), 1e-12, shape_str(cs));
  }
  // A product with one row broadcasts against a taller c, as c + a·b would.
  NDArray a1 = random_array(DType::Float64, {1, 4}, 9);
  NDArray cv = random_array(DType::Float64, {3, 5}, 10);
  NDArray got = eval1(g, {{a.get(), a1}, {b.get(), bv}, {c.get(), cv}});
  ASSERT_EQ(got.shape(), (Shape{3, 5}));
  NDArray prod = naive_gemm(a1, bv, nullptr, false, false, 1, 0);
  for (int64_t i = 0; i < 15; ++i)
    EXPECT_NEAR(got.item_double(i), prod.item_double(i % 5) + 2 * cv.item_double(i),
                1e-12);
  // Shapes that do not broadcast fail as the add would.
  NDArray bad = random_array(DType::Float64, {2, 5}, 11);
  expect_error<ShapeError>(
      [&] {
        eval1(g, {{a.get(), av}, {b.get(), bv}, {c.get(), bad}});
      },
      {"broadcast"});
}

TEST(GemmOp, ChecksTypesAndShapes) {
  expect_error<ShapeError>(
      [] {
        gemm(mat(DType::Float64, {2, 3}), mat(DType::Float64, {4, 5}), {}, false, false,
             1, 0);
      },
      {"dot: shapes (2, 3) and (4, 5) not aligned: 3 (dim 1) != 4 (dim 0)"});
  // The flags decide which dims are contracted.
  EXPECT_EQ(
      gemm(mat(DType::Float64, {3, 2}), mat(DType::Float64, {5, 3}), {}, true, true, 1, 0)
          .type()
          .shape,
      (Shape{2, 5}));
  expect_error<TypeError>(
      [] { gemm(mat(DType::Int64), mat(DType::Int64), {}, false, false, 1, 0); },
      {"float32 or float64"});
  expect_error<TypeError>(
      [] { gemm(mat(DType::Float32), mat(DType::Float64), {}, false, false, 1, 0); },
      {"float32 or float64"});
  expect_error<ValueError>([] { gemm(mat(), mat(), mat(), false, false, 1, 0); },
                           {"exactly when beta != 0"});
  expect_error<ValueError>([] { gemm(mat(), mat(), {}, false, false, 1, 1); },
                           {"exactly when beta != 0"});
  Var a = mat(), b = mat();
  Var g = gemm(a, b, {}, false, false, 1, 0);
  expect_error<ShapeError>(
      [&] {
        eval1(g, {{a.get(), random_array(DType::Float64, {2, 3}, 1)},
                  {b.get(), random_array(DType::Float64, {4, 2}, 2)}});
      },
      {"not aligned"});
}

TEST(GemmOp, AccumulatesIntoAnOfferedBuffer) {
  Var a = mat(), b = mat(), c = mat();
  Var g = gemm(a, b, c, false, true, 2, 0.5);
  const Apply& node = *g->owner;
  NDArray av = random_array(DType::Float64, {3, 4}, 40);
  NDArray bv = random_array(DType::Float64, {5, 4}, 41);
  NDArray cv = random_array(DType::Float64, {3, 5}, 42);
  const NDArray want = naive_gemm(av, bv, &cv, false, true, 2, 0.5);
  // c's own buffer: BLAS updates it in place.
  NDArray c_in = cv.copy();
  std::vector<NDArray> out{c_in};
  ASSERT_TRUE(node.op->perform_into(node, {av, bv, c_in}, out));
  EXPECT_EQ(out[0].raw(), c_in.raw());
  expect_close(c_in, want, 1e-12);
  // A fresh buffer receives c first; a broadcast c too.
  out = {NDArray::empty(DType::Float64, {3, 5})};
  ASSERT_TRUE(node.op->perform_into(node, {av, bv, cv}, out));
  expect_close(out[0], want, 1e-12);
  NDArray row = random_array(DType::Float64, {1, 5}, 43);
  out = {NDArray::empty(DType::Float64, {3, 5})};
  ASSERT_TRUE(node.op->perform_into(node, {av, bv, row}, out));
  expect_close(out[0], naive_gemm(av, bv, &row, false, true, 2, 0.5), 1e-12);
  // Never over a or b, which the product reads throughout; nor a buffer of
  // another shape.
  NDArray sq = random_array(DType::Float64, {4, 4}, 44);
  out = {sq};
  EXPECT_FALSE(node.op->perform_into(node, {sq, sq, sq}, out));
  out = {NDArray::empty(DType::Float64, {5, 3})};
  EXPECT_FALSE(node.op->perform_into(node, {av, bv, cv}, out));
  // Without an accumulated input there is nothing to update in place.
  Var p = gemm(a, b, {}, false, true, 1, 0);
  out = {NDArray::empty(DType::Float64, {3, 5})};
  EXPECT_FALSE(p->owner->op->perform_into(*p->owner, {av, bv}, out));
  // Gemv likewise.
  Var x = vec(), y = vec();
  Var v = gemv(a, x, y, true, 1, -1);
  NDArray xv = random_array(DType::Float64, {3}, 45),
          yv = random_array(DType::Float64, {4}, 46);
  NDArray y_in = yv.copy();
  out = {y_in};
  ASSERT_TRUE(v->owner->op->perform_into(*v->owner, {av, xv, y_in}, out));
  NDArray yc = yv.reshape({4, 1});
  expect_close(y_in,
               naive_gemm(av, xv.reshape({3, 1}), &yc, true, false, 1, -1).reshape({4}),
               1e-12);
}

TEST(GemmOp, NamesSpellEveryParameterExactly) {
  Gemm g1(false, true, 0.1, 0), g2(false, true, std::nextafter(0.1, 1.0), 0);
  EXPECT_EQ(g1.name(), "Gemm{NT, alpha=0.1, beta=0}");
  EXPECT_NE(g1.name(), g2.name());
  EXPECT_FALSE(g1.equals(g2));
  EXPECT_EQ(Gemv(true, -1, 0.5).name(), "Gemv{T, alpha=-1, beta=0.5}");
}

TEST(GemvOp, MatchesLoops) {
  uint32_t seed = 20;
  for (DType d : {DType::Float32, DType::Float64})
    for (bool trans : {false, true})
      for (Shape mk : {Shape{3, 4}, Shape{1, 4}, Shape{3, 1}, Shape{3, 0}, Shape{0, 4}})
        for (double beta : {0.0, -0.5}) {
          const int64_t m = mk[0], k = mk[1];
          Var a = mat(d), x = vec(d), y = beta != 0 ? vec(d) : Var();
          Var g = gemv(a, x, y, trans, 0.5, beta);
          NDArray av = random_array(d, trans ? Shape{k, m} : Shape{m, k}, seed++);
          NDArray xv = random_array(d, {k}, seed++), yv = random_array(d, {m}, seed++);
          Bindings bind{{a.get(), av}, {x.get(), xv}};
          if (y) bind[y.get()] = yv;
          NDArray yc = yv.reshape({m, 1});
          NDArray want = naive_gemm(av, xv.reshape({k, 1}), y ? &yc : nullptr, trans,
                                    false, 0.5, beta)
                             .reshape({m});
          expect_close(eval1(g, bind), want, d == DType::Float32 ? 1e-5 : 1e-12,
                       g->owner->op->name());
        }
  // A strided vector (every third element, and reversed).
  NDArray big = random_array(DType::Float64, {12}, 30);
  NDArray av = random_array(DType::Float64, {3, 4}, 31);
  Var a = mat(), x = vec();
  Var g = gemv(a, x, {}, false, 1, 0);
  for (NDArray xv : {big.slice(0, 0, 12, 3), big.slice(0, 11, -1, -3)}) {
    NDArray want = naive_gemm(av, xv.copy().reshape({4, 1}), nullptr, false, false, 1, 0);
    expect_close(eval1(g, {{a.get(), av}, {x.get(), xv}}), want.reshape({3}), 1e-12);
  }
}

// ---- the rules -----------------------------------------------------------------

Bindings random_bindings(const std::vector<std::pair<Var, Shape>>& vars) {
  Bindings b;
  uint32_t seed = 100;
  for (auto& [v, s] : vars) b[v.get()] = random_array(v.dtype(), s, seed++);
  return b;
}

TEST(Specialize, DotOfMatricesBecomesGemm) {
  for (DType d : {DType::Float32, DType::Float64}) {
    Var x = mat(d), y = mat(d);
    RewriteStats stats;
    std::vector<Var> out =
        specialize_and_compare({dot(x, y)}, random_bindings({{x, {3, 4}}, {y, {4, 2}}}),
                               &stats, d == DType::Float32 ? 1e-5 : 1e-12);
    EXPECT_EQ(stats.count("dot_to_gemm"), 1);
    EXPECT_EQ(op_names(out), std::vector<std::string>{"Gemm{NN, alpha=1, beta=0}"});
    EXPECT_EQ(out[0]->type, dot(x, y)->type);
  }
}

TEST(Specialize, IntegerAndMixedDotsStay) {
  Var i = mat(DType::Int64), f = mat(DType::Float32), g = mat(DType::Float64);
  RewriteStats stats;
  rewrite({dot(i, i), dot(f, g), dot(i, g)}, specialize_rules(), &stats);
  EXPECT_EQ(stats.count("dot_to_gemm"), 0);
}

TEST(Specialize, TransposedOperandsBecomeFlags) {
  Var x = mat(), y = mat();
  Var xt = transpose(x), yt = transpose(y);
  RewriteStats stats;
  std::vector<Var> out =
      specialize_and_compare({dot(xt, y), dot(x, yt), dot(xt, yt)},
                             random_bindings({{x, {3, 3}}, {y, {3, 3}}}), &stats);
  EXPECT_EQ(stats.count("gemm_fold_transpose"), 3);
  EXPECT_EQ(out[0]->owner->op->name(), "Gemm{TN, alpha=1, beta=0}");
  EXPECT_EQ(out[1]->owner->op->name(), "Gemm{NT, alpha=1, beta=0}");
  EXPECT_EQ(out[2]->owner->op->name(), "Gemm{TT, alpha=1, beta=0}");
  EXPECT_EQ(count_kind(out, "DimShuffle"), 0);
  EXPECT_TRUE(out[0]->owner->inputs[0].same(x));
}

TEST(Specialize, MatrixVectorProductsBecomeGemv) {
  Var a = mat(), v = vec(), w = vec();
  RewriteStats stats;
  std::vector<Var> out = specialize_and_compare(
      {dot(a, v), dot(w, a), dot(transpose(a), w), dot(v, transpose(a))},
      random_bindings({{a, {3, 4}}, {v, {4}}, {w, {3}}}), &stats);
  EXPECT_EQ(stats.count("dot_to_gemv"), 4);
  EXPECT_EQ(stats.count("gemm_fold_transpose"), 2);
  EXPECT_EQ(out[0]->owner->op->name(), "Gemv{N, alpha=1, beta=0}");
  EXPECT_EQ(out[1]->owner->op->name(), "Gemv{T, alpha=1, beta=0}");
  EXPECT_EQ(out[2]->owner->op->name(), "Gemv{T, alpha=1, beta=0}");
  EXPECT_EQ(out[3]->owner->op->name(), "Gemv{N, alpha=1, beta=0}");
  EXPECT_EQ(count_kind(out, "DimShuffle"), 0);
  EXPECT_EQ(count_kind(out, "Dot"), 0);
  // A vector dot stays a Dot.
  EXPECT_EQ(op_names(rewrite({dot(v, v)}, specialize_rules())),
            std::vector<std::string>{"Dot"});
}

TEST(Specialize, ConstantScalesFoldIntoAlpha) {
  Var x = mat(), y = mat();
  Bindings b = random_bindings({{x, {3, 4}}, {y, {4, 2}}});
  const std::vector<std::pair<Var, std::string>> cases{
      {mul(lit(2), dot(x, y)), "Gemm{NN, alpha=2, beta=0}"},
      {mul(dot(x, y), lit(-0.5)), "Gemm{NN, alpha=-0.5, beta=0}"},
      {neg(dot(x, y)), "Gemm{NN, alpha=-1, beta=0}"},
      {true_div(dot(x, y), lit(4)), "Gemm{NN, alpha=0.25, beta=0}"},
      {mul(lit(3), neg(mul(lit(2), dot(transpose(x), y)))), "Gemm{TN, alpha=-6, beta=0}"},
  };
  for (auto& [expr, name] : cases) {
    RewriteStats stats;
    Bindings bb = b;
    if (name.find("TN") != std::string::npos)
      bb[x.get()] = random_array(DType::Float64, {4, 3}, 1);
    std::vector<Var> out = specialize_and_compare({expr}, bb, &stats);
    EXPECT_GE(stats.count("gemm_scale"), 1) << name;
    EXPECT_EQ(op_names(out), std::vector<std::string>{name});
  }
}

TEST(Specialize, ScalesOfFloat32ProductsTakeTheOperandValue) {
  // 0.1 meets float32 as 0.1f, as the elementwise mul would compute it.
  Var x = mat(DType::Float32), y = mat(DType::Float32);
  std::vector<Var> out = rewrite({mul(lit(0.1), dot(x, y))}, specialize_rules());
  auto* g = dynamic_cast<const Gemm*>(out[0]->owner->op.get());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->alpha(), static_cast<double>(0.1f));
}

TEST(Specialize, ScalesAreNotFoldedWhenTheyWouldChangeResults) {
  Var x = mat(), y = mat();
  Var d = dot(x, y);
  RewriteStats stats;
  // The product has another reader: scaling it in place would duplicate it.
  std::vector<Var> out = rewrite({d, mul(lit(2), d)}, specialize_rules(), &stats);
  EXPECT_EQ(stats.count("gemm_scale"), 0);
  EXPECT_EQ(count_kind(out, "Gemm"), 1);
  // 0 * inf is NaN: a zero scale stays an elementwise product.
  Bindings b = random_bindings({{x, {2, 2}}, {y, {2, 2}}});
  b[x.get()].set_item_double(0, std::numeric_limits<double>::infinity());
  out = specialize_and_compare({mul(lit(0), dot(x, y))}, b, &stats);
  EXPECT_EQ(stats.count("gemm_scale"), 0);
  EXPECT_TRUE(std::isnan(evaluate(out, b)[0].item_double(0)));
  // A symbolic scale is not a parameter.
  Var s = input(DType::Float64, {});
  out = rewrite({mul(s, dot(x, y))}, specialize_rules(), &stats);
  EXPECT_EQ(stats.count("gemm_scale"), 0);
}

TEST(Specialize, AdditionsAccumulateIntoGemm) {
  Var x = mat(), y = mat(), c = mat();
  Bindings b = random_bindings({{x, {3, 4}}, {y, {4, 2}}, {c, {3, 2}}});
  const std::vector<std::pair<Var, std::string>> cases{
      {add(c, dot(x, y)), "Gemm{NN, alpha=1, beta=1}"},
      {add(dot(x, y), c), "Gemm{NN, alpha=1, beta=1}"},
      {sub(c, dot(x, y)), "Gemm{NN, alpha=-1, beta=1}"},
      {sub(dot(x, y), c), "Gemm{NN, alpha=1, beta=-1}"},
      {add(mul(lit(0.5), c), mul(lit(2), dot(x, y))), "Gemm{NN, alpha=2, beta=0.5}"},
      {add(neg(c), dot(x, y)), "Gemm{NN, alpha=1, beta=-1}"},
      {sub(mul(c, lit(0.9)), mul(lit(0.01), dot(x, y))),
       "Gemm{NN, alpha=-0.01, beta=0.9}"},
      {mul(lit(2), add(c, dot(x, y))), "Gemm{NN, alpha=2, beta=2}"},
  };
  for (auto& [expr, name] : cases) {
    RewriteStats stats;
    std::vector<Var> out = specialize_and_compare({expr}, b, &stats);
    EXPECT_EQ(stats.count("gemm_accumulate"), 1) << name;
    EXPECT_EQ(op_names(out), std::vector<std::string>{name});
    EXPECT_TRUE(out[0]->owner->inputs[2].same(c)) << name;
  }
}

TEST(Specialize, AccumulationKeepsBroadcastingAndErrorsOfTheAdd) {
  Var x = mat(), y = mat(), c = mat();
  Var sum = add(c, dot(x, y));
  RewriteStats stats;
  std::vector<Var> out = rewrite({sum}, specialize_rules(), &stats);
  ASSERT_EQ(stats.count("gemm_accumulate"), 1);
  // c's dims are unknown statically: at run time it may broadcast either way.
  for (auto [xs, cs] : {std::pair{Shape{3, 4}, Shape{1, 2}},
                        {Shape{3, 4}, Shape{3, 1}},
                        {Shape{1, 4}, Shape{3, 2}}}) {
    Bindings b = random_bindings({{x, xs}, {y, {4, 2}}, {c, cs}});
    expect_close(evaluate(out, b)[0], evaluate({sum}, b)[0], 1e-12, shape_str(cs));
  }
  Bindings bad = random_bindings({{x, {3, 4}}, {y, {4, 2}}, {c, {2, 2}}});
  EXPECT_THROW(evaluate({sum}, bad), ShapeError);
  EXPECT_THROW(evaluate(out, bad), ShapeError);
}

TEST(Specialize, BroadcastBiasesAndAccumulatingGemmsAreLeft) {
  Var x = mat(), y = mat(), bias = vec(), row = mat(DType::Float64, {1, -1});
  RewriteStats stats;
  std::vector<Var> out =
      rewrite({add(dot(x, y), bias), add(row, dot(x, y)), add(dot(x, y), lit(1))},
              specialize_rules(), &stats);
  EXPECT_EQ(stats.count("gemm_accumulate"), 0);
  // A Gemm that accumulates already keeps a second addition apart.
  Var c1 = mat(), c2 = mat();
  Var e = add(c2, add(c1, dot(x, y)));
  out = specialize_and_compare(
      {e}, random_bindings({{x, {2, 3}}, {y, {3, 2}}, {c1, {2, 2}}, {c2, {2, 2}}}),
      &stats);
  EXPECT_EQ(stats.count("gemm_accumulate"), 1);
  EXPECT_EQ(count_kind(out, "Elemwise"), 1);
}

TEST(Specialize, AdditionsAccumulateIntoGemv) {
  Var a = mat(), v = vec(), y = vec();
  RewriteStats stats;
  std::vector<Var> out =
      specialize_and_compare({sub(mul(lit(3), y), dot(v, a))},
                             random_bindings({{a, {4, 3}}, {v, {4}}, {y, {3}}}), &stats);
  EXPECT_EQ(op_names(out), std::vector<std::string>{"Gemv{T, alpha=-1, beta=3}"});
}

TEST(Specialize, ScaledOperandsFoldIntoAlpha) {
  Var x = mat(), y = mat();
  RewriteStats stats;
  std::vector<Var> out = specialize_and_compare(
      {dot(mul(lit(2), x), neg(y))}, random_bindings({{x, {3, 4}}, {y, {4, 2}}}), &stats);
  EXPECT_EQ(stats.count("gemm_operand_scale"), 1);
  EXPECT_EQ(op_names(out), std::vector<std::string>{"Gemm{NN, alpha=-2, beta=0}"});
  // A scaled operand read elsewhere stays: folding would save nothing.
  Var x2 = mul(lit(2), x);
  out = rewrite({dot(x2, y), exp(x2)}, specialize_rules(), &stats);
  EXPECT_EQ(stats.count("gemm_operand_scale"), 1);
}

TEST(Specialize, SumOfAProductOfVectorsBecomesDot) {
  Var x = vec(DType::Float64, {5}), y = vec(DType::Float64, {5}), u = vec(), w = vec();
  RewriteStats stats;
  std::vector<Var> out =
      specialize_and_compare({sum(mul(x, y)), sum(mul(u, u))},
                             random_bindings({{x, {5}}, {y, {5}}, {u, {7}}}), &stats);
  EXPECT_EQ(stats.count("sum_mul_to_dot"), 2);
  EXPECT_EQ(op_names(out), (std::vector<std::string>{"Dot", "Dot"}));
  // Lengths not known equal (one may be 1 and broadcast), a product read
  // elsewhere, or a sum over part of the axes: left alone.
  Var p = mul(x, y);
  Var m = mat();
  rewrite({sum(mul(u, w)), sum(p), exp(p), sum(mul(m, m), std::vector<int>{1})},
          specialize_rules(), &stats);
  EXPECT_EQ(stats.count("sum_mul_to_dot"), 2);
}

}  // namespace
}  // namespace theanine
