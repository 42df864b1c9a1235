#include "ops/one_hot.h"

#include <cstring>
#include <memory>

#include "ops/op_util.h"
#include "runtime/error.h"

namespace theanine {

std::vector<TensorType> OneHot::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 2)
    throw ValueError("to_one_hot takes y and nb_class, got " +
                     std::to_string(inputs.size()) + " inputs");
  const Var &y = inputs[0], &n = inputs[1];
  if (y.ndim() != 1 || !is_integer(y.dtype()))
    throw TypeError("to_one_hot: y must be an integer vector, got " + y->describe() +
                    " of type " + y->type.str());
  if (n.ndim() != 0 || !is_integer(n.dtype()))
    throw TypeError("to_one_hot: nb_class must be an integer scalar, got " +
                    n->describe() + " of type " + n->type.str());
  int64_t cols = -1;
  if (std::optional<int64_t> c = constant_int(n)) {
    if (*c < 0)
      throw ValueError("to_one_hot: nb_class must be non-negative, got " +
                       std::to_string(*c));
    cols = *c;
  }
  return {TensorType(dtype_, {y->type.shape[0], cols})};
}

std::vector<NDArray> OneHot::perform(const Apply& node,
                                     const std::vector<NDArray>& inputs) const {
  const NDArray y = inputs.at(0);
  const int64_t n = inputs.at(1).item_int();
  if (n < 0)
    throw ValueError("to_one_hot: nb_class must be non-negative, got " +
                     std::to_string(n));
  const int64_t rows = y.shape(0);
  NDArray out = NDArray::zeros(dtype_, {rows, n});
  const int64_t stride = y.strides()[0];
  dispatch_dtype(y.dtype(), [&](auto ty) {
    using Y = decltype(ty);
    const Y* py = y.data<Y>();
    dispatch_dtype(dtype_, [&](auto to) {
      using O = decltype(to);
      O* po = out.data<O>();
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t label = static_cast<int64_t>(py[i * stride]);
        if (label < 0 || label >= n)
          throw IndexError("to_one_hot: label " + std::to_string(label) + " (y[" +
                           std::to_string(i) +
                           "]) is out of range for nb_class=" + std::to_string(n));
        po[i * n + label] = O(1);
      }
    });
  });
  return {out};
}

Var to_one_hot(const Var& y, const Var& nb_class, DType dtype, const Here& loc) {
  return make_node1(std::make_shared<OneHot>(dtype), {y, nb_class}, user_loc(loc));
}

Var to_one_hot(const Var& y, int64_t nb_class, DType dtype, const Here& loc) {
  return to_one_hot(
      y, make_constant(NDArray::scalar(DType::Int64, nb_class), "", false, loc), dtype,
      loc);
}

}  // namespace theanine
