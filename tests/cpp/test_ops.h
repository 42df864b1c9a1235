#pragma once
// Tiny ops private to the tests, so graph/ and codegen/ tests need no concrete op
// from ops/.
#include "graph/op.h"
#include "runtime/error.h"

namespace theanine::testing {

// out = a + b elementwise for same-shape float inputs (enough to build graphs).
class PlusOp : public Op {
 public:
  std::string name() const override { return "TestPlus"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& in) const override {
    if (in[0]->type.ndim() != in[1]->type.ndim()) throw ShapeError("ndim differs");
    Shape s = in[0]->type.shape;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] < 0) s[i] = in[1]->type.shape[i];
    return {TensorType(in[0]->type.dtype, s)};
  }
  std::vector<NDArray> perform(const Apply&,
                               const std::vector<NDArray>& in) const override {
    if (in[0].shape() != in[1].shape())
      throw ShapeError("shapes " + shape_str(in[0].shape()) + " and " +
                       shape_str(in[1].shape()) + " differ");
    NDArray out = NDArray::empty(in[0].dtype(), in[0].shape());
    NDArray a = in[0].contiguous(), b = in[1].contiguous();
    for (int64_t i = 0; i < out.size(); ++i)
      out.set_item_double(i, a.item_double(i) + b.item_double(i));
    return {out};
  }
};

inline Var plus(const Var& a, const Var& b) {
  return make_node1(std::make_shared<PlusOp>(), {a, b}, user_loc(Here::current()));
}

}  // namespace theanine::testing
