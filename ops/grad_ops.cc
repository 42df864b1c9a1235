// Identity ops that change only how gradients flow (see ops/gradient.h).
#include "graph/op.h"
#include "ops/gradient.h"
#include "ops/shape_ops.h"

namespace theanine {

namespace {

class GradBlockOp : public Op {
 public:
  explicit GradBlockOp(bool zero) : zero_(zero) {}
  std::string name() const override { return zero_ ? "ZeroGrad" : "DisconnectedGrad"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& in) const override {
    return {in[0]->type};
  }
  std::vector<NDArray> perform(const Apply&,
                               const std::vector<NDArray>& in) const override {
    return {in[0]};
  }
  bool is_view() const override { return true; }
  // Only input 0 is viewed (the others are shapes, indices or a shape model).
  std::vector<int> viewed_inputs(const Apply&) const override { return {0}; }
  std::vector<Var> grad(const Apply& node, const std::vector<Var>&) const override {
    return {zero_ ? zeros_like(node.inputs[0]) : Var()};
  }

 private:
  bool zero_;
};

}  // namespace

Var zero_grad(const Var& x, const Here& loc) {
  return make_node1(std::make_shared<GradBlockOp>(true), {x}, user_loc(loc));
}

Var disconnected_grad(const Var& x, const Here& loc) {
  return make_node1(std::make_shared<GradBlockOp>(false), {x}, user_loc(loc));
}

}  // namespace theanine
