#include "passes/inplace.h"

#include <gtest/gtest.h>

#include <random>

#include "codegen/function.h"
#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "graph/op.h"
#include "ops/blas.h"
#include "ops/elemwise.h"
#include "ops/operators.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

Var vec_input(const std::string& name, int64_t n = -1) {
  return input(DType::Float64, {n}, name);
}

// The input each output of the node computing `v` overwrites (-1: none).
int reused(const InplacePlan& plan, const Var& v) {
  return plan.reused_input(v->owner, v->index);
}

int position(const InplacePlan& plan, const Var& v) {
  for (size_t p = 0; p < plan.order.size(); ++p)
    if (plan.order[p] == v->owner) return static_cast<int>(p);
  return -1;
}

// Runs `outs` through the planned schedule with the plan's overwrites (the
// executor's path) and through evaluate(), and compares.
void expect_same_values(const std::vector<In>& ins, const std::vector<Var>& outs,
                        const std::vector<NDArray>& args) {
  std::vector<Out> o(outs.begin(), outs.end());
  Function fast = function(ins, o);
  FunctionOptions ref;
  ref.mode = "NO_OPTIMIZATION";
  Function slow = function(ins, o, {}, ref);
  std::vector<NDArray> copies;
  for (const NDArray& a : args) copies.push_back(a.copy());
  std::vector<Arg> a(args.begin(), args.end());
  std::vector<NDArray> got = fast(a), want = slow(a);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape());
    for (int64_t j = 0; j < got[i].size(); ++j)
      EXPECT_NEAR(got[i].item_double(j), want[i].item_double(j), 1e-12);
  }
  for (size_t i = 0; i < args.size(); ++i)
    EXPECT_EQ(values(args[i]), values(copies[i])) << "input " << i << " was modified";
}

TEST(Inplace, IntermediateWithNoLaterReaderIsOverwritten) {
  Var x = vec_input("x");
  Var y = exp(x);
  Var z = tanh(y);
  RewriteStats stats;
  InplacePlan plan = plan_inplace({z}, &stats);
  EXPECT_EQ(reused(plan, y), -1);  // x is the caller's array
  EXPECT_EQ(reused(plan, z), 0);
  EXPECT_EQ(stats.count("inplace"), 1);
  ASSERT_EQ(plan.order.size(), 2u);
  expect_same_values({x}, {z}, {random_array(DType::Float64, {7}, 1)});
}

TEST(Inplace, InputsConstantsAndSharedValuesAreNotOverwritten) {
  Var x = vec_input("x", 4), y = vec_input("y", 4);
  Var w = make_shared(random_array(DType::Float64, {4}, 2), "w");
  Var c = make_constant(random_array(DType::Float64, {4}, 3), "c");
  Var a = add(x, y), b = mul(w, c), d = sub(c, x);
  InplacePlan plan = plan_inplace({a, b, d});
  EXPECT_TRUE(plan.reuse.empty());
}

TEST(Inplace, SharedVariablesAreNeverOverwrittenEvenByTheirOwnUpdate) {
  Var x = vec_input("x", 3);
  Var w = make_shared(random_array(DType::Float64, {3}, 4), "w");
  Var v = make_shared(random_array(DType::Float64, {3}, 5), "v");
  Var w_new = sub(w, mul(x, v));
  // Updates stay atomic: a failure later in the call must not leave w or v
  // half-written, so neither update takes its variable's buffer.
  Var v_new = add(v, w);
  RewriteStats stats;
  InplacePlan plan = plan_inplace({w_new, v_new}, &stats);
  EXPECT_NE(reused(plan, w_new), 0);
  EXPECT_NE(reused(plan, v_new), 0);
  EXPECT_EQ(stats.count("inplace_update"), 0);
  // The product is an intermediate: w's update may overwrite it instead.
  EXPECT_EQ(reused(plan_inplace({w_new}), w_new), 1);

  NDArray xv = random_array(DType::Float64, {3}, 26);
  std::vector<double> vw = values(get_value(w)), vv = values(get_value(v));
  Function f = function({x}, {}, {{w, w_new}, {v, v_new}});
  f({xv});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(get_value(w).item_double(i), vw[i] - xv.item_double(i) * vv[i], 1e-12);
    EXPECT_NEAR(get_value(v).item_double(i), vv[i] + vw[i], 1e-12);
  }
}

TEST(Inplace, SharedViewOrOutputIsNotOverwritten) {
  Var w = make_shared(random_array(DType::Float64, {3, 3}, 6), "w");
  // The update reads w only through a view: the view could be anything.
  Var w_new = exp(transpose(w));
  EXPECT_TRUE(plan_inplace({w_new}).reuse.empty());
  // w's old value is an output too, read after the update would run.
  Var w2 = mul(w, w);
  EXPECT_TRUE(plan_inplace({w2, w}).reuse.empty());
  EXPECT_TRUE(plan_inplace({w2, transpose(w)}).reuse.empty());
  // Another variable's update value is w's old value: protected as well.
  Var u = make_shared(random_array(DType::Float64, {3, 3}, 7), "u");
  EXPECT_TRUE(plan_inplace({w2, w}).reuse.empty());
}

TEST(Inplace, LaterReaderForbidsOrIsScheduledFirst) {
  Var x = vec_input("x");
  Var y = exp(x);
  Var a = tanh(y);
  Var b = add(a, y);  // reads y after tanh: tanh must not overwrite y
  InplacePlan plan = plan_inplace({b});
  EXPECT_EQ(reused(plan, a), -1);
  EXPECT_EQ(reused(plan, b), 0);  // a is dead after b
  expect_same_values({x}, {b}, {random_array(DType::Float64, {5}, 8)});

  // Two independent readers: one overwrites, the other is scheduled first.
  Var p = tanh(y), q = sin(y);
  InplacePlan plan2 = plan_inplace({p, q});
  int rp = reused(plan2, p), rq = reused(plan2, q);
  EXPECT_EQ((rp == 0) + (rq == 0), 1);
  if (rp == 0) {
    EXPECT_LT(position(plan2, q), position(plan2, p));
  } else {
    EXPECT_LT(position(plan2, p), position(plan2, q));
  }
  expect_same_values({x}, {p, q}, {random_array(DType::Float64, {5}, 9)});
}

TEST(Inplace, ViewsOfAnIntermediateCountAsReaders) {
  Var x = input(DType::Float64, {3, 3}, "x");
  Var y = exp(x);
  Var yt = transpose(y);
  // y.T is an output: y's buffer is read after the graph ran.
  Var a = tanh(y);
  EXPECT_EQ(reused(plan_inplace({a, yt}), a), -1);
  // y.T is read by a later node.
  Var b = add(tanh(y), yt);
  InplacePlan plan = plan_inplace({b});
  EXPECT_EQ(reused(plan, b->owner->inputs[0]), -1);
  // Another operand of the same node sees y through a view.
  Var c = add(y, yt);
  EXPECT_EQ(reused(plan_inplace({c}), c), -1);
  // The same variable twice reads the same positions: fine.
  Var d = mul(y, y);
  EXPECT_EQ(reused(plan_inplace({d}), d), 0);
  expect_same_values({x}, {b, c, d}, {random_array(DType::Float64, {3, 3}, 10)});
}

TEST(Inplace, BroadcastOrDtypeChangeIsNotOverwritten) {
  Var x = input(DType::Float64, {3, 1}, "x");
  Var y = input(DType::Float64, {3, 4}, "y");
  Var a = exp(x), b = exp(y);
  Var c = add(a, b);  // a is broadcast: only b has the output's shape
  EXPECT_EQ(reused(plan_inplace({c}), c), 1);
  Var d = b > 0.0;  // bool from float64
  EXPECT_EQ(reused(plan_inplace({d}), d), -1);
  Var f32 = cast(b, DType::Float32);
  EXPECT_EQ(reused(plan_inplace({f32}), f32), -1);
  expect_same_values({x, y}, {c, d},
                     {random_array(DType::Float64, {3, 1}, 11),
                      random_array(DType::Float64, {3, 4}, 12)});
}

TEST(Inplace, UnknownShapeThatBroadcastsAtRunTimeIsAllocated) {
  Var x = vec_input("x"), y = vec_input("y");
  Var a = exp(x), b = exp(y);
  Var c = add(a, b);  // statically (?,): a may be overwritten if it is not broadcast
  EXPECT_EQ(reused(plan_inplace({c}), c), 0);
  expect_same_values(
      {x, y}, {c},
      {random_array(DType::Float64, {1}, 13), random_array(DType::Float64, {6}, 14)});
  expect_same_values(
      {x, y}, {c},
      {random_array(DType::Float64, {6}, 15), random_array(DType::Float64, {1}, 16)});
  expect_same_values(
      {x, y}, {c},
      {random_array(DType::Float64, {6}, 17), random_array(DType::Float64, {6}, 18)});
}

TEST(Inplace, UpdatesReadingEachOthersOldValues) {
  Var a = make_shared(random_array(DType::Float64, {4}, 19), "a");
  Var b = make_shared(random_array(DType::Float64, {4}, 20), "b");
  Var a_new = add(a, b), b_new = mul(b, a);
  InplacePlan plan = plan_inplace({a_new, b_new});
  // Each update reads the other's old value: only one may overwrite.
  EXPECT_EQ((reused(plan, a_new) == 0) + (reused(plan, b_new) == 0), 0);  // atomic

  std::vector<double> va = values(get_value(a)), vb = values(get_value(b));
  Function f = function({}, {}, {{a, a_new}, {b, b_new}});
  for (int call = 0; call < 3; ++call) {
    f({});
    for (size_t i = 0; i < va.size(); ++i) {
      double na = va[i] + vb[i], nb = vb[i] * va[i];
      va[i] = na;
      vb[i] = nb;
    }
    EXPECT_EQ(values(get_value(a)), va);
    EXPECT_EQ(values(get_value(b)), vb);
  }
}

TEST(Inplace, UpdateNeverWritesTheSharedBuffer) {
  Var w = make_shared(random_array(DType::Float64, {1000}, 21), "w");
  Var x = vec_input("x", 1000);
  Var w_new = mul(w, sum(x));
  Function f = function({x}, {}, {{w, w_new}});
  EXPECT_EQ(f.rewrite_stats().count("inplace_update"), 0u);

  NDArray xv = random_array(DType::Float64, {1000}, 22);
  std::vector<double> want = values(get_value(w));
  double s = 0;
  for (int64_t i = 0; i < 1000; ++i) s += xv.item_double(i);
  for (int64_t i = 0; i < 1000; ++i) want[i] *= s;
  NDArray before = get_value(w, /*borrow=*/true);
  std::vector<double> old = values(before);
  f({xv});
  EXPECT_EQ(values(before), old);  // the old buffer is untouched
  std::vector<double> got = values(get_value(w));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9);
}

TEST(Inplace, FailingCallLeavesSharedValuesAlone) {
  Var w = make_shared(random_array(DType::Float64, {4}, 27), "w");
  Var x = vec_input("x"), y = vec_input("y");
  Function f = function({x, y}, {add(x, y)}, {{w, mul(w, sum(x))}});
  std::vector<double> old = values(get_value(w));
  expect_error<ShapeError>(
      [&] {
        f({random_array(DType::Float64, {3}, 28), random_array(DType::Float64, {2}, 29)});
      },
      {"broadcast"});
  EXPECT_EQ(values(get_value(w)), old);
}

TEST(Inplace, CallerHoldingTheSharedValueKeepsItsArray) {
  Var w = make_shared(random_array(DType::Float64, {16}, 23), "w");
  Var w_new = mul(w, sum(w));
  Function f = function({}, {}, {{w, w_new}});
  NDArray held = get_value(w, /*borrow=*/true);
  std::vector<double> old = values(held);
  f({});
  EXPECT_EQ(values(held), old);  // allocated instead of overwriting
  EXPECT_NE(get_value(w, true).raw(), held.raw());
}

TEST(Inplace, BorrowedSharedMemoryIsNotOverwritten) {
  std::vector<double> storage(8, 2.0);
  NDArray borrowed = NDArray::borrow(storage.data(), DType::Float64, {8}, {1}, nullptr,
                                     storage.size() * sizeof(double));
  Var w = make_shared(borrowed, "w", /*borrow=*/true);
  Var w_new = mul(w, sum(w));
  Function f = function({}, {}, {{w, w_new}});
  f({});
  EXPECT_EQ(storage, std::vector<double>(8, 2.0));
  EXPECT_EQ(values(get_value(w)), std::vector<double>(8, 32.0));
}

TEST(Inplace, OutputAlsoUpdateValueIsReturnedAsACopy) {
  Var w = make_shared(random_array(DType::Float64, {5}, 24), "w");
  Var w_new = add(w, sum(w));
  Function f = function({}, {w_new}, {{w, w_new}});
  NDArray first = f({}).at(0);
  std::vector<double> snapshot = values(first);
  EXPECT_EQ(values(get_value(w)), snapshot);
  EXPECT_FALSE(first.shares_memory(get_value(w, true)));
  f({});
  EXPECT_EQ(values(first), snapshot);
}

TEST(Inplace, NoInplaceWithoutOptimization) {
  Var w = make_shared(random_array(DType::Float64, {5}, 25), "w");
  Var w_new = add(w, sum(w));
  for (const char* mode : {"NO_OPTIMIZATION", "FAST_COMPILE"}) {
    FunctionOptions o;
    o.mode = mode;
    Function f = function({}, {}, {{w, w_new}}, o);
    EXPECT_EQ(f.rewrite_stats().count("inplace"), 0u) << mode;
    EXPECT_EQ(f.debugprint().find("(inplace"), std::string::npos) << mode;
  }
}

// A random graph over matrices (3, 4), their transposes (4, 3) and vectors
// (4,): elementwise ops (broadcasting included), views, reductions, products,
// and updates of two shared variables.
struct RandomGraph {
  std::vector<Var> outputs;
  Updates updates;
};

RandomGraph random_graph(std::mt19937& gen, const Var& x, const Var& y, const Var& v,
                         const Var& s, const Var& t, const Var& m) {
  auto pick = [&](const std::vector<Var>& pool) {
    return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(gen)];
  };
  auto coin = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(gen); };
  std::vector<Var> a{x, y, s, tanh(x)}, b{v, t}, c{transpose(x)};
  std::vector<Var> made;
  auto keep = [&](std::vector<Var>& pool, Var r) {
    pool.push_back(r);
    made.push_back(r);
  };
  const int steps = 4 + coin(20);
  for (int i = 0; i < steps; ++i) {
    const int kind = coin(7);
    std::vector<Var>* fam = kind < 2 ? (coin(3) == 0 ? &b : coin(2) ? &a : &c) : &a;
    if (kind == 0) {
      Var u = pick(*fam);
      switch (coin(5)) {
        case 0:
          keep(*fam, tanh(u));
          break;
        case 1:
          keep(*fam, sin(u));
          break;
        case 2:
          keep(*fam, exp(neg(abs(u))));
          break;
        case 3:
          keep(*fam, u * 0.5);
          break;
        default:
          keep(*fam, mul(u, u));
      }
    } else if (kind == 1) {
      Var p = pick(*fam), q = pick(*fam);
      keep(*fam, coin(3) == 0 ? add(p, q) : coin(2) ? mul(p, q) : sub(p, q));
    } else if (kind == 2) {
      Var p = pick(a), q = pick(b);
      keep(a, coin(2) ? mul(p, q) : sub(q, p));
    } else if (kind == 3) {
      if (coin(3) == 0)
        keep(c, transpose(pick(a)));
      else if (coin(2))
        keep(a, transpose(pick(c)));
      else
        keep(c, reshape(pick(a), {4, 3}));
    } else if (kind == 4) {
      keep(b, sum(pick(a), std::vector<int>{0}));
    } else if (kind == 5) {
      Var p = pick(a);
      keep(a, add(p, transpose(transpose(p))));  // a view of p read with p
    } else {
      keep(a, dot(pick(a), m));
    }
  }
  RandomGraph g;
  const int n_out = 1 + coin(3);
  for (int i = 0; i < n_out && !made.empty(); ++i) g.outputs.push_back(pick(made));
  if (coin(3)) g.updates.push_back({s, pick(a)});
  if (coin(3)) g.updates.push_back({t, pick(b)});
  return g;
}

void expect_close(const NDArray& got, const NDArray& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t j = 0; j < got.size(); ++j)
    ASSERT_NEAR(got.item_double(j), want.item_double(j),
                1e-10 * (1 + std::abs(want.item_double(j))))
        << what << " element " << j;
}

TEST(Inplace, RandomGraphsGiveTheSameResultsWithAndWithoutInplace) {
  int decided = 0;
  for (uint32_t seed = 0; seed < 150; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 gen(seed);
    Var x = input(DType::Float64, {-1, 4}, "x"), y = input(DType::Float64, {3, -1}, "y");
    Var v = input(DType::Float64, {-1}, "v");
    Var s = make_shared(random_array(DType::Float64, {3, 4}, seed + 1000), "s");
    Var t = make_shared(random_array(DType::Float64, {4}, seed + 2000), "t");
    Var m = make_shared(random_array(DType::Float64, {4, 4}, seed + 3000), "m");
    RandomGraph g = random_graph(gen, x, y, v, s, t, m);
    std::vector<Out> outs(g.outputs.begin(), g.outputs.end());
    for (const char* mode : {"NO_OPTIMIZATION", "FAST_RUN"}) {
      SCOPED_TRACE(mode);
      FunctionOptions with, without;
      with.mode = without.mode = mode;
      with.on_unused_input = without.on_unused_input = UnusedInput::Ignore;
      with.inplace = true;
      without.inplace = false;
      Function f = function({x, y, v}, outs, g.updates, with);
      Function ref = function({x, y, v}, outs, g.updates, without);
      decided += f.rewrite_stats().count("inplace") ? f.rewrite_stats().at("inplace") : 0;
      for (int call = 0; call < 3; ++call) {
        std::vector<NDArray> args{random_array(DType::Float64, {3, 4}, seed * 7 + call),
                                  random_array(DType::Float64, {3, 4}, seed * 11 + call),
                                  random_array(DType::Float64, {4}, seed * 13 + call)};
        std::vector<NDArray> copies;
        for (const NDArray& a : args) copies.push_back(a.copy());
        NDArray s0 = get_value(s), t0 = get_value(t);
        std::vector<Arg> a(args.begin(), args.end());
        std::vector<NDArray> want = ref(a);
        NDArray s1 = get_value(s), t1 = get_value(t);
        set_value(s, s0);
        set_value(t, t0);
        std::vector<NDArray> got = f(a);
        for (size_t i = 0; i < got.size(); ++i)
          expect_close(got[i], want[i], "output " + std::to_string(i));
        expect_close(get_value(s), s1, "s");
        expect_close(get_value(t), t1, "t");
        for (size_t i = 0; i < args.size(); ++i)
          ASSERT_EQ(values(args[i]), values(copies[i])) << "input " << i << " modified";
      }
    }
  }
  EXPECT_GT(decided, 100);  // the graphs do exercise the pass
}

}  // namespace
}  // namespace theanine
