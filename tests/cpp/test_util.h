#pragma once
// Helpers shared by the C++ tests: graph inputs and arrays, running a graph,
// reading an array's elements, the ops a graph uses, comparing arrays, checking a
// rewrite against the graph it came from, and checking the exceptions code throws.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "codegen/function.h"
#include "graph/evaluate.h"
#include "graph/fgraph.h"
#include "ops/op_util.h"
#include "passes/rewriter.h"
#include "runtime/ndarray.h"

namespace theanine::testing {

// A graph input of type (d, s).
inline Var input(DType d, Shape s, std::string name = "") {
  return make_input(TensorType(d, std::move(s)), std::move(name));
}

// An array of shape s holding v in C order.
template <class T>
NDArray arr(const std::vector<T>& v, Shape s) {
  return NDArray::from_vector(v, std::move(s));
}

// Output 0 of function(ins, {out}), with the default options, called on args.
inline NDArray run1(const std::vector<Var>& ins, const Var& out,
                    const std::vector<NDArray>& args = {}) {
  std::vector<In> in(ins.begin(), ins.end());
  std::vector<Arg> a(args.begin(), args.end());
  return function(in, {out})(a).at(0);
}

// Every element of a, in C order, as a double.
inline std::vector<double> values(const NDArray& a) {
  std::vector<double> r;
  for (int64_t i = 0; i < a.size(); ++i) r.push_back(a.item_double(i));
  return r;
}

// A float scalar literal (a weak constant that takes its partner's dtype).
inline Var lit(double v) { return scalar_literal(v, false); }

// An array of dtype d and shape s drawn from a generator seeded with seed: values
// uniform in [-scale, scale) for floats, integers in [-5, 5] (so products stay
// exact) for integer dtypes, and coin flips for bool.
inline NDArray random_array(DType d, const Shape& s, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  std::uniform_int_distribution<int> i(-5, 5);
  NDArray a = NDArray::empty(d, s);
  for (int64_t k = 0; k < a.size(); ++k)
    a.set_item_double(k, is_float(d) ? u(rng) : is_bool(d) ? i(rng) > 0 : i(rng));
  return a;
}

// Output 0 of evaluate({out}, b).
inline NDArray eval1(const Var& out, const Bindings& b) {
  return evaluate({out}, b).at(0);
}

// The op name of every node outs use, in topological order.
inline std::vector<std::string> op_names(const std::vector<Var>& outs) {
  std::vector<std::string> names;
  for (Apply* n : toposort(outs)) names.push_back(n->op->name());
  return names;
}

// How many nodes of kind `kind` ("Gemm", "DimShuffle", "Elemwise") outs use.
inline int count_kind(const std::vector<Var>& outs, const std::string& kind) {
  int n = 0;
  for (Apply* node : toposort(outs)) n += op_kind(*node) == kind;
  return n;
}

// got has want's shape and dtype, and its values: NaN where want has NaN, exactly
// where want is infinite or not a float, elsewhere to within tol * (1 + |want|).
inline void expect_close(const NDArray& got, const NDArray& want, double tol,
                         const std::string& what = "") {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  for (int64_t i = 0; i < got.size(); ++i) {
    const double g = got.item_double(i), w = want.item_double(i);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " at " << i;
    } else if (!is_float(want.dtype()) || std::isinf(w)) {
      EXPECT_EQ(g, w) << what << " at " << i;
    } else {
      EXPECT_NEAR(g, w, tol * (1 + std::fabs(w))) << what << " at " << i;
    }
  }
}

// Rewrites `outs` with `rules`, checks that each output keeps its dtype and ndim
// and that both graphs agree on `b` (expect_close with tol). Returns the
// rewritten outputs.
inline std::vector<Var> rewrite_and_compare(const std::vector<Var>& outs,
                                            const RuleSet& rules, const Bindings& b,
                                            RewriteStats* stats, double tol) {
  std::vector<Var> out = rewrite(outs, rules, stats);
  std::vector<NDArray> before = evaluate(outs, b), after = evaluate(out, b);
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_EQ(out[i]->type.dtype, outs[i]->type.dtype) << i;
    EXPECT_EQ(out[i]->type.ndim(), outs[i]->type.ndim()) << i;
    expect_close(after[i], before[i], tol, "output " + std::to_string(i));
  }
  return out;
}

// The message of the E that f throws. When f throws nothing or an exception of
// another type, adds a test failure and returns nullopt.
template <class E, class F>
std::optional<std::string> caught_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return std::string(e.what());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return std::nullopt;
  }
  ADD_FAILURE() << "no exception thrown";
  return std::nullopt;
}

// The message of the E that f throws; "" (and a test failure) when f throws
// nothing or an exception of another type.
template <class E, class F>
std::string error_of(F&& f) {
  return caught_message<E>(std::forward<F>(f)).value_or("");
}

// Checks that f throws an E with every part in its message.
template <class E, class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  const std::optional<std::string> msg = caught_message<E>(std::forward<F>(f));
  if (!msg) return;
  for (const std::string& p : parts)
    EXPECT_NE(msg->find(p), std::string::npos)
        << "message '" << *msg << "' lacks '" << p << "'";
}

}  // namespace theanine::testing
