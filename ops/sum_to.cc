// SumTo: undoes NumPy broadcasting for gradients (see ops/gradient.h).
#include "graph/op.h"
#include "ops/gradient.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

class SumToOp : public Op {
 public:
  std::string name() const override { return "SumTo"; }

  std::vector<TensorType> infer_types(const std::vector<Var>& in) const override {
    const TensorType &g = in[0]->type, &like = in[1]->type;
    if (g.ndim() < like.ndim())
      throw TypeError("sum_to: the gradient has ndim " + std::to_string(g.ndim()) +
                      ", fewer than the target's " + std::to_string(like.ndim()));
    return {TensorType(g.dtype, like.shape)};
  }

  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& in) const override {
    const NDArray &g = in[0], &like = in[1];
    const int lead = g.ndim() - like.ndim();
    if (lead == 0 && g.shape() == like.shape()) return {g};
    std::vector<int> axes;
    for (int a = 0; a < g.ndim(); ++a) {
      if (a < lead) {
        axes.push_back(a);
      } else if (like.shape(a - lead) == 1 && g.shape(a) != 1) {
        axes.push_back(a);
      } else if (like.shape(a - lead) != g.shape(a)) {
        throw ShapeError("sum_to: gradient of shape " + shape_str(g.shape()) +
                         " does not broadcast from shape " + shape_str(like.shape()));
      }
    }
    // Sum through the reduction op's own reference evaluation, so there is one
    // summation routine (Reduce::perform reads only its inputs).
    NDArray r = Reduce(ReduceKind::Sum, axes, /*keepdims=*/true).perform(node, {g}).at(0);
    if (r.dtype() != g.dtype()) r = r.astype(g.dtype());
    return {r.reshape(like.shape())};
  }

  bool is_view() const override { return true; }
  // Only input 0 is viewed (the others are shapes, indices or a shape model).
  std::vector<int> viewed_inputs(const Apply&) const override { return {0}; }

  std::vector<Var> grad(const Apply& node, const std::vector<Var>& gz) const override {
    // Broadcast the gradient back to g's shape; `like` only lends its shape.
    const Var& g = node.inputs[0];
    std::vector<Var> dims;
    for (int i = 0; i < g.ndim(); ++i) dims.push_back(shape_i(g, i));
    return {alloc(gz[0], dims), Var()};
  }
};

}  // namespace

Var sum_to(const Var& g, const Var& like, const Here& loc) {
  if (g->type == like->type && g->type.shape_known()) return g;
  return make_node1(std::make_shared<SumToOp>(), {g, like}, user_loc(loc));
}

}  // namespace theanine
