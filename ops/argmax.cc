// ArgReduce: argmax and argmin.
#include <cmath>
#include <numeric>

#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/reduce_axes.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// Index of the first maximum (or minimum) of n elements at p with stride s; the
// first NaN wins outright, as in NumPy.
template <bool IsMax, class T>
int64_t arg_extreme(const T* p, int64_t n, int64_t s) {
  T best = p[0];
  int64_t at = 0;
  if (best != best) return 0;
  for (int64_t i = 1; i < n; ++i) {
    T v = p[i * s];
    if (v != v) return i;
    if (IsMax ? v > best : v < best) best = v, at = i;
  }
  return at;
}

}  // namespace

ArgReduce::ArgReduce(bool is_max, std::optional<int> axis, bool keepdims)
    : is_max_(is_max), axis_(axis), keepdims_(keepdims) {}

std::string ArgReduce::name() const {
  return std::string(is_max_ ? "Argmax" : "Argmin") +
         "{axis=" + (axis_ ? std::to_string(*axis_) : "None") +
         ", keepdims=" + (keepdims_ ? "True" : "False") + "}";
}

std::vector<TensorType> ArgReduce::infer_types(const std::vector<Var>& inputs) const {
  const char* what = is_max_ ? "argmax" : "argmin";
  if (inputs.size() != 1)
    throw ValueError(std::string(what) + " takes 1 input, got " +
                     std::to_string(inputs.size()));
  const TensorType& t = inputs[0].type();
  if (!axis_) return {TensorType(DType::Int64, Shape(keepdims_ ? t.ndim() : 0, 1))};
  int a = normalize_axis(*axis_, t.ndim(), what);
  return {TensorType(DType::Int64, detail::reduced_shape(t.shape, {a}, keepdims_))};
}

std::vector<NDArray> ArgReduce::perform(const Apply& node,
                                        const std::vector<NDArray>& inputs) const {
  const char* what = is_max_ ? "argmax" : "argmin";
  const NDArray& x = inputs.at(0);
  // Over the flattened array (C order) when no axis is given.
  NDArray v = axis_ ? x : x.reshape({x.size()});
  const int axis = axis_ ? normalize_axis(*axis_, x.ndim(), what) : 0;
  const int64_t len = v.shape(axis);
  if (len == 0)
    throw ValueError(std::string(what) + ": attempt to get " + what +
                     " of an empty sequence (input shape " + shape_str(x.shape()) +
                     ", axis=" + (axis_ ? std::to_string(*axis_) : "None") + ")");
  // Move the axis last; each output element then scans one strided row.
  std::vector<int> perm(v.ndim());
  std::iota(perm.begin(), perm.end(), 0);
  perm.erase(perm.begin() + axis);
  perm.push_back(axis);
  NDArray vt = v.transpose(perm);
  Shape outer(vt.shape().begin(), vt.shape().end() - 1);
  Shape outer_strides(vt.strides().begin(), vt.strides().end() - 1);
  const int64_t step = vt.strides().back();
  NDArray out = NDArray::empty(DType::Int64, outer);
  Shape out_strides = out.strides();
  int64_t* po = out.data<int64_t>();
  dispatch_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* px = vt.data<T>();
    for_each_offsets(outer, {&outer_strides, &out_strides}, [&](const int64_t* o) {
      po[o[1]] = is_max_ ? arg_extreme<true>(px + o[0], len, step)
                         : arg_extreme<false>(px + o[0], len, step);
    });
  });
  Shape final_shape = axis_ ? detail::reduced_shape(x.shape(), {axis}, keepdims_)
                            : Shape(keepdims_ ? x.ndim() : 0, 1);
  return {out.reshape(final_shape)};
}

namespace {
Var arg_reduce(bool is_max, const Var& x, std::optional<int> axis, bool keepdims,
               const Here& loc) {
  // Store the normalized axis so equal reductions merge; an invalid one is left
  // for infer_types to report with the user's line.
  if (x && axis && *axis < 0 && *axis + x.ndim() >= 0) *axis += x.ndim();
  if (x && axis && x.ndim() == 1 && *axis == 0 && !keepdims) axis.reset();
  return make_node1(std::make_shared<ArgReduce>(is_max, axis, keepdims), {x},
                    user_loc(loc));
}
}  // namespace

Var argmax(const Var& x, std::optional<int> axis, bool keepdims, const Here& loc) {
  return arg_reduce(true, x, axis, keepdims, loc);
}
Var argmin(const Var& x, std::optional<int> axis, bool keepdims, const Here& loc) {
  return arg_reduce(false, x, axis, keepdims, loc);
}

}  // namespace theanine
