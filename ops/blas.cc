#include "ops/blas.h"

#include <cstdint>
#include <numeric>
#include <type_traits>

#include "ops/gemm_ref.h"
#include "ops/op_util.h"
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
