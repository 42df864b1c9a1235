// The update rules (ops/updates.h) against a naive loop re-implementing each rule
// over a few steps of a small quadratic, in float32 and float64; the state they
// create, learning rates as numbers and as shared scalars, and argument errors.
#include "ops/updates.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "codegen/function.h"
#include "ops/elemwise.h"
#include "ops/operators.h"
#include "ops/reduce.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using testing::expect_error;
using testing::values;

using V = std::vector<double>;

// The reference rules on plain vectors. `state` holds the rule's accumulators
// (sized on first use); t counts steps (Adam).
struct RefRule {
  std::string name;
  std::function<void(V& p, const V& g, std::vector<V>& state, int t)> step;
};

constexpr double kLr = 0.1, kMom = 0.8, kEps = 1e-6, kRho = 0.9, kB1 = 0.9, kB2 = 0.999,
                 kAdamEps = 1e-8;

std::vector<RefRule> reference_rules() {
  return {
      {"sgd",
       [](V& p, const V& g, std::vector<V>&, int) {
         for (size_t i = 0; i < p.size(); ++i) p[i] -= kLr * g[i];
       }},
      {"momentum",
       [](V& p, const V& g, std::vector<V>& s, int) {
         for (size_t i = 0; i < p.size(); ++i) {
           s[0][i] = kMom * s[0][i] - kLr * g[i];
           p[i] += s[0][i];
         }
       }},
      {"nesterov_momentum",
       [](V& p, const V& g, std::vector<V>& s, int) {
         for (size_t i = 0; i < p.size(); ++i) {
           s[0][i] = kMom * s[0][i] - kLr * g[i];
           p[i] += kMom * s[0][i] - kLr * g[i];
         }
       }},
      {"adagrad",
       [](V& p, const V& g, std::vector<V>& s, int) {
         for (size_t i = 0; i < p.size(); ++i) {
           s[0][i] += g[i] * g[i];
           p[i] -= kLr * g[i] / std::sqrt(s[0][i] + kEps);
         }
       }},
      {"rmsprop",
       [](V& p, const V& g, std::vector<V>& s, int) {
         for (size_t i = 0; i < p.size(); ++i) {
           s[0][i] = kRho * s[0][i] + (1 - kRho) * g[i] * g[i];
           p[i] -= kLr * g[i] / std::sqrt(s[0][i] + kEps);
         }
       }},
      {"adam",
       [](V& p, const V& g, std::vector<V>& s, int t) {
         const double a = kLr * std::sqrt(1 - std::pow(kB2, t)) / (1 - std::pow(kB1, t));
         for (size_t i = 0; i < p.size(); ++i) {
           s[0][i] = kB1 * s[0][i] + (1 - kB1) * g[i];
           s[1][i] = kB2 * s[1][i] + (1 - kB2) * g[i] * g[i];
           p[i] -= a * s[0][i] / (std::sqrt(s[1][i]) + kAdamEps);
         }
       }},
  };
}

Updates build(const std::string& rule, const std::vector<Var>& g,
              const std::vector<Var>& p, const Var& lr, double wd) {
  using namespace updates;
  if (rule == "sgd") return sgd(g, p, lr, wd);
  if (rule == "momentum") return momentum(g, p, lr, kMom, wd);
  if (rule == "nesterov_momentum") return nesterov_momentum(g, p, lr, kMom, wd);
  if (rule == "adagrad") return adagrad(g, p, lr, kEps, wd);
  if (rule == "rmsprop") return rmsprop(g, p, lr, kRho, kEps, wd);
  return adam(g, p, lr, kB1, kB2, kAdamEps, wd);
}

// cost = 0.5 * sum(c * (p - target)^2): the gradient is c * (p - target).
void check_rule(const RefRule& ref, DType dtype, double wd) {
  SCOPED_TRACE(ref.name + " " + dtype_name(dtype) + " wd=" + std::to_string(wd));
  const V p0 = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5}, target = {1, 2, -1, 0, 0.5, 3},
          c = {1, 2, 0.5, 3, 1.5, 0.25};
  Var p = make_shared(NDArray::from_vector(p0, {2, 3}).astype(dtype), "p");
  Var tgt = make_constant(NDArray::from_vector(target, {2, 3}).astype(dtype));
  Var cc = make_constant(NDArray::from_vector(c, {2, 3}).astype(dtype));
  Var cost = 0.5 * sum(cc * sqr(p - tgt));
  Var lr = make_shared(NDArray::scalar(dtype, kLr), "lr");
  Function f =
      function({}, {cost}, build(ref.name, updates::cost_grads(cost, {p}), {p}, lr, wd));

  V want = p0;
  std::vector<V> state(2, V(p0.size(), 0.0));
  const double tol = dtype == DType::Float32 ? 2e-5 : 1e-12;
  for (int t = 1; t <= 4; ++t) {
    f({});
    V g(want.size());
    for (size_t i = 0; i < g.size(); ++i)
      g[i] = c[i] * (want[i] - target[i]) + wd * want[i];
    ref.step(want, g, state, t);
    V got = values(get_value(p));
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "step " << t;
  }
  EXPECT_EQ(get_value(p).dtype(), dtype);
}

TEST(UpdatesTest, EachRuleMatchesTheNaiveLoopInBothFloatDtypes) {
  for (const RefRule& r : reference_rules())
    for (DType d : {DType::Float32, DType::Float64})
      for (double wd : {0.0, 0.01}) check_rule(r, d, wd);
}

TEST(UpdatesTest, StateIsZerosOfTheParamsTypeAndEveryNewValueHasItsTargetsType) {
  NDArray w = NDArray::from_vector(V{1, 2, 3}, {1, 3});
  Var W = make_shared(w.astype(DType::Float32), TensorType(DType::Float32, {1, -1}), "W",
                      false);
  Var g = make_input(TensorType(DType::Float64, {1, -1}), "g");
  Updates u = updates::adam({g}, {W}, 0.01);
  ASSERT_EQ(u.size(), 4u);  // W, m, v, t
  for (auto& [target, value] : u) {
    EXPECT_TRUE(target->is_shared());
    EXPECT_EQ(value.dtype(), target.dtype()) << target->display_name();
  }
  for (int k : {1, 2}) {
    EXPECT_EQ(u[k].first->type, W->type);
    NDArray s = get_value(u[k].first);
    EXPECT_EQ(s.shape(), (Shape{1, 3}));
    EXPECT_EQ(values(s), (V{0, 0, 0}));
  }
  EXPECT_EQ(u[3].first.ndim(), 0);
}

TEST(UpdatesTest, NumberLearningRateTakesTheParamsDtype) {
  Var W = make_shared(NDArray::from_vector(V{1, 2}, {2}).astype(DType::Float32), "W");
  Var cost = sum(sqr(W));
  Updates u = updates::momentum(updates::cost_grads(cost, {W}), {W}, 0.5, 0.0);
  Function f = function({}, {cost}, u);
  f({});
  // momentum 0: plain SGD, W - 0.5 * 2W = 0.
  EXPECT_EQ(values(get_value(W)), (V{0, 0}));
}

TEST(UpdatesTest, BadArgumentsAreClearErrors) {
  Var W = make_shared(NDArray::zeros(DType::Float32, {2}), "W");
  Var x = make_input(TensorType(DType::Float32, {2}), "x");
  expect_error<TypeError>([&] { updates::sgd({x}, {x}, 0.1); },
                          {"params[0]", "not a shared variable"});
  expect_error<TypeError>(
      [&] {
        updates::sgd({x, x}, {W}, 0.1);
      },
      {"2 gradients for 1 parameters"});
  Var lr_vec = make_input(TensorType(DType::Float32, {2}), "lr");
  expect_error<TypeError>([&] { updates::adam({x}, {W}, lr_vec); },
                          {"learning rate", "scalar"});
  Var m = make_input(TensorType(DType::Float32, {2, 2}), "m");
  expect_error<TypeError>([&] { updates::rmsprop({m}, {W}, 0.1); }, {"grads[0]", "ndim"});
  Var I = make_shared(NDArray::zeros(DType::Int32, {2}), "I");
  expect_error<TypeError>([&] { updates::sgd({x}, {I}, 0.1); }, {"only float"});
}

}  // namespace
}  // namespace theanine
