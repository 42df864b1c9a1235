// The grad engine on test-local ops, so these tests do not depend on the rules
// of the concrete ops: accumulation, connectivity, options and errors.
#include "ops/gradient.h"

#include <gtest/gtest.h>

#include "codegen/function.h"
#include "graph/fgraph.h"
#include "graph/op.h"
#include "ops/elemwise.h"
#include "runtime/error.h"

namespace theanine {
namespace {

// y = a * x for a constant factor a (same shape in and out).
class ScaleOp : public Op {
 public:
  explicit ScaleOp(double a) : a_(a) {}
  std::string name() const override { return "Scale{" + std::to_string(a_) + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& in) const override {
    return {in[0]->type};
  }
  std::vector<NDArray> perform(const Apply&,
                               const std::vector<NDArray>& in) const override {
    NDArray out = in[0].copy();
    for (int64_t i = 0; i < out.size(); ++i)
      out.set_item_double(i, a_ * out.item_double(i));
    return {out};
  }
  std::vector<Var> grad(const Apply&, const std::vector<Var>& gz) const override {
    return {make_node1(std::make_shared<ScaleOp>(a_), {gz[0]}, SourceLoc())};
  }

 private:
  double a_;
};

// Not differentiable: the base class's grad.
class OpaqueOp : public Op {
 public:
  std::string name() const override { return "Opaque"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& in) const override {
    return {in[0]->type};
  }
  std::vector<NDArray> perform(const Apply&,
                               const std::vector<NDArray>& in) const override {
    return {in[0].copy()};
  }
};

Var scale(const Var& x, double a) {
  return make_node1(std::make_shared<ScaleOp>(a), {x}, user_loc(Here::current()));
}

double eval_scalar(const std::vector<Var>& ins, const Var& out,
                   const std::vector<NDArray>& args) {
  FunctionOptions o;
  o.on_unused_input = UnusedInput::Ignore;
  std::vector<In> in(ins.begin(), ins.end());
  std::vector<Arg> a(args.begin(), args.end());
  return function(in, {out}, {}, o)(a).at(0).item_double();
}

TEST(Grad, ChainAndFanOutAccumulate) {
  Var x = make_input(TensorType(DType::Float64, {}), "x");
  Var y = scale(x, 3.0);
  Var cost = add(scale(y, 2.0), scale(y, 5.0));  // 21 x
  Var g = grad(cost, x);
  EXPECT_EQ(g->type, x->type);
  EXPECT_DOUBLE_EQ(eval_scalar({x}, g, {NDArray::scalar(DType::Float64, 1.0)}), 21.0);
}

TEST(Grad, NodeCountGrowsLinearlyWithFanOutDepth) {
  // Each level uses the previous one twice: a naive backprop would double the
  // work per level; summing contributions once keeps it linear.
  auto grad_nodes = [](int depth) {
    Var x = make_input(TensorType(DType::Float64, {}), "x");
    Var h = x;
    for (int i = 0; i < depth; ++i) h = add(scale(h, 2.0), scale(h, 3.0));
    Var g = grad(h, x);
    return toposort({g}).size();
  };
  size_t n10 = grad_nodes(10), n20 = grad_nodes(20), n40 = grad_nodes(40);
  EXPECT_EQ(n40 - n20, 2 * (n20 - n10));
}

TEST(Grad, ConsiderConstantStopsTheGradient) {
  Var x = make_input(TensorType(DType::Float64, {}), "x");
  Var y = scale(x, 3.0);
  Var cost = add(y, scale(x, 2.0));
  GradOptions o;
  o.consider_constant = {y};
  EXPECT_DOUBLE_EQ(
      eval_scalar({x}, grad(cost, x, o), {NDArray::scalar(DType::Float64, 1)}), 2.0);
}

TEST(Grad, KnownGradsSeedTheBackwardPass) {
  Var x = make_input(TensorType(DType::Float64, {}), "x");
  Var y = scale(x, 3.0);
  Var gy = make_input(TensorType(DType::Float64, {}), "gy");
  GradOptions o;
  o.known_grads = {{y, gy}};
  Var g = grad(Var(), x, o);
  EXPECT_DOUBLE_EQ(eval_scalar({x, gy}, g,
                               {NDArray::scalar(DType::Float64, 1),
                                NDArray::scalar(DType::Float64, 4)}),
                   12.0);
  GradOptions bad;
  bad.known_grads = {{y, make_input(TensorType(DType::Float64, {-1}))}};
  EXPECT_THROW(grad(Var(), x, bad), TypeError);
  GradOptions bad_dtype;
  bad_dtype.known_grads = {{y, make_input(TensorType(DType::Int32, {}))}};
  EXPECT_THROW(grad(Var(), x, bad_dtype), TypeError);
}

TEST(Grad, CostMustBeAFloatScalar) {
  Var v = make_input(TensorType(DType::Float64, {3}), "v");
  try {
    grad(v, v);
    FAIL();
  } catch (const TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("scalar"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("gradient_test.cc"), std::string::npos);
  }
  Var i = make_input(TensorType(DType::Int32, {}), "i");
  EXPECT_THROW(grad(i, i), TypeError);
  EXPECT_THROW(grad(Var(), v), ValueError);
}

TEST(Grad, DisconnectedInputs) {
  Var x = make_input(TensorType(DType::Float64, {}), "x");
  Var unused = make_input(TensorType(DType::Float64, {2}), "unused");
  Var cost = scale(x, 2.0);
  try {
    grad(cost, unused);
    FAIL();
  } catch (const DisconnectedInputError& e) {
    EXPECT_NE(std::string(e.what()).find("unused"), std::string::npos);
  }
  GradOptions ignore;
  ignore.disconnected_inputs = DisconnectedInputs::Ignore;
  Var z = grad(cost, unused, ignore);
  EXPECT_EQ(z->type.dtype, DType::Float64);
  EXPECT_EQ(z->type.ndim(), 1);
  ignore.return_disconnected = ReturnDisconnected::Null;
  EXPECT_FALSE(static_cast<bool>(grad(cost, unused, ignore)));
}

TEST(Grad, NonDifferentiableOpNamesOpAndLine) {
  Var x = make_input(TensorType(DType::Float64, {}), "x");
  Var y = make_node1(std::make_shared<OpaqueOp>(), {x}, user_loc(Here::current()));
  try {
    grad(scale(y, 1.0), x);
    FAIL();
  } catch (const TypeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Opaque"), std::string::npos) << m;
    EXPECT_NE(m.find("gradient_test.cc"), std::string::npos) << m;
  }
}

TEST(Grad, GradientHasTheWrtDtype) {
  Var x = make_input(TensorType(DType::Float32, {}), "x");
  Var cost = cast(scale(cast(x, DType::Float64), 2.0), DType::Float64);
  EXPECT_EQ(grad(cost, x)->type.dtype, DType::Float32);
}

}  // namespace
}  // namespace theanine
