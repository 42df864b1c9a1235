// Ops that make new arrays from scalars: ARange, Alloc (and zeros, ones,
// zeros_like, ones_like on top of it) and Fill.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/shape_util.h"
#include "runtime/error.h"

namespace theanine {

using shape_util::require_int_scalar;
using shape_util::require_var;

// ---- ARange -------------------------------------------------------------------

namespace {

// start, stop and step as NumPy reads them: exact integers when all three are
// integers, doubles otherwise.
struct RangeArgs {
  bool integral;
  int64_t i[3];
  double f[3];
};

int64_t range_length(const RangeArgs& a) {
  if (a.integral) {
    const int64_t start = a.i[0], stop = a.i[1], step = a.i[2];
    if (step == 0) throw ValueError("arange: step cannot be zero");
    int64_t n =
        step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
    return std::max<int64_t>(n, 0);
  }
  const double start = a.f[0], stop = a.f[1], step = a.f[2];
  if (step == 0) throw ValueError("arange: step cannot be zero");
  double n = std::ceil((stop - start) / step);
  if (!std::isfinite(n) ||
      n > static_cast<double>(std::numeric_limits<int64_t>::max() / 2))
    throw ValueError(
        "arange: cannot compute a length for start=" + std::to_string(start) +
        ", stop=" + std::to_string(stop) + ", step=" + std::to_string(step));
  return n > 0 ? static_cast<int64_t>(n) : 0;
}

template <class Get>
RangeArgs range_args(bool integral, Get get) {
  RangeArgs a{integral, {}, {}};
  for (int k = 0; k < 3; ++k) {
    if (integral)
      a.i[k] = get(k).item_int();
    else
      a.f[k] = get(k).item_double();
  }
  return a;
}

}  // namespace

std::vector<TensorType> ARangeOp::infer_types(const std::vector<Var>& inputs) const {
  static const char* names[] = {"start", "stop", "step"};
  if (inputs.size() != 3) throw ValueError("arange takes start, stop and step");
  if (is_bool(dtype_)) throw TypeError("arange: dtype bool is not supported");
  bool integral = true;
  for (int k = 0; k < 3; ++k) {
    const Var& v = inputs[k];
    if (v.ndim() != 0 || is_bool(v.dtype()))
      throw TypeError(std::string("arange: ") + names[k] +
                      " must be a numeric scalar, got " + v->describe());
    integral &= !is_float(v.dtype());
  }
  Shape out{-1};
  if (inputs[0]->is_constant() && inputs[1]->is_constant() && inputs[2]->is_constant())
    out[0] = range_length(
        range_args(integral, [&](int k) { return inputs[k]->constant_value; }));
  return {TensorType(dtype_, out)};
}

std::vector<NDArray> ARangeOp::perform(const Apply& node,
                                       const std::vector<NDArray>& inputs) const {
  bool integral = true;
  for (const NDArray& a : inputs) integral &= !is_float(a.dtype());
  RangeArgs a = range_args(integral, [&](int k) { return inputs[k]; });
  const int64_t n = range_length(a);
  NDArray out = NDArray::empty(dtype_, {n});
  dispatch_dtype(dtype_, [&](auto t) {
    using T = decltype(t);
    T* p = out.data<T>();
    if (n == 0) return;
    // NumPy's fill: the first two values converted to the dtype, then
    // first + i * (second - first) in the dtype.
    T first = integral ? static_cast<T>(a.i[0]) : static_cast<T>(a.f[0]);
    T second =
        integral ? static_cast<T>(a.i[0] + a.i[2]) : static_cast<T>(a.f[0] + a.f[2]);
    if constexpr (std::is_floating_point_v<T>) {
      T delta = second - first;
      for (int64_t i = 0; i < n; ++i) p[i] = first + static_cast<T>(i) * delta;
    } else {
      int64_t f = first, delta = static_cast<int64_t>(second) - f;
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f + i * delta);
    }
  });
  return {out};
}

// out[i] = start + i * step: start and step get their share of every element;
// stop only decides the length, so it gets no gradient (Theano's convention).
std::vector<Var> ARangeOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  const Var& g = gz[0];
  Var steps = arange(scalar_constant(0, DType::Int64), shape_i(node.output(0), 0),
                     scalar_constant(1, DType::Int64), g.dtype());
  return {sum(g), Var(), sum(mul(g, steps))};
}

Var arange(const Var& start, const Var& stop, const Var& step, std::optional<DType> dtype,
           const Here& loc) {
  require_var(start, "arange: start");
  require_var(stop, "arange: stop");
  require_var(step, "arange: step");
  DType d = dtype ? *dtype : result_dtype({start, stop, step});
  if (!dtype && is_bool(d)) d = DType::Int64;
  return make_node1(std::make_shared<ARangeOp>(d), {start, stop, step}, user_loc(loc));
}

Var arange(const Var& stop, const Here& loc) {
  return arange(scalar_literal(0, true, loc), stop, scalar_literal(1, true, loc),
                std::nullopt, loc);
}

Var arange(int64_t start, int64_t stop, int64_t step, DType dtype, const Here& loc) {
  return arange(scalar_constant(static_cast<double>(start), DType::Int64, loc),
                scalar_constant(static_cast<double>(stop), DType::Int64, loc),
                scalar_constant(static_cast<double>(step), DType::Int64, loc), dtype,
                loc);
}

// ---- Alloc --------------------------------------------------------------------------

namespace {
void check_broadcastable(const Shape& value, const Shape& out, const std::string& what) {
  bool ok = value.size() <= out.size();
  const size_t lead = out.size() - std::min(value.size(), out.size());
  for (size_t i = 0; ok && i < value.size(); ++i) {
    int64_t v = value[i], o = out[lead + i];
    if (v >= 0 && v != 1 && o >= 0 && v != o) ok = false;
  }
  if (!ok)
    throw ShapeError(what + ": a value of shape " + shape_str(value) +
                     " cannot be broadcast to shape " + shape_str(out));
}
}  // namespace

std::vector<TensorType> AllocOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.empty()) throw ValueError("alloc takes a value and the shape");
  const Var& value = inputs[0];
  const int nd = static_cast<int>(inputs.size()) - 1;
  if (value.ndim() > nd)
    throw TypeError("alloc: the value " + value->describe() + " has more dims than the " +
                    std::to_string(nd) + " of the shape");
  Shape out(nd, -1);
  for (int d = 0; d < nd; ++d) {
    require_int_scalar(inputs[d + 1], "alloc: shape entry " + std::to_string(d));
    if (auto c = constant_int(inputs[d + 1])) {
      if (*c < 0)
        throw ValueError("alloc: negative dimension " + std::to_string(*c) + " (dim " +
                         std::to_string(d) + ")");
      out[d] = *c;
    }
  }
  check_broadcastable(value.type().shape, out, "alloc");
  // A value dim other than 1 fixes the output dim (anything else fails at run time).
  const int lead = nd - value.ndim();
  for (int i = 0; i < value.ndim(); ++i) {
    int64_t v = value.type().shape[i];
    if (out[lead + i] < 0 && v >= 0 && v != 1) out[lead + i] = v;
  }
  return {TensorType(value.dtype(), out)};
}

std::vector<NDArray> AllocOp::perform(const Apply& node,
                                      const std::vector<NDArray>& inputs) const {
  Shape shape;
  for (size_t d = 1; d < inputs.size(); ++d) shape.push_back(inputs[d].item_int());
  for (int64_t s : shape)
    if (s < 0)
      throw ValueError("alloc: negative dimension " + std::to_string(s) + " in shape " +
                       shape_util::requested_shape_str(shape));
  check_broadcastable(inputs[0].shape(), shape, "alloc");
  NDArray out = NDArray::empty(inputs[0].dtype(), shape);
  out.assign(inputs[0]);
  return {out};
}

std::vector<Var> AllocOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  std::vector<Var> r(node.inputs.size());
  r[0] = sum_to(gz[0], node.inputs[0]);
  return r;
}

Var alloc(const Var& value, const std::vector<Var>& shape, const Here& loc) {
  require_var(value, "alloc: value");
  std::vector<Var> ins{value};
  for (size_t d = 0; d < shape.size(); ++d) {
    require_var(shape[d], "alloc: shape entry " + std::to_string(d));
    ins.push_back(shape[d]);
  }
  return make_node1(std::make_shared<AllocOp>(), ins, user_loc(loc));
}

namespace {
std::vector<Var> shape_constants(const std::vector<int64_t>& shape, const Here& loc) {
  std::vector<Var> r;
  for (int64_t d : shape)
    r.push_back(scalar_constant(static_cast<double>(d), DType::Int64, loc));
  return r;
}

}  // namespace

std::vector<Var> shape_util::shape_scalars(const Var& x, const Here& loc) {
  std::vector<Var> r;
  for (int d = 0; d < x.ndim(); ++d) {
    int64_t s = x.type().shape[d];
    r.push_back(s >= 0 ? scalar_constant(static_cast<double>(s), DType::Int64, loc)
                       : shape_i(x, d, loc));
  }
  return r;
}

Var shape_util::shape_vector(const Var& x, const Here& loc) {
  return make_vector(shape_scalars(x, loc), DType::Int64, loc);
}

Var zeros(const std::vector<Var>& shape, DType dtype, const Here& loc) {
  return alloc(scalar_constant(0, dtype, loc), shape, loc);
}
Var zeros(const std::vector<int64_t>& shape, DType dtype, const Here& loc) {
  return zeros(shape_constants(shape, loc), dtype, loc);
}
Var ones(const std::vector<Var>& shape, DType dtype, const Here& loc) {
  return alloc(scalar_constant(1, dtype, loc), shape, loc);
}
Var ones(const std::vector<int64_t>& shape, DType dtype, const Here& loc) {
  return ones(shape_constants(shape, loc), dtype, loc);
}

Var zeros_like(const Var& x, std::optional<DType> dtype, const Here& loc) {
  require_var(x, "zeros_like: x");
  return zeros(shape_util::shape_scalars(x, loc), dtype.value_or(x.dtype()), loc);
}

Var ones_like(const Var& x, std::optional<DType> dtype, const Here& loc) {
  require_var(x, "ones_like: x");
  return ones(shape_util::shape_scalars(x, loc), dtype.value_or(x.dtype()), loc);
}

// ---- Fill
// -------------------------------------------------------------------------------

std::vector<TensorType> FillOp::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 2) throw ValueError("fill takes a model and a value");
  Shape s;
  try {
    s = broadcast_shapes({inputs[0].type().shape, inputs[1].type().shape});
  } catch (const ShapeError& e) {
    throw ShapeError("fill: the model " + inputs[0]->describe() + " and the value " +
                     inputs[1]->describe() + " do not broadcast");
  }
  return {TensorType(result_dtype(inputs), s)};
}

std::vector<NDArray> FillOp::perform(const Apply& node,
                                     const std::vector<NDArray>& inputs) const {
  Shape s;
  try {
    s = broadcast_shapes({inputs[0].shape(), inputs[1].shape()});
  } catch (const ShapeError&) {
    throw ShapeError("fill: the model of shape " + shape_str(inputs[0].shape()) +
                     " and the value of shape " + shape_str(inputs[1].shape()) +
                     " do not broadcast");
  }
  NDArray out = NDArray::empty(node.output_ptr(0)->type.dtype, s);
  out.assign(inputs[1]);
  return {out};
}

// The model lends only its shape.
std::vector<Var> FillOp::grad(const Apply& node, const std::vector<Var>& gz) const {
  return {Var(), sum_to(gz[0], node.inputs[1])};
}

Var fill(const Var& model, const Var& value, const Here& loc) {
  require_var(model, "fill: model");
  require_var(value, "fill: value");
  return make_node1(std::make_shared<FillOp>(), {model, value}, user_loc(loc));
}

}  // namespace theanine
