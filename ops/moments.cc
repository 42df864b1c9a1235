// Moments: var and std, computed in double in two passes (the mean, then the
// squared deviations from it) for accuracy.
#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/reduce_axes.h"
#include "ops/reduce_loop.h"
#include "runtime/error.h"

namespace theanine {

Moments::Moments(bool is_std, std::optional<std::vector<int>> axes, bool keepdims,
                 int ddof)
    : is_std_(is_std), axes_(std::move(axes)), keepdims_(keepdims), ddof_(ddof) {}

std::string Moments::name() const {
  return std::string(is_std_ ? "Std" : "Var") + "{axis=" + detail::axes_str(axes_) +
         ", keepdims=" + (keepdims_ ? "True" : "False") +
         ", ddof=" + std::to_string(ddof_) + "}";
}

namespace {
DType moments_dtype(DType in) { return is_float(in) ? in : DType::Float64; }
}  // namespace

std::vector<TensorType> Moments::infer_types(const std::vector<Var>& inputs) const {
  const char* what = is_std_ ? "std" : "var";
  if (inputs.size() != 1)
    throw ValueError(std::string(what) + " takes 1 input, got " +
                     std::to_string(inputs.size()));
  const TensorType& t = inputs[0].type();
  std::vector<int> axes = detail::resolve_axes(axes_, t.ndim(), what);
  return {TensorType(moments_dtype(t.dtype),
                     detail::reduced_shape(t.shape, axes, keepdims_))};
}

std::vector<NDArray> Moments::perform(const Apply& node,
                                      const std::vector<NDArray>& inputs) const {
  const NDArray& x = inputs.at(0);
  std::vector<int> axes = detail::resolve_axes(axes_, x.ndim(), is_std_ ? "std" : "var");
  const int64_t count = detail::reduced_count(x.shape(), axes);
  Shape kept = x.shape();
  for (int a : axes) kept[a] = 1;
  Shape acc_strides = contiguous_strides(kept);
  for (int a : axes) acc_strides[a] = 0;
  const int64_t n_out = shape_size(kept);
  std::unique_ptr<double[]> mean(new double[n_out]()), ss(new double[n_out]());

  dispatch_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    // A row along a reduced axis (sb == 0) folds into one local sum.
    detail::for_each_row2(x.shape(), x.strides(), acc_strides,
                          [&](int64_t oa, int64_t ob, int64_t n, int64_t sa, int64_t sb) {
                            if (sb == 0) {
                              double s = 0;
                              for (int64_t i = 0; i < n; ++i)
                                s += static_cast<double>(px[oa + i * sa]);
                              mean[ob] += s;
                            } else {
                              for (int64_t i = 0; i < n; ++i)
                                mean[ob + i * sb] += static_cast<double>(px[oa + i * sa]);
                            }
                          });
    // An empty reduction gives 0/0 = nan, as in NumPy.
    for (int64_t i = 0; i < n_out; ++i) mean[i] /= static_cast<double>(count);
    detail::for_each_row2(x.shape(), x.strides(), acc_strides,
                          [&](int64_t oa, int64_t ob, int64_t n, int64_t sa, int64_t sb) {
                            if (sb == 0) {
                              const double m = mean[ob];
                              double s = 0;
                              for (int64_t i = 0; i < n; ++i) {
                                double d = static_cast<double>(px[oa + i * sa]) - m;
                                s += d * d;
                              }
                              ss[ob] += s;
                            } else {
                              for (int64_t i = 0; i < n; ++i) {
                                double d = static_cast<double>(px[oa + i * sa]) -
                                           mean[ob + i * sb];
                                ss[ob + i * sb] += d * d;
                              }
                            }
                          });
  });

  // NumPy divides by max(n - ddof, 0): too few degrees of freedom give inf or
  // nan, not an error.
  const double dof = std::max<double>(static_cast<double>(count - ddof_), 0.0);
  NDArray out = NDArray::empty(moments_dtype(x.dtype()), kept);
  dispatch_dtype(out.dtype(), [&](auto t) {
    using O = decltype(t);
    if constexpr (std::is_floating_point_v<O>) {
      O* po = out.data<O>();
      for (int64_t i = 0; i < n_out; ++i) {
        double v = ss[i] / dof;
        po[i] = static_cast<O>(is_std_ ? std::sqrt(v) : v);
      }
    }
  });
  return {out.reshape(detail::reduced_shape(x.shape(), axes, keepdims_))};
}

std::vector<Var> Moments::grad(const Apply& node,
                               const std::vector<Var>& output_grads) const {
  const Var& x = node.inputs[0];
  const int nd = x.ndim();
  const std::vector<int> axes = detail::resolve_axes(axes_, nd, is_std_ ? "std" : "var");
  const Var gz = detail::with_reduced_dims(output_grads[0], axes, nd, keepdims_);
  const DType dt = node.output_ptr(0)->type.dtype;
  Var dof = detail::reduced_count_var(x, axes, dt);
  if (ddof_ != 0) dof = sub(dof, scalar_literal(ddof_, true));
  // The mean's own dependence on x drops out: the deviations sum to zero.
  const Var centered = sub(x, mean(x, axes, /*keepdims=*/true));
  if (!is_std_) return {mul(gz, true_div(mul(scalar_literal(2, false), centered), dof))};
  const Var s = detail::with_reduced_dims(node.output(0), axes, nd, keepdims_);
  return {mul(gz, true_div(centered, mul(dof, s)))};
}

namespace {
Var moments(bool is_std, const Var& x, Axes axes, bool keepdims, int ddof,
            const Here& loc) {
  if (x) axes = detail::canonical_axes(axes, x.ndim());
  return make_node1(std::make_shared<Moments>(is_std, std::move(axes), keepdims, ddof),
                    {x}, user_loc(loc));
}
}  // namespace

Var var(const Var& x, Axes axes, bool keepdims, int ddof, const Here& loc) {
  return moments(false, x, std::move(axes), keepdims, ddof, loc);
}
Var std(const Var& x, Axes axes, bool keepdims, int ddof, const Here& loc) {
  return moments(true, x, std::move(axes), keepdims, ddof, loc);
}

}  // namespace theanine
