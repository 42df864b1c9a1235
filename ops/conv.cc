// Conv2d, Conv2dGradInputs and Conv2dGradWeights (see conv.h): types and static
// shapes, checks, gradient rules, and perform() over the kernels of
// ops/conv_kernels.h.
#include "ops/conv.h"

#include <memory>

#include "ops/conv_kernels.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

using detail::ConvGeometry;

std::string pair_str(const std::array<int64_t, 2>& p) {
  return "(" + std::to_string(p[0]) + "," + std::to_string(p[1]) + ")";
}

std::string hint_str(const std::array<int64_t, 4>& s) {
  std::string r = "(";
  for (int d = 0; d < 4; ++d) {
    if (d) r += ",";
    r += s[d] < 0 ? "?" : std::to_string(s[d]);
  }
  return r + ")";
}

void validate(const Conv2dOptions& o) {
  const std::string& m = o.border_mode;
  if (m != "valid" && m != "full" && m != "half" && m != "explicit")
    throw ValueError(
        "conv2d: border_mode must be 'valid', 'full', 'half', an int or a "
        "pair of ints, got '" +
        m + "'");
  for (int a = 0; a < 2; ++a) {
    if (o.pad[a] < 0)
      throw ValueError("conv2d: padding must be non-negative, got " + pair_str(o.pad));
    if (o.subsample[a] < 1)
      throw ValueError("conv2d: subsample must be positive, got " +
                       pair_str(o.subsample));
    if (o.dilation[a] < 1)
      throw ValueError("conv2d: filter_dilation must be positive, got " +
                       pair_str(o.dilation));
  }
  for (const auto* hint : {&o.input_shape, &o.filter_shape})
    if (*hint)
      for (int64_t d : **hint)
        if (d < -1)
          throw ValueError("conv2d: a shape hint has a negative dim: " +
                           hint_str(**hint));
}

// The padding of one axis for a kernel of k taps.
int64_t pad_of(const Conv2dOptions& o, int axis, int64_t k) {
  const int64_t span = o.dilation[axis] * (k - 1) + 1;  // the dilated kernel
  if (o.border_mode == "valid") return 0;
  if (o.border_mode == "full") return span - 1;
  if (o.border_mode == "half") return span / 2;
  return o.pad[axis];
}

void check_operand(const Var& v, const std::string& what) {
  if (!v) throw ValueError(what + " is null");
  if (v.ndim() != 4)
    throw TypeError(what + " must be 4-d, got ndim " + std::to_string(v.ndim()) + " (" +
                    v->describe() + ")");
  if (!is_float(v.dtype()))
    throw TypeError(what + " must be float32 or float64, got " + dtype_name(v.dtype()) +
                    " (" + v->describe() + ")");
}

DType compute_dtype(const Var& a, const Var& b) { return promote(a.dtype(), b.dtype()); }

// The static shape of v with the dims of `hint` filled in; ShapeError where
// they disagree.
Shape merged(const Var& v, const std::optional<std::array<int64_t, 4>>& hint,
             const std::string& what) {
  Shape s = v->type.shape;
  if (!hint) return s;
  for (int d = 0; d < 4; ++d) {
    const int64_t h = (*hint)[d];
    if (h < 0) continue;
    if (s[d] >= 0 && s[d] != h)
      throw ShapeError(what + " " + v->describe() + " has static shape " + shape_str(s) +
                       ", which contradicts the given shape " + hint_str(*hint));
    s[d] = h;
  }
  return s;
}

bool known(int64_t a, int64_t b) { return a >= 0 && b >= 0; }

// "name of type float32(?, 3, 8, 8) (created at ...)", and the shape in use
// when hints sharpened it.
std::string operand_str(const Var& v, const Shape& s) {
  return v->describe() + (s == v->type.shape ? "" : " (shape " + shape_str(s) + ")");
}

void check_channels(const Var& in, const Shape& in_s, const Var& f, const Shape& f_s) {
  if (known(in_s[1], f_s[1]) && in_s[1] != f_s[1])
    throw ShapeError("conv2d: the input " + operand_str(in, in_s) + " has " +
                     std::to_string(in_s[1]) + " channels but the filters " +
                     operand_str(f, f_s) + " expect " + std::to_string(f_s[1]));
}

// What is known statically of the shape a "like" input gives: a 4-d tensor's
// static shape, or the entries of a 4-vector of ints that are constants (alone
// or in a make_vector).
Shape like_shape(const Var& like, const std::string& what) {
  if (like.ndim() == 4) return like->type.shape;
  if (like.ndim() != 1 || !is_integer(like.dtype()) ||
      (like->type.shape[0] >= 0 && like->type.shape[0] != 4))
    throw TypeError(what +
                    " must be a 4-d tensor (whose shape is used) or a vector of 4 "
                    "ints (the shape), got " +
                    like->describe());
  Shape s(4, -1);
  if (std::optional<NDArray> v = constant_value(like)) {
    for (int d = 0; d < 4; ++d) s[d] = v->item_int(d);
  } else if (like->owner && dynamic_cast<const MakeVectorOp*>(like->owner->op.get())) {
    for (int d = 0; d < 4; ++d)
      if (std::optional<int64_t> c = constant_int(like->owner->inputs.at(d))) s[d] = *c;
  }
  for (int64_t d : s)
    if (d < -1) throw ValueError(what + " has a negative dim: " + shape_str(s));
  return s;
}

// The shape a "like" input gives at run time.
Shape like_shape(const NDArray& like, const std::string& what) {
  if (like.ndim() == 4) return like.shape();
  if (like.size() != 4)
    throw ShapeError(what + " must hold 4 dims, got " + std::to_string(like.size()));
  Shape s(4);
  for (int d = 0; d < 4; ++d) {
    s[d] = like.item_int(d);
    if (s[d] < 0) throw ValueError(what + " has a negative dim: " + shape_str(s));
  }
  return s;
}

// "conv2d: an input of shape (..) with filters of shape (..)", for errors.
std::string with_shapes(const std::string& what, const Shape& xs, const Shape& ws) {
  return what + ": an input of shape " + shape_str(xs) + " with filters of shape " +
         shape_str(ws);
}

// The geometry of a convolution of input shape xs with filters ws, checked.
ConvGeometry geometry(const Shape& xs, const Shape& ws, const Conv2dOptions& o,
                      const std::string& what) {
  if (xs[1] != ws[1])
    throw ShapeError(what + ": the input of shape " + shape_str(xs) + " has " +
                     std::to_string(xs[1]) + " channels but the filters of shape " +
                     shape_str(ws) + " expect " + std::to_string(ws[1]));
  ConvGeometry g;
  g.batch = xs[0];
  g.channels = xs[1];
  g.in_h = xs[2];
  g.in_w = xs[3];
  g.filters = ws[0];
  g.k_h = ws[2];
  g.k_w = ws[3];
  g.pad_h = pad_of(o, 0, g.k_h);
  g.pad_w = pad_of(o, 1, g.k_w);
  g.stride_h = o.subsample[0];
  g.stride_w = o.subsample[1];
  g.dil_h = o.dilation[0];
  g.dil_w = o.dilation[1];
  g.flip = o.filter_flip;
  const std::string fit = with_shapes(what, xs, ws);
  g.out_h = conv2d_output_dim(g.in_h, g.k_h, o, 0, fit);
  g.out_w = conv2d_output_dim(g.in_w, g.k_w, o, 1, fit);
  return g;
}

// The run-time values of the hints, checked.
void check_hint(const NDArray& a, const std::optional<std::array<int64_t, 4>>& hint,
                const std::string& what) {
  if (!hint) return;
  for (int d = 0; d < 4; ++d)
    if ((*hint)[d] >= 0 && a.shape(d) != (*hint)[d])
      throw ShapeError("conv2d: the " + what + " has shape " + shape_str(a.shape()) +
                       ", not the given shape " + hint_str(*hint));
}

}  // namespace

int64_t conv2d_output_dim(int64_t in, int64_t k, const Conv2dOptions& opts, int axis,
                          const std::string& what) {
  if (in < 0 || k < 0) return -1;
  const int64_t span = opts.dilation[axis] * (k - 1) + 1;
  const int64_t padded = in + 2 * pad_of(opts, axis, k);
  const std::string dim = axis == 0 ? "rows" : "columns";
  if (k == 0) throw ShapeError(what + ": the filters have no " + dim);
  if (span > padded)
    throw ShapeError(what + ": the filter " + dim + " span " + std::to_string(span) +
                     " (" + std::to_string(k) + " taps, dilation " +
                     std::to_string(opts.dilation[axis]) + "), more than the " +
                     std::to_string(padded) + " " + dim + " of the input padded by " +
                     std::to_string(pad_of(opts, axis, k)) +
                     " on each side (border_mode '" + opts.border_mode + "')");
  return (padded - span) / opts.subsample[axis] + 1;
}

// ---- ConvOpBase -------------------------------------------------------------

ConvOpBase::ConvOpBase(Conv2dOptions opts) : opts_(std::move(opts)) { validate(opts_); }

std::string ConvOpBase::params() const {
  std::string r = "mode=" + (opts_.border_mode == "explicit" ? "pad" + pair_str(opts_.pad)
                                                             : opts_.border_mode);
  r += ", subsample=" + pair_str(opts_.subsample);
  r += ", flip=" + std::to_string(opts_.filter_flip ? 1 : 0);
  r += ", dilation=" + pair_str(opts_.dilation);
  if (opts_.input_shape) r += ", input_shape=" + hint_str(*opts_.input_shape);
  if (opts_.filter_shape) r += ", filter_shape=" + hint_str(*opts_.filter_shape);
  return r;
}

// ---- Conv2d -----------------------------------------------------------------------

std::vector<TensorType> Conv2d::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 2)
    throw ValueError("conv2d takes input and filters, got " +
                     std::to_string(inputs.size()) + " inputs");
  const Var &x = inputs[0], &w = inputs[1];
  check_operand(x, "conv2d: input");
  check_operand(w, "conv2d: filters");
  const Shape xs = merged(x, opts_.input_shape, "conv2d: input");
  const Shape ws = merged(w, opts_.filter_shape, "conv2d: filters");
  check_channels(x, xs, w, ws);
  const std::string fit = with_shapes("conv2d", xs, ws);
  Shape out{xs[0], ws[0], conv2d_output_dim(xs[2], ws[2], opts_, 0, fit),
            conv2d_output_dim(xs[3], ws[3], opts_, 1, fit)};
  return {TensorType(compute_dtype(x, w), out)};
}

std::vector<NDArray> Conv2d::perform(const Apply& node,
                                     const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  check_hint(inputs.at(0), opts_.input_shape, "input");
  check_hint(inputs.at(1), opts_.filter_shape, "filters");
  const NDArray x = as_compute(inputs[0], dt), w = as_compute(inputs[1], dt);
  const ConvGeometry g = geometry(x.shape(), w.shape(), opts_, "conv2d");
  NDArray out = NDArray::empty(dt, {g.batch, g.filters, g.out_h, g.out_w});
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    detail::conv2d_forward<T>(g, x.data<T>(), w.data<T>(), out.data<T>());
  });
  return {out};
}

std::vector<Var> Conv2d::grad(const Apply& node,
                              const std::vector<Var>& output_grads) const {
  const Var& gz = output_grads[0];
  if (!gz) return {Var(), Var()};
  const Var &x = node.inputs[0], &w = node.inputs[1];
  return {conv2d_grad_inputs(w, gz, x, opts_), conv2d_grad_weights(x, gz, w, opts_)};
}

// ---- Conv2dGradInputs -------------------------------------------------------------

std::vector<TensorType> Conv2dGradInputs::infer_types(
    const std::vector<Var>& inputs) const {
  if (inputs.size() != 3)
    throw ValueError(
        "conv2d_grad_inputs takes filters, output_grad and input_like, got " +
        std::to_string(inputs.size()) + " inputs");
  const Var &w = inputs[0], &gy = inputs[1], &like = inputs[2];
  check_operand(w, "conv2d_grad_inputs: filters");
  check_operand(gy, "conv2d_grad_inputs: output_grad");
  const Shape &ws = w->type.shape, &gs = gy->type.shape;
  Shape xs = like_shape(like, "conv2d_grad_inputs: input_like");
  if (xs[0] < 0) xs[0] = gs[0];
  if (xs[1] < 0) xs[1] = ws[1];
  check_channels(like, xs, w, ws);
  if (known(gs[1], ws[0]) && gs[1] != ws[0])
    throw ShapeError("conv2d_grad_inputs: output_grad " + gy->describe() + " of shape " +
                     shape_str(gs) + " has " + std::to_string(gs[1]) + " channels for " +
                     std::to_string(ws[0]) + " filters of shape " + shape_str(ws));
  for (int a = 0; a < 2; ++a) {
    const int64_t o = conv2d_output_dim(xs[2 + a], ws[2 + a], opts_, a,
                                        with_shapes("conv2d_grad_inputs", xs, ws));
    if (known(o, gs[2 + a]) && o != gs[2 + a])
      throw ShapeError("conv2d_grad_inputs: output_grad " + gy->describe() +
                       " of shape " + shape_str(gs) +
                       " is not the output shape of an input of shape " + shape_str(xs) +
                       " and filters of shape " + shape_str(ws));
  }
  return {TensorType(compute_dtype(w, gy), xs)};
}

std::vector<NDArray> Conv2dGradInputs::perform(const Apply& node,
                                               const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  const NDArray w = as_compute(inputs.at(0), dt), gy = as_compute(inputs.at(1), dt);
  const Shape xs = like_shape(inputs.at(2), "conv2d_grad_inputs: input_like");
  const ConvGeometry g = geometry(xs, w.shape(), opts_, "conv2d_grad_inputs");
  const Shape want{g.batch, g.filters, g.out_h, g.out_w};
  if (gy.shape() != want)
    throw ShapeError("conv2d_grad_inputs: output_grad has shape " +
                     shape_str(gy.shape()) + ", expected " + shape_str(want) +
                     " for an input of shape " + shape_str(xs) +
                     " and filters of shape " + shape_str(w.shape()));
  NDArray gx = NDArray::empty(dt, xs);
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    detail::conv2d_backward_input<T>(g, w.data<T>(), gy.data<T>(), gx.data<T>());
  });
  return {gx};
}

std::vector<Var> Conv2dGradInputs::grad(const Apply& node,
                                        const std::vector<Var>& output_grads) const {
  // <GI(w, gy), G> = <gy, conv2d(G, w)>: linear in w and in gy.
  const Var& g = output_grads[0];
  if (!g) return {Var(), Var(), Var()};
  const Var &w = node.inputs[0], &gy = node.inputs[1];
  return {conv2d_grad_weights(g, gy, w, opts_), conv2d(g, w, opts_), Var()};
}

// ---- Conv2dGradWeights ------------------------------------------------------------

std::vector<TensorType> Conv2dGradWeights::infer_types(
    const std::vector<Var>& inputs) const {
  if (inputs.size() != 3)
    throw ValueError(
        "conv2d_grad_weights takes input, output_grad and filters_like, got " +
        std::to_string(inputs.size()) + " inputs");
  const Var &x = inputs[0], &gy = inputs[1], &like = inputs[2];
  check_operand(x, "conv2d_grad_weights: input");
  check_operand(gy, "conv2d_grad_weights: output_grad");
  const Shape &xs = x->type.shape, &gs = gy->type.shape;
  Shape ws = like_shape(like, "conv2d_grad_weights: filters_like");
  if (ws[0] < 0) ws[0] = gs[1];
  if (ws[1] < 0) ws[1] = xs[1];
  check_channels(x, xs, like, ws);
  if (known(gs[1], ws[0]) && gs[1] != ws[0])
    throw ShapeError("conv2d_grad_weights: output_grad " + gy->describe() + " of shape " +
                     shape_str(gs) + " has " + std::to_string(gs[1]) + " channels for " +
                     std::to_string(ws[0]) + " filters of shape " + shape_str(ws));
  if (known(gs[0], xs[0]) && gs[0] != xs[0])
    throw ShapeError("conv2d_grad_weights: output_grad " + gy->describe() + " of shape " +
                     shape_str(gs) + " and input " + x->describe() + " of shape " +
                     shape_str(xs) + " differ in batch size");
  for (int a = 0; a < 2; ++a) {
    const int64_t o = conv2d_output_dim(xs[2 + a], ws[2 + a], opts_, a,
                                        with_shapes("conv2d_grad_weights", xs, ws));
    if (known(o, gs[2 + a]) && o != gs[2 + a])
      throw ShapeError("conv2d_grad_weights: output_grad " + gy->describe() +
                       " of shape " + shape_str(gs) +
                       " is not the output shape of an input of shape " + shape_str(xs) +
                       " and filters of shape " + shape_str(ws));
  }
  return {TensorType(compute_dtype(x, gy), ws)};
}

std::vector<NDArray> Conv2dGradWeights::perform(
    const Apply& node, const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  const NDArray x = as_compute(inputs.at(0), dt), gy = as_compute(inputs.at(1), dt);
  const Shape ws = like_shape(inputs.at(2), "conv2d_grad_weights: filters_like");
  const ConvGeometry g = geometry(x.shape(), ws, opts_, "conv2d_grad_weights");
  const Shape want{g.batch, g.filters, g.out_h, g.out_w};
  if (gy.shape() != want)
    throw ShapeError("conv2d_grad_weights: output_grad has shape " +
                     shape_str(gy.shape()) + ", expected " + shape_str(want) +
                     " for an input of shape " + shape_str(x.shape()) +
                     " and filters of shape " + shape_str(ws));
  NDArray gw = NDArray::empty(dt, ws);
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    detail::conv2d_backward_filters<T>(g, x.data<T>(), gy.data<T>(), gw.data<T>());
  });
  return {gw};
}

std::vector<Var> Conv2dGradWeights::grad(const Apply& node,
                                         const std::vector<Var>& output_grads) const {
  // <GW(x, gy), G> = <gy, conv2d(x, G)>: linear in x and in gy.
  const Var& g = output_grads[0];
  if (!g) return {Var(), Var(), Var()};
  const Var &x = node.inputs[0], &gy = node.inputs[1];
  return {conv2d_grad_inputs(g, gy, x, opts_), conv2d(x, g, opts_), Var()};
}

// ---- builders ---------------------------------------------------------------------

namespace {
// The options the gradient ops carry: the hints describe the forward's operands.
Conv2dOptions without_hints(Conv2dOptions o) {
  o.input_shape.reset();
  o.filter_shape.reset();
  return o;
}
}  // namespace

Var conv2d(const Var& input, const Var& filters, const Conv2dOptions& opts,
           const Here& loc) {
  return make_node1(std::make_shared<Conv2d>(opts), {input, filters}, user_loc(loc));
}

Var conv2d_grad_inputs(const Var& filters, const Var& output_grad, const Var& input_like,
                       const Conv2dOptions& opts, const Here& loc) {
  return make_node1(std::make_shared<Conv2dGradInputs>(without_hints(opts)),
                    {filters, output_grad, input_like}, user_loc(loc));
}

Var conv2d_grad_weights(const Var& input, const Var& output_grad, const Var& filters_like,
                        const Conv2dOptions& opts, const Here& loc) {
  return make_node1(std::make_shared<Conv2dGradWeights>(without_hints(opts)),
                    {input, output_grad, filters_like}, user_loc(loc));
}

}  // namespace theanine
