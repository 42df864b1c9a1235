#include "ops/blas.h"

#include <cstdint>
#include <numeric>
#include <type_traits>

#include "ops/elemwise.h"
#include "ops/gemm_ref.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/reduce_axes.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

void check_inputs(const std::vector<Var>& inputs, const char* what) {
  if (inputs.size() != 2)
    throw ValueError(std::string(what) + " takes 2 inputs, got " +
                     std::to_string(inputs.size()));
}

// dim `axis` of `shape` and its index counted from the front, for messages.
std::string dim_str(const Shape& shape, int axis) {
  return (shape[axis] < 0 ? std::string("?") : std::to_string(shape[axis])) + " (dim " +
         std::to_string(axis) + ")";
}

// Two known contracted dims that differ; unknown ones are checked at run time.
void check_aligned(const char* what, const Shape& sa, int axis_a, const Shape& sb,
                   int axis_b) {
  int64_t ka = sa[axis_a], kb = sb[axis_b];
  if (ka >= 0 && kb >= 0 && ka != kb)
    throw ShapeError(std::string(what) + ": shapes " + shape_str(sa) + " and " +
                     shape_str(sb) + " not aligned: " + dim_str(sa, axis_a) +
                     " != " + dim_str(sb, axis_b));
}

NDArray as_dtype(const NDArray& x, DType d) { return x.dtype() == d ? x : x.astype(d); }

// a (rows, k) · b (k, cols) into a new contiguous (rows, cols) array.
NDArray matmul(const NDArray& a, const NDArray& b) {
  NDArray c = NDArray::empty(a.dtype(), {a.shape(0), b.shape(1)});
  detail::gemm(a, b, c);
  return c;
}

// x * s for a 0-d s, with integer products wrapping around like NumPy's.
template <class T>
T scale(T x, T s) {
  if constexpr (std::is_same_v<T, bool>)
    return x && s;
  else if constexpr (std::is_floating_point_v<T>)
    return x * s;
  else
    return static_cast<T>(
        static_cast<int64_t>(static_cast<uint64_t>(static_cast<int64_t>(x)) *
                             static_cast<uint64_t>(static_cast<int64_t>(s))));
}

NDArray scale_by_scalar(const NDArray& x, const NDArray& s) {
  NDArray out = NDArray::empty(x.dtype(), x.shape());
  std::vector<const Shape*> strides{&out.strides(), &x.strides()};
  dispatch_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T sv = *s.data<T>();
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for_each_offsets(x.shape(), strides,
                     [&](const int64_t* o) { po[o[0]] = scale(px[o[1]], sv); });
  });
  return out;
}

// ---- graph helpers for the gradient rules ----

// x dimshuffled by `pattern`, or x itself when the pattern changes nothing.
Var permute(const Var& x, const std::vector<int>& pattern) {
  bool identity = static_cast<int>(pattern.size()) == x.ndim();
  for (size_t i = 0; identity && i < pattern.size(); ++i)
    identity = pattern[i] == static_cast<int>(i);
  return identity ? x : dimshuffle(x, pattern);
}

Var mat_t(const Var& m) { return dimshuffle(m, {1, 0}); }

// `prefix`, then from, from + 1, ..., to - 1, then `suffix`: dimshuffle patterns.
std::vector<int> iota_between(std::vector<int> prefix, int from, int to,
                              const std::vector<int>& suffix) {
  for (int i = from; i < to; ++i) prefix.push_back(i);
  prefix.insert(prefix.end(), suffix.begin(), suffix.end());
  return prefix;
}

// x reshaped to the int64 scalars `dims`; constants keep the dims static.
Var reshape_to(const Var& x, const std::vector<Var>& dims) {
  return reshape(x, make_vector(dims, DType::Int64), static_cast<int>(dims.size()));
}

// x with its dims [start, start + count) merged into one (count >= 1).
Var merge_dims(const Var& x, int start, int count) {
  if (count == 1) return x;
  const std::vector<Var> dims = detail::dim_vars(x);
  std::vector<Var> out(dims.begin(), dims.begin() + start);
  int64_t known = 1;
  for (int d = start; d < start + count; ++d) {
    const int64_t s = x.type().shape[d];
    known = (known < 0 || s < 0) ? -1 : known * s;
  }
  if (known >= 0) {
    out.push_back(scalar_constant(static_cast<double>(known), DType::Int64));
  } else {
    Var m = dims[start];
    for (int d = start + 1; d < start + count; ++d) m = mul(m, dims[d]);
    out.push_back(m);
  }
  out.insert(out.end(), dims.begin() + start + count, dims.end());
  return reshape_to(x, out);
}

// x flattened to a vector (a 0-d x becomes a vector of 1).
Var as_vector(const Var& x) {
  if (x.ndim() == 0) return dimshuffle(x, {-1});
  return x.ndim() == 1 ? x : flatten(x, 1);
}

}  // namespace

// ---- Dot ----

std::vector<TensorType> Dot::infer_types(const std::vector<Var>& inputs) const {
  check_inputs(inputs, "dot");
  const TensorType &ta = inputs[0].type(), &tb = inputs[1].type();
  DType out = result_dtype(inputs);
  if (ta.ndim() == 0) return {TensorType(out, tb.shape)};
  if (tb.ndim() == 0) return {TensorType(out, ta.shape)};
  const int kb_axis = tb.ndim() == 1 ? 0 : tb.ndim() - 2;
  check_aligned("dot", ta.shape, ta.ndim() - 1, tb.shape, kb_axis);
  Shape shape(ta.shape.begin(), ta.shape.end() - 1);
  if (tb.ndim() >= 2) {
    shape.insert(shape.end(), tb.shape.begin(), tb.shape.end() - 2);
    shape.push_back(tb.shape.back());
  }
  return {TensorType(out, shape)};
}

std::vector<NDArray> Dot::perform(const Apply& node,
                                  const std::vector<NDArray>& inputs) const {
  const DType out = node.output_ptr(0)->type.dtype;
  NDArray a = as_dtype(inputs.at(0), out), b = as_dtype(inputs.at(1), out);
  if (a.ndim() == 0) return {scale_by_scalar(b, a)};
  if (b.ndim() == 0) return {scale_by_scalar(a, b)};
  const int kb_axis = b.ndim() == 1 ? 0 : b.ndim() - 2;
  check_aligned("dot", a.shape(), a.ndim() - 1, b.shape(), kb_axis);
  const int64_t k = a.shape().back();

  Shape out_shape(a.shape().begin(), a.shape().end() - 1);
  if (b.ndim() >= 2) {
    out_shape.insert(out_shape.end(), b.shape().begin(), b.shape().end() - 2);
    out_shape.push_back(b.shape().back());
  }
  // a as (rows, k): a matrix stays the (possibly transposed) view it is.
  NDArray a2;
  if (a.ndim() <= 2) {
    a2 = a.ndim() == 1 ? a.expand_dims(0) : a;
  } else {
    const Shape lead(a.shape().begin(), a.shape().end() - 1);
    a2 = a.reshape({shape_size(lead), k});
  }
  // b as (k, cols): b[..., k, n] is moved to (k, ..., n) so that one product
  // covers every leading index of b, in the order numpy.dot lays out its result.
  NDArray b2;
  if (b.ndim() <= 2) {
    b2 = b.ndim() == 1 ? b.expand_dims(1) : b;
  } else {
    std::vector<int> perm(b.ndim());
    std::iota(perm.begin(), perm.end(), 0);
    perm.erase(perm.begin() + kb_axis);
    perm.insert(perm.begin(), kb_axis);
    int64_t cols = 1;
    for (int d = 0; d < b.ndim(); ++d)
      if (d != kb_axis) cols *= b.shape(d);
    b2 = b.transpose(perm).reshape({k, cols});
  }
  return {matmul(a2, b2).reshape(out_shape)};
}

// With a of shape A + (k) and b of shape B + (k, n) (or (k)), z = dot(a, b) has
// shape A + B + (n) and
//   ga[A, k] = sum over B, n of gz[A, B, n] b[B, k, n],
//   gb[B, k, n] = sum over A of a[A, k] gz[A, B, n].
// Both are one dot once the summed dims are merged (a reshape only when A or B
// has more than one dim, i.e. only for N-d operands).
std::vector<Var> Dot::grad(const Apply& node,
                           const std::vector<Var>& output_grads) const {
  const Var &a = node.inputs[0], &b = node.inputs[1];
  const Var& gz = output_grads[0];
  const int na = a.ndim(), nb = b.ndim();
  // A 0-d operand scales the other.
  if (na == 0) return {sum(mul(gz, b)), mul(gz, a)};
  if (nb == 0) return {mul(gz, b), sum(mul(gz, a))};
  const int p = na - 1;  // the dims of A
  if (nb == 1) {
    // z has shape A.
    if (p == 0) return {mul(gz, b), mul(gz, a)};
    Var ga = dot(dimshuffle(gz, iota_between({}, 0, p, {-1})), dimshuffle(b, {-1, 0}));
    Var gb = dot(mat_t(merge_dims(a, 0, p)), merge_dims(gz, 0, p));
    return {ga, gb};
  }
  const int q = nb - 2;  // the dims of B
  Var ga;
  if (q == 0) {
    ga = dot(gz, mat_t(b));
  } else {
    // b as (k, B·n) and gz as (A, B·n).
    Var b2 = merge_dims(dimshuffle(b, iota_between({q}, 0, q, {q + 1})), 1, q + 1);
    ga = dot(merge_dims(gz, p, q + 1), mat_t(b2));
  }
  // a as (P, k) and gz as (P, B, n), P being A merged (1 when a is a vector);
  // gz's P goes second to last so that dot contracts it, giving (k, B, n).
  Var a2 = p == 0 ? dimshuffle(a, {-1, 0}) : merge_dims(a, 0, p);
  Var gz2 =
      p == 0 ? dimshuffle(gz, iota_between({-1}, 0, q + 1, {})) : merge_dims(gz, 0, p);
  const std::vector<int> swap_p = iota_between({}, 1, q + 1, {0, q + 1});
  Var gb = permute(dot(mat_t(a2), permute(gz2, swap_p)), swap_p);
  return {ga, gb};
}

// ---- BatchedDot ----

std::vector<TensorType> BatchedDot::infer_types(const std::vector<Var>& inputs) const {
  check_inputs(inputs, "batched_dot");
  const TensorType &ta = inputs[0].type(), &tb = inputs[1].type();
  for (int i = 0; i < 2; ++i) {
    const TensorType& t = i == 0 ? ta : tb;
    if (t.ndim() != 2 && t.ndim() != 3)
      throw TypeError(
          std::string("batched_dot: ") + (i == 0 ? "a" : "b") +
          " must have 2 or 3 dims (a batch axis, then a vector or a matrix), got " +
          t.str() + " (ndim " + std::to_string(t.ndim()) + ")");
  }
  if (ta.shape[0] >= 0 && tb.shape[0] >= 0 && ta.shape[0] != tb.shape[0])
    throw ShapeError("batched_dot: batch sizes differ: shapes " + shape_str(ta.shape) +
                     " and " + shape_str(tb.shape) + ", " + dim_str(ta.shape, 0) +
                     " != " + dim_str(tb.shape, 0));
  check_aligned("batched_dot", ta.shape, ta.ndim() - 1, tb.shape, 1);
  Shape shape{ta.shape[0] >= 0 ? ta.shape[0] : tb.shape[0]};
  shape.insert(shape.end(), ta.shape.begin() + 1, ta.shape.end() - 1);
  shape.insert(shape.end(), tb.shape.begin() + 2, tb.shape.end());
  return {TensorType(result_dtype(inputs), shape)};
}

std::vector<NDArray> BatchedDot::perform(const Apply& node,
                                         const std::vector<NDArray>& inputs) const {
  const DType out_dtype = node.output_ptr(0)->type.dtype;
  NDArray a = as_dtype(inputs.at(0), out_dtype), b = as_dtype(inputs.at(1), out_dtype);
  if (a.shape(0) != b.shape(0))
    throw ShapeError("batched_dot: batch sizes differ: shapes " + shape_str(a.shape()) +
                     " and " + shape_str(b.shape()) + ", " + dim_str(a.shape(), 0) +
                     " != " + dim_str(b.shape(), 0));
  check_aligned("batched_dot", a.shape(), a.ndim() - 1, b.shape(), 1);
  const int64_t batch = a.shape(0);
  const int64_t rows = a.ndim() == 3 ? a.shape(1) : 1;
  const int64_t cols = b.ndim() == 3 ? b.shape(2) : 1;
  Shape out_shape{batch};
  if (a.ndim() == 3) out_shape.push_back(rows);
  if (b.ndim() == 3) out_shape.push_back(cols);
  NDArray out = NDArray::empty(out_dtype, out_shape);
  for (int64_t i = 0; i < batch; ++i) {
    NDArray ai = a.index(0, i), bi = b.index(0, i);
    if (ai.ndim() == 1) ai = ai.expand_dims(0);
    if (bi.ndim() == 1) bi = bi.expand_dims(1);
    // A contiguous slice of the output, viewed as the (rows, cols) product.
    NDArray ci = out.index(0, i).reshape({rows, cols});
    detail::gemm(ai, bi, ci);
  }
  return {out};
}

// Per batch element i: a[i] (n, m) or (m), b[i] (m, k) or (m); the rules are
// dot's, batched; products with a contracted length of 1 are plain products.
std::vector<Var> BatchedDot::grad(const Apply& node,
                                  const std::vector<Var>& output_grads) const {
  const Var &a = node.inputs[0], &b = node.inputs[1];
  const Var& gz = output_grads[0];
  const bool a_mat = a.ndim() == 3, b_mat = b.ndim() == 3;
  if (a_mat && b_mat)
    return {batched_dot(gz, dimshuffle(b, {0, 2, 1})),
            batched_dot(dimshuffle(a, {0, 2, 1}), gz)};
  if (a_mat)  // gz (B, n)
    return {mul(dimshuffle(gz, {0, 1, -1}), dimshuffle(b, {0, -1, 1})),
            batched_dot(gz, a)};
  if (b_mat)  // gz (B, k)
    return {batched_dot(b, gz),
            mul(dimshuffle(a, {0, 1, -1}), dimshuffle(gz, {0, -1, 1}))};
  // gz (B)
  const Var g = dimshuffle(gz, {0, -1});
  return {mul(g, b), mul(g, a)};
}

// ---- Outer ----

std::vector<TensorType> Outer::infer_types(const std::vector<Var>& inputs) const {
  check_inputs(inputs, "outer");
  auto flat = [](const TensorType& t) -> int64_t {
    int64_t n = 1;
    for (int64_t d : t.shape) {
      if (d == 0) return 0;
      if (d < 0) n = -1;
      if (n >= 0) n *= d;
    }
    return n;
  };
  return {
      TensorType(result_dtype(inputs), {flat(inputs[0].type()), flat(inputs[1].type())})};
}

std::vector<NDArray> Outer::perform(const Apply& node,
                                    const std::vector<NDArray>& inputs) const {
  const DType out = node.output_ptr(0)->type.dtype;
  NDArray a = as_dtype(inputs.at(0), out), b = as_dtype(inputs.at(1), out);
  return {matmul(a.reshape({a.size(), 1}), b.reshape({1, b.size()}))};
}

// z = outer(a, b) of shape (a.size, b.size): ga = gz · b, gb = gz^T · a (a and b
// flattened), reshaped back to the operands' shapes.
std::vector<Var> Outer::grad(const Apply& node,
                             const std::vector<Var>& output_grads) const {
  const Var &a = node.inputs[0], &b = node.inputs[1];
  const Var& gz = output_grads[0];
  auto unflatten = [](const Var& g, const Var& like) {
    return like.ndim() == 1 ? g : reshape_to(g, detail::dim_vars(like));
  };
  return {unflatten(dot(gz, as_vector(b)), a),
          unflatten(dot(mat_t(gz), as_vector(a)), b)};
}

// ---- builders ----

Var dot(const Var& a, const Var& b, const Here& loc) {
  return make_node1(std::make_shared<Dot>(), {a, b}, user_loc(loc));
}

Var batched_dot(const Var& a, const Var& b, const Here& loc) {
  return make_node1(std::make_shared<BatchedDot>(), {a, b}, user_loc(loc));
}

Var outer(const Var& a, const Var& b, const Here& loc) {
  return make_node1(std::make_shared<Outer>(), {a, b}, user_loc(loc));
}

}  // namespace theanine
