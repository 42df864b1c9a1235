// The softmax family (see nnet.h). The reference kernels convert to contiguous
// double first: they are written once, read strided and size-0 inputs alike, and
// give float32 results correctly rounded from double.
#include "ops/nnet.h"

#include <cmath>
#include <limits>
#include <memory>

#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/scalar_op_table.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// The dtype a softmax of `d` computes in: exp's (floats keep theirs).
DType float_dtype(DType d) {
  static const ScalarOp& exp_op = scalar_op("exp");
  return resolve_dtypes(exp_op, d).output;
}

NDArray as_f64(const NDArray& a) {
  return a.dtype() == DType::Float64 ? a.contiguous() : a.astype(DType::Float64);
}

NDArray as_i64(const NDArray& a) {
  return a.dtype() == DType::Int64 ? a.contiguous() : a.astype(DType::Int64);
}

NDArray to_dtype(const NDArray& a, DType d) { return a.dtype() == d ? a : a.astype(d); }

// A contiguous array seen as outer x n x inner around `axis`: lane (o, i) holds
// the n elements base + j * inner, base = o * n * inner + i.
struct Lanes {
  int64_t outer = 1, n = 1, inner = 1;
};

Lanes lanes(const Shape& s, int axis) {
  Lanes l;
  for (int d = 0; d < static_cast<int>(s.size()); ++d)
    (d < axis ? l.outer : d == axis ? l.n : l.inner) *= s[d];
  return l;
}

template <class F>
void for_each_lane(const Lanes& l, F&& f) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) f(o * l.n * l.inner + i, l.inner);
}

// The maximum of a lane, NaN winning (so a NaN row stays NaN).
double lane_max(const double* p, int64_t n, int64_t stride) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    double v = p[j * stride];
    if (v > m || v != v) m = v;
  }
  return m;
}

// log(sum(exp(x - m))) over a lane, with m its maximum.
double lane_log_sum_exp(const double* p, int64_t n, int64_t stride, double m) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += std::exp(p[j * stride] - m);
  return std::log(s);
}

void require_integer_vector(const Var& v, const std::string& what) {
  if (!v) throw ValueError(what + " is null");
  if (!is_integer(v.dtype()))
    throw TypeError(what + " must be an integer vector, got dtype " +
                    dtype_name(v.dtype()) + " (" + v->describe() + ")");
  if (v.ndim() != 1)
    throw TypeError(what + " must be an integer vector, got ndim " +
                    std::to_string(v.ndim()) + " (" + v->describe() + ")");
}

void require_matrix(const Var& v, const std::string& what) {
  if (!v) throw ValueError(what + " is null");
  if (v.ndim() != 2)
    throw TypeError(what + " must be a matrix, got ndim " + std::to_string(v.ndim()) +
                    " (" + v->describe() + ")");
  if (is_bool(v.dtype()) || (!is_float(v.dtype()) && !is_integer(v.dtype())))
    throw TypeError(what + " must be numeric, got " + v->describe());
}

// ---- the entries of a crossentropy ------------------------------------------

// Entry i of a crossentropy reads row rows[i] (i without rows) and label
// y_idx[i] of x, indices wrapped as NumPy does. Checks the lengths and indices as
// NumPy's x[rows, y_idx] would.
class Entries {
 public:
  Entries(const char* what, const NDArray& y, const NDArray* rows, int64_t n_rows,
          int64_t n_classes)
      : what_(what), y_(as_i64(y)), n_rows_(n_rows), n_classes_(n_classes) {
    if (rows) {
      rows_ = as_i64(*rows);
      has_rows_ = true;
      const int64_t a = rows_.size(), b = y_.size();
      if (a != b && a != 1 && b != 1)
        throw IndexError(std::string(what_) +
                         ": shape mismatch: indexing arrays could not be broadcast "
                         "together with shapes " +
                         shape_str(rows_.shape()) + " " + shape_str(y_.shape()));
      count_ = (a == 1 || b == 1) ? (a == 1 ? b : a) : a;
    } else {
      if (y_.size() != n_rows)
        throw ShapeError(std::string(what_) + ": y_idx has " + std::to_string(y_.size()) +
                         " labels for the " + std::to_string(n_rows) + " rows of x");
      count_ = n_rows;
    }
  }

  int64_t count() const { return count_; }

  int64_t row(int64_t i) const {
    if (!has_rows_) return i;
    const int64_t k = rows_.size() == 1 ? 0 : i;
    const int64_t r = rows_.data<int64_t>()[k];
    const int64_t w = r < 0 ? r + n_rows_ : r;
    if (w < 0 || w >= n_rows_)
      throw IndexError(std::string(what_) + ": row index " + std::to_string(r) +
                       " (rows[" + std::to_string(k) + "]) is out of bounds for x with " +
                       std::to_string(n_rows_) + " rows");
    return w;
  }

  int64_t label(int64_t i) const {
    const int64_t k = y_.size() == 1 && has_rows_ ? 0 : i;
    const int64_t l = y_.data<int64_t>()[k];
    const int64_t w = l < 0 ? l + n_classes_ : l;
    if (w < 0 || w >= n_classes_)
      throw IndexError(std::string(what_) + ": label " + std::to_string(l) + " (y_idx[" +
                       std::to_string(k) + "]) is out of range for " +
                       std::to_string(n_classes_) + " classes");
    return w;
  }

 private:
  const char* what_;
  NDArray y_, rows_;
  bool has_rows_ = false;
  int64_t n_rows_, n_classes_, count_ = 0;
};

// The static length of the entries of a crossentropy over x with these inputs
// (-1 when unknown).
Shape entries_shape(const char* what, const Var& x, const Var& y, const Var& rows) {
  if (rows) {
    try {
      return broadcast_shapes({rows->type.shape, y->type.shape});
    } catch (const ShapeError&) {
      throw IndexError(std::string(what) +
                       ": shape mismatch: indexing arrays could not be broadcast "
                       "together with shapes " +
                       shape_str(rows->type.shape) + " " + shape_str(y->type.shape));
    }
  }
  const int64_t r = x->type.shape[0], n = y->type.shape[0];
  if (r >= 0 && n >= 0 && r != n)
    throw ShapeError(std::string(what) + ": y_idx " + y->describe() + " has " +
                     std::to_string(n) + " labels for the " + std::to_string(r) +
                     " rows of x " + x->describe());
  return {r >= 0 ? r : n};
}

}  // namespace

// ---- Softmax and LogSoftmax -------------------------------------------------------

std::string SoftmaxOp::name() const {
  return std::string(log_ ? "LogSoftmax" : "Softmax") + "{axis=" + std::to_string(axis_) +
         "}";
}

std::vector<TensorType> SoftmaxOp::infer_types(const std::vector<Var>& inputs) const {
  const char* what = log_ ? "log_softmax" : "softmax";
  if (inputs.size() != 1)
    throw ValueError(std::string(what) + " takes 1 input, got " +
                     std::to_string(inputs.size()));
  const TensorType& t = inputs[0].type();
  if (axis_ < 0 || axis_ >= t.ndim())
    throw IndexError(std::string(what) + ": axis " + std::to_string(axis_) +
                     " is out of bounds for " + inputs[0]->describe() + " of ndim " +
                     std::to_string(t.ndim()));
  return {TensorType(float_dtype(t.dtype), t.shape)};
}

std::vector<NDArray> SoftmaxOp::perform(const Apply& node,
                                        const std::vector<NDArray>& inputs) const {
  NDArray x = as_f64(inputs.at(0));
  NDArray out = NDArray::empty(DType::Float64, x.shape());
  const double* px = x.data<double>();
  double* po = out.data<double>();
  const Lanes l = lanes(x.shape(), axis_);
  for_each_lane(l, [&](int64_t base, int64_t stride) {
    const double* p = px + base;
    double* q = po + base;
    const double m = lane_max(p, l.n, stride);
    if (log_) {
      const double lse = lane_log_sum_exp(p, l.n, stride, m);
      for (int64_t j = 0; j < l.n; ++j) q[j * stride] = (p[j * stride] - m) - lse;
    } else {
      double s = 0;
      for (int64_t j = 0; j < l.n; ++j) s += q[j * stride] = std::exp(p[j * stride] - m);
      for (int64_t j = 0; j < l.n; ++j) q[j * stride] /= s;
    }
  });
  return {to_dtype(out, node.output_ptr(0)->type.dtype)};
}

std::vector<Var> SoftmaxOp::grad(const Apply& node,
                                 const std::vector<Var>& output_grads) const {
  const Var& gz = output_grads[0];
  const Var out = node.output(0);
  return {log_ ? log_softmax_grad(gz, out, axis_) : softmax_grad(gz, out, axis_)};
}

// ---- SoftmaxGrad ------------------------------------------------------------------

std::vector<TensorType> SoftmaxGradOp::infer_types(const std::vector<Var>& inputs) const {
  const std::string what = log_ ? "log_softmax_grad" : "softmax_grad";
  if (inputs.size() != 2)
    throw ValueError(what + " takes 2 inputs, got " + std::to_string(inputs.size()));
  const Var &dy = inputs[0], &sm = inputs[1];
  if (dy.ndim() != sm.ndim())
    throw TypeError(what + ": dy " + dy->describe() + " and " + sm->describe() +
                    " differ in ndim");
  if (axis_ < 0 || axis_ >= sm.ndim())
    throw IndexError(what + ": axis " + std::to_string(axis_) +
                     " is out of bounds for ndim " + std::to_string(sm.ndim()));
  Shape s = broadcast_shapes({dy->type.shape, sm->type.shape});
  return {TensorType(float_dtype(promote(dy.dtype(), sm.dtype())), s)};
}

std::vector<NDArray> SoftmaxGradOp::perform(const Apply& node,
                                            const std::vector<NDArray>& inputs) const {
  Shape s = inputs.at(0).shape();
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] == 1) s[d] = inputs.at(1).shape(static_cast<int>(d));
  NDArray dy = as_f64(inputs[0].broadcast_to(s)), sm = as_f64(inputs[1].broadcast_to(s));
  NDArray out = NDArray::empty(DType::Float64, s);
  const double *pd = dy.data<double>(), *ps = sm.data<double>();
  double* po = out.data<double>();
  const Lanes l = lanes(s, axis_);
  for_each_lane(l, [&](int64_t base, int64_t stride) {
    double dot = 0;
    if (log_) {
      for (int64_t j = 0; j < l.n; ++j) dot += pd[base + j * stride];
      for (int64_t j = 0; j < l.n; ++j) {
        const int64_t k = base + j * stride;
        po[k] = pd[k] - dot * std::exp(ps[k]);
      }
      return;
    }
    for (int64_t j = 0; j < l.n; ++j)
      dot += pd[base + j * stride] * ps[base + j * stride];
    for (int64_t j = 0; j < l.n; ++j) {
      const int64_t k = base + j * stride;
      po[k] = (pd[k] - dot) * ps[k];
    }
  });
  return {to_dtype(out, node.output_ptr(0)->type.dtype)};
}

std::vector<Var> SoftmaxGradOp::grad(const Apply& node,
                                     const std::vector<Var>& output_grads) const {
  // out = sm * (dy - s), s = sum(dy * sm): d dy = SoftmaxGrad(G, sm) and
  // d sm = G * (dy - s) - dy * sum(G * sm).
  const Var &dy = node.inputs[0], &sm = node.inputs[1], &g = output_grads[0];
  const std::vector<int> ax{axis_};
  if (log_) {
    // out = dy - s * p, s = sum(dy), p = exp(l): d dy = G - sum(G * p) and
    // d l = -s * G * p.
    const Var p = exp(sm);
    const Var d_dy = sub(g, sum(mul(g, p), ax, true));
    const Var d_l = neg(mul(mul(sum(dy, ax, true), g), p));
    return {sum_to(d_dy, dy), sum_to(d_l, sm)};
  }
  const Var s = sum(mul(dy, sm), ax, true);
  const Var d_dy = softmax_grad(g, sm, axis_);
  const Var d_sm = sub(mul(g, sub(dy, s)), mul(dy, sum(mul(g, sm), ax, true)));
  return {sum_to(d_dy, dy), sum_to(d_sm, sm)};
}

// ---- CrossentropySoftmax ----------------------------------------------------------

std::vector<TensorType> CrossentropySoftmaxOp::infer_types(
    const std::vector<Var>& inputs) const {
  const char* what = "crossentropy_softmax";
  if (inputs.size() != 2 && inputs.size() != 3)
    throw ValueError("crossentropy_softmax takes x, y_idx and optionally rows, got " +
                     std::to_string(inputs.size()) + " inputs");
  require_matrix(inputs[0], "crossentropy_softmax: x");
  require_integer_vector(inputs[1], "crossentropy_softmax: y_idx");
  Var rows;
  if (inputs.size() == 3) {
    rows = inputs[2];
    require_integer_vector(rows, "crossentropy_softmax: rows");
  }
  return {TensorType(float_dtype(inputs[0].dtype()),
                     entries_shape(what, inputs[0], inputs[1], rows))};
}

std::vector<NDArray> CrossentropySoftmaxOp::perform(
    const Apply& node, const std::vector<NDArray>& inputs) const {
  NDArray x = as_f64(inputs.at(0));
  const int64_t n_rows = x.shape(0), k = x.shape(1);
  Entries e("crossentropy_softmax", inputs.at(1),
            inputs.size() > 2 ? &inputs[2] : nullptr, n_rows, k);
  NDArray out = NDArray::empty(DType::Float64, {e.count()});
  double* po = out.data<double>();
  const double* px = x.data<double>();
  // Each row's max and log-sum-exp, computed when an entry first needs it.
  std::vector<double> row_max(n_rows), row_lse(n_rows);
  std::vector<bool> done(n_rows, false);
  for (int64_t i = 0; i < e.count(); ++i) {
    const int64_t r = e.row(i), lbl = e.label(i);
    const double* p = px + r * k;
    if (!done[r]) {
      row_max[r] = lane_max(p, k, 1);
      row_lse[r] = lane_log_sum_exp(p, k, 1, row_max[r]);
      done[r] = true;
    }
    po[i] = (row_max[r] - p[lbl]) + row_lse[r];
  }
  return {to_dtype(out, node.output_ptr(0)->type.dtype)};
}

std::vector<Var> CrossentropySoftmaxOp::grad(const Apply& node,
                                             const std::vector<Var>& output_grads) const {
  const Var& x = node.inputs[0];
  const Var rows = node.inputs.size() > 2 ? node.inputs[2] : Var();
  std::vector<Var> r(node.inputs.size());
  r[0] = crossentropy_softmax_grad(output_grads[0], softmax(x, 1), node.inputs[1], rows);
  return r;
}

// ---- CrossentropySoftmaxGrad ------------------------------------------------------

std::vector<TensorType> CrossentropySoftmaxGradOp::infer_types(
    const std::vector<Var>& inputs) const {
  const char* what = "crossentropy_softmax_grad";
  if (inputs.size() != 3 && inputs.size() != 4)
    throw ValueError(std::string(what) +
                     " takes gz, sm, y_idx and optionally rows, got " +
                     std::to_string(inputs.size()) + " inputs");
  const Var &gz = inputs[0], &sm = inputs[1];
  if (!gz || gz.ndim() > 1 || !is_float(gz.dtype()))
    throw TypeError(std::string(what) + ": gz must be a float vector or scalar, got " +
                    (gz ? gz->describe() : std::string("null")));
  require_matrix(sm, std::string(what) + ": sm");
  require_integer_vector(inputs[2], std::string(what) + ": y_idx");
  Var rows;
  if (inputs.size() == 4) {
    rows = inputs[3];
    require_integer_vector(rows, std::string(what) + ": rows");
  }
  const Shape n = entries_shape(what, sm, inputs[2], rows);
  if (gz.ndim() == 1 && gz->type.shape[0] >= 0 && n[0] >= 0 && gz->type.shape[0] != 1 &&
      gz->type.shape[0] != n[0])
    throw ShapeError(std::string(what) + ": gz " + gz->describe() + " has " +
                     std::to_string(gz->type.shape[0]) + " entries for " +
                     std::to_string(n[0]) + " crossentropies");
  return {TensorType(float_dtype(promote(gz.dtype(), sm.dtype())), sm->type.shape)};
}

std::vector<NDArray> CrossentropySoftmaxGradOp::perform(
    const Apply& node, const std::vector<NDArray>& inputs) const {
  NDArray gz = as_f64(inputs.at(0)), sm = as_f64(inputs.at(1));
  const int64_t n_rows = sm.shape(0), k = sm.shape(1);
  Entries e("crossentropy_softmax_grad", inputs.at(2),
            inputs.size() > 3 ? &inputs[3] : nullptr, n_rows, k);
  if (gz.ndim() == 1 && gz.size() != 1 && gz.size() != e.count())
    throw ShapeError("crossentropy_softmax_grad: gz of shape " + shape_str(gz.shape()) +
                     " cannot be broadcast to the " + std::to_string(e.count()) +
                     " crossentropies");
  NDArray out = NDArray::zeros(DType::Float64, sm.shape());
  double* po = out.data<double>();
  const double *pg = gz.data<double>(), *ps = sm.data<double>();
  const bool scalar_gz = gz.size() == 1;
  for (int64_t i = 0; i < e.count(); ++i) {
    const int64_t r = e.row(i), lbl = e.label(i);
    const double g = pg[scalar_gz ? 0 : i];
    for (int64_t j = 0; j < k; ++j)
      po[r * k + j] += g * (ps[r * k + j] - (j == lbl ? 1.0 : 0.0));
  }
  return {to_dtype(out, node.output_ptr(0)->type.dtype)};
}

std::vector<Var> CrossentropySoftmaxGradOp::grad(
    const Apply& node, const std::vector<Var>& output_grads) const {
  // out[r] = sum over the entries i of row r of gz[i] * (sm[r] - onehot(y[i])):
  // d gz[i] = G[r_i] . sm[r_i] - G[r_i, y_i] and d sm[r] = G[r] * (the sum of
  // the gz of row r's entries).
  const Var &gz = node.inputs[0], &sm = node.inputs[1], &y = node.inputs[2];
  const Var& g = output_grads[0];
  const Var row_dot = sum(mul(g, sm), std::vector<int>{1});
  Var rows = node.inputs.size() > 3 ? node.inputs[3] : Var();
  std::vector<Var> r(node.inputs.size());
  if (!rows) {
    r[0] = sum_to(sub(row_dot, subtensor(g, {idx(arange(shape_i(sm, 0))), idx(y)})), gz);
    r[1] = mul(g, gz.ndim() == 1 ? dimshuffle(gz, {0, -1}) : gz);
    return r;
  }
  r[0] =
      sum_to(sub(subtensor(row_dot, {idx(rows)}), subtensor(g, {idx(rows), idx(y)})), gz);
  // Every entry's row (rows broadcast against y), each adding its gz to its row.
  const Var entry_rows = add(rows, zeros_like(y));
  const Var per_row = inc_subtensor(
      subtensor(zeros({shape_i(sm, 0)}, gz.dtype()), {idx(entry_rows)}), gz);
  r[1] = mul(g, dimshuffle(per_row, {0, -1}));
  return r;
}

// ---- builders ---------------------------------------------------------------------

namespace {
Var softmax_node(const Var& x, int axis, bool log, const Here& loc) {
  const char* what = log ? "log_softmax" : "softmax";
  if (!x) throw ValueError(std::string(what) + ": x is null");
  if (x.ndim() == 0)
    throw TypeError(std::string(what) + ": x must have at least one dim, got " +
                    x->describe());
  if (is_bool(x.dtype()))
    throw TypeError(std::string(what) + ": x must be numeric, got " + x->describe());
  const int a = normalize_axis(axis, x.ndim(), what);
  return make_node1(std::make_shared<SoftmaxOp>(a, log), {x}, user_loc(loc));
}
}  // namespace

Var softmax(const Var& x, int axis, const Here& loc) {
  return softmax_node(x, axis, false, loc);
}

Var log_softmax(const Var& x, int axis, const Here& loc) {
  return softmax_node(x, axis, true, loc);
}

Var crossentropy_softmax(const Var& x, const Var& y_idx, const Here& loc) {
  return make_node1(std::make_shared<CrossentropySoftmaxOp>(), {x, y_idx}, user_loc(loc));
}

Var crossentropy_softmax_rows(const Var& x, const Var& y_idx, const Var& rows,
                              const Here& loc) {
  return make_node1(std::make_shared<CrossentropySoftmaxOp>(), {x, y_idx, rows},
                    user_loc(loc));
}

Var softmax_grad(const Var& dy, const Var& sm, int axis, const Here& loc) {
  if (!dy || !sm) throw ValueError("softmax_grad: dy and sm must not be null");
  const int a = normalize_axis(axis, sm.ndim(), "softmax_grad");
  return make_node1(std::make_shared<SoftmaxGradOp>(a), {dy, sm}, user_loc(loc));
}

Var log_softmax_grad(const Var& dy, const Var& l, int axis, const Here& loc) {
  if (!dy || !l) throw ValueError("log_softmax_grad: dy and l must not be null");
  const int a = normalize_axis(axis, l.ndim(), "log_softmax_grad");
  return make_node1(std::make_shared<SoftmaxGradOp>(a, true), {dy, l}, user_loc(loc));
}

Var crossentropy_softmax_grad(const Var& gz, const Var& sm, const Var& y_idx,
                              const Var& rows, const Here& loc) {
  std::vector<Var> in{gz, sm, y_idx};
  if (rows) in.push_back(rows);
  return make_node1(std::make_shared<CrossentropySoftmaxGradOp>(), in, user_loc(loc));
}

}  // namespace theanine
