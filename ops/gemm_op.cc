#include "ops/gemm_op.h"

#include <charconv>
#include <cstring>
#include <memory>
#include <type_traits>

#include "ops/gemm_ref.h"
#include "runtime/error.h"

#ifdef THEANINE_HAVE_BLAS
#include <cblas.h>
#endif

namespace theanine {

namespace {

// The shortest text that reads back as exactly `v`: op names must tell apart
// every pair of distinct parameters, since merge compares names.
std::string exact(double v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string scales(double alpha, double beta) {
  return "alpha=" + exact(alpha) + ", beta=" + exact(beta);
}

const char* flag(bool trans) { return trans ? "T" : "N"; }

void check_count(const std::vector<Var>& inputs, size_t want, const std::string& what) {
  if (inputs.size() != want)
    throw ValueError(what + " takes " + std::to_string(want) + " inputs, got " +
                     std::to_string(inputs.size()));
}

void check_operand(const Var& v, const char* role, int max_ndim, int min_ndim,
                   DType dtype, const std::string& what) {
  const TensorType& t = v.type();
  if (t.ndim() < min_ndim || t.ndim() > max_ndim)
    throw TypeError(what + ": " + role + " must have " +
                    (min_ndim == max_ndim ? std::to_string(min_ndim)
                                          : "at most " + std::to_string(max_ndim)) +
                    " dims, got " + t.str());
  if (t.dtype != dtype || (dtype != DType::Float32 && dtype != DType::Float64))
    throw TypeError(what +
                    ": the operands must be float32 or float64, all of one dtype; " +
                    role + " is " + t.str() + ", a is " + dtype_name(dtype));
}

Shape maybe_t(const Shape& s, bool trans) { return trans ? Shape{s[1], s[0]} : s; }

// The product is the dot the user wrote (the transpose flags stand for the
// transposes they folded), so a mismatch is reported as dot reports it: with
// op(a)'s and op(b)'s shapes. Unknown dims (-1) are checked at run time.
void check_aligned(const Shape& sa, const Shape& sb) {
  const int64_t ka = sa[1], kb = sb[0];
  if (ka >= 0 && kb >= 0 && ka != kb)
    throw ShapeError("dot: shapes " + shape_str(sa) + " and " + shape_str(sb) +
                     " not aligned: " + std::to_string(ka) +
                     " (dim 1) != " + std::to_string(kb) + " (dim 0)");
}

// dst = beta * dst + src (src broadcast to dst's shape); beta == 0 ignores dst.
template <class T>
void scale_add(NDArray& dst, double beta, const NDArray* src) {
  NDArray s = src ? src->broadcast_to(dst.shape()) : NDArray();
  std::vector<const Shape*> strides{&dst.strides()};
  if (src) strides.push_back(&s.strides());
  T* pd = dst.data<T>();
  const T* ps = src ? s.data<T>() : nullptr;
  const T b = static_cast<T>(beta);
  for_each_offsets(dst.shape(), strides, [&](const int64_t* o) {
    T acc = beta == 0 ? T(0) : b * pd[o[0]];
    if (ps) acc += ps[o[1]];
    pd[o[0]] = acc;
  });
}

void scale_add(NDArray& dst, double beta, const NDArray* src) {
  if (dst.dtype() == DType::Float32)
    scale_add<float>(dst, beta, src);
  else
    scale_add<double>(dst, beta, src);
}

#ifdef THEANINE_HAVE_BLAS

// The Dot kernel's reading of a matrix view and its int check (ops/gemm_ref.h).
using detail::blas_operand;
using detail::BlasOperand;
using detail::fits_int;

// A vector BLAS can step through with a positive increment (else a copy).
std::pair<NDArray, int64_t> blas_vector(const NDArray& v, int64_t len, int64_t stride) {
  if (len <= 1) return {v, 1};
  if (stride > 0) return {v, stride};
  NDArray c = v.copy();
  return {c, 1};
}

template <class T>
void blas_gemv(bool trans, int64_t rows, int64_t cols, T alpha, const T* a, int64_t lda,
               const T* x, int64_t incx, T beta, T* y) {
  const CBLAS_TRANSPOSE t = trans ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, beta, y, 1);
  else
    cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, beta, y, 1);
}

// c = alpha * a · b + beta * c through BLAS; c contiguous (m, n), m, n, k > 0.
template <class T>
void blas_product(const NDArray& a_in, const NDArray& b_in, T alpha, T beta, NDArray& c) {
  const int64_t m = a_in.shape(0), k = a_in.shape(1), n = b_in.shape(1);
  T* pc = c.data<T>();
  if (n == 1) {  // c[:, 0] = alpha a · b[:, 0] + beta c[:, 0]
    BlasOperand a = blas_operand(a_in);
    auto [x, inc] = blas_vector(b_in, k, b_in.strides()[0]);
    if (a.trans)
      blas_gemv<T>(true, k, m, alpha, a.array.data<T>(), a.ld, x.data<T>(), inc, beta,
                   pc);
    else
      blas_gemv<T>(false, m, k, alpha, a.array.data<T>(), a.ld, x.data<T>(), inc, beta,
                   pc);
    return;
  }
  if (m == 1) {  // c[0, :] = alpha b^T · a[0, :] + beta c[0, :]
    BlasOperand b = blas_operand(b_in);
    auto [x, inc] = blas_vector(a_in, k, a_in.strides()[1]);
    if (b.trans)
      blas_gemv<T>(false, n, k, alpha, b.array.data<T>(), b.ld, x.data<T>(), inc, beta,
                   pc);
    else
      blas_gemv<T>(true, k, n, alpha, b.array.data<T>(), b.ld, x.data<T>(), inc, beta,
                   pc);
    return;
  }
  BlasOperand a = blas_operand(a_in), b = blas_operand(b_in);
  const CBLAS_TRANSPOSE ta = a.trans ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = b.trans ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a.array.data<T>(), a.ld,
                b.array.data<T>(), b.ld, beta, pc, n);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a.array.data<T>(), a.ld,
                b.array.data<T>(), b.ld, beta, pc, n);
}

#endif  // THEANINE_HAVE_BLAS

// c = alpha * a · b + beta * c for a (m, k), b (k, n) of any strides and c a
// contiguous (m, n) array; beta == 0 never reads c.
void product_into(const NDArray& a, const NDArray& b, double alpha, double beta,
                  NDArray& c) {
  if (c.size() == 0) return;
  if (beta == 0) std::memset(c.raw(), 0, c.nbytes());  // BLAS may scale NaN by 0
  if (a.shape(1) == 0) {  // an empty sum: only the accumulation remains
    if (beta != 0 && beta != 1) scale_add(c, beta, nullptr);
    return;
  }
#ifdef THEANINE_HAVE_BLAS
  if (fits_int(a) && fits_int(b) && fits_int(c)) {
    if (c.dtype() == DType::Float32)
      blas_product<float>(a, b, static_cast<float>(alpha), static_cast<float>(beta), c);
    else
      blas_product<double>(a, b, alpha, beta, c);
    return;
  }
#endif
  NDArray p = NDArray::empty(c.dtype(), c.shape());
  detail::gemm_ref(a, b, p);
  if (alpha != 1) scale_add(p, alpha, nullptr);  // p = alpha * p
  scale_add(c, beta, &p);
}

// alpha * a · b + beta * c with c (null when beta == 0) broadcast against the
// (m, n) product; `out_shape` is the product's shape as the op shows it (the
// same elements: (m,) for a gemv).
NDArray accumulate(const NDArray& a, const NDArray& b, const NDArray* c, double alpha,
                   double beta, const Shape& out_shape) {
  const DType dtype = a.dtype();
  const Shape mn{a.shape(0), b.shape(1)};
  const Shape shape = c ? broadcast_shapes({c->shape(), out_shape}) : out_shape;
  NDArray out = NDArray::empty(dtype, shape);
  if (shape == out_shape) {
    if (c) out.assign(*c);
    NDArray view = out.reshape(mn);
    product_into(a, b, alpha, c ? beta : 0, view);
    return out;
  }
  // A dim of 1 in the product broadcasts against c: compute it apart.
  NDArray p = NDArray::empty(dtype, mn);
  product_into(a, b, alpha, 0, p);
  NDArray shown = p.reshape(out_shape);
  out.assign(*c);
  scale_add(out, beta, &shown);
  return out;
}

// Accumulates into `out`, an array offered by the executor (perform_into),
// when it can hold the result: contiguous, of the product's shape, clear of a
// and b, and either c itself (BLAS then updates c in place: the inplace pass
// proved nothing reads it later) or memory clear of c. False, with nothing
// touched, otherwise.
bool accumulate_into(const NDArray& a, const NDArray& b, const NDArray& c, double alpha,
                     double beta, const Shape& out_shape, const NDArray& out) {
  if (!out.defined() || out.dtype() != a.dtype() || out.shape() != out_shape ||
      !out.is_contiguous() || out.shares_memory(a) || out.shares_memory(b))
    return false;
  const bool is_c = out.buffer() == c.buffer() && out.offset() == c.offset() &&
                    out.shape() == c.shape() && out.strides() == c.strides();
  if (!is_c && out.shares_memory(c)) return false;
  if (!is_c) {
    bool fits = c.ndim() <= out.ndim();
    for (int d = 0; fits && d < c.ndim(); ++d) {
      const int64_t cd = c.shape(c.ndim() - 1 - d);
      fits = cd == 1 || cd == out_shape[out_shape.size() - 1 - d];
    }
    if (!fits) return false;  // perform() reports it, or broadcasts the product
    NDArray dst = out;
    dst.assign(c);
  }
  NDArray view = out.reshape({a.shape(0), b.shape(1)});
  product_into(a, b, alpha, beta, view);
  return true;
}

NDArray maybe_t(const NDArray& x, bool trans) { return trans ? x.transpose({1, 0}) : x; }

}  // namespace

// ---- Gemm ----

Gemm::Gemm(bool trans_a, bool trans_b, double alpha, double beta)
    : trans_a_(trans_a),
      trans_b_(trans_b),
      alpha_(alpha),
      beta_(beta == 0 ? 0.0 : beta) {}

std::string Gemm::name() const {
  return std::string("Gemm{") + flag(trans_a_) + flag(trans_b_) + ", " +
         scales(alpha_, beta_) + "}";
}

std::vector<TensorType> Gemm::infer_types(const std::vector<Var>& inputs) const {
  check_count(inputs, has_c() ? 3 : 2, "gemm");
  const DType dtype = inputs[0].dtype();
  check_operand(inputs[0], "a", 2, 2, dtype, "gemm");
  check_operand(inputs[1], "b", 2, 2, dtype, "gemm");
  if (has_c()) check_operand(inputs[2], "c", 2, 0, dtype, "gemm");
  const Shape sa = maybe_t(inputs[0].type().shape, trans_a_);
  const Shape sb = maybe_t(inputs[1].type().shape, trans_b_);
  check_aligned(sa, sb);
  Shape shape{sa[0], sb[1]};
  if (has_c()) shape = broadcast_shapes({inputs[2].type().shape, shape});
  return {TensorType(dtype, shape)};
}

std::vector<NDArray> Gemm::perform(const Apply& node,
                                   const std::vector<NDArray>& inputs) const {
  NDArray a = maybe_t(inputs.at(0), trans_a_), b = maybe_t(inputs.at(1), trans_b_);
  check_aligned(a.shape(), b.shape());
  const NDArray* c = has_c() ? &inputs.at(2) : nullptr;
  return {accumulate(a, b, c, alpha_, beta_, {a.shape(0), b.shape(1)})};
}

bool Gemm::perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                        std::vector<NDArray>& out) const {
  if (!has_c() || out.size() != 1) return false;
  NDArray a = maybe_t(inputs.at(0), trans_a_), b = maybe_t(inputs.at(1), trans_b_);
  if (a.shape(1) != b.shape(0)) return false;  // perform() reports it
  return accumulate_into(a, b, inputs.at(2), alpha_, beta_, {a.shape(0), b.shape(1)},
                         out[0]);
}

// ---- Gemv ----

Gemv::Gemv(bool trans, double alpha, double beta)
    : trans_(trans), alpha_(alpha), beta_(beta == 0 ? 0.0 : beta) {}

std::string Gemv::name() const {
  return std::string("Gemv{") + flag(trans_) + ", " + scales(alpha_, beta_) + "}";
}

std::vector<TensorType> Gemv::infer_types(const std::vector<Var>& inputs) const {
  check_count(inputs, has_y() ? 3 : 2, "gemv");
  const DType dtype = inputs[0].dtype();
  check_operand(inputs[0], "a", 2, 2, dtype, "gemv");
  check_operand(inputs[1], "x", 1, 1, dtype, "gemv");
  if (has_y()) check_operand(inputs[2], "y", 1, 0, dtype, "gemv");
  const Shape sa = maybe_t(inputs[0].type().shape, trans_);
  check_aligned(sa, inputs[1].type().shape);
  Shape shape{sa[0]};
  if (has_y()) shape = broadcast_shapes({inputs[2].type().shape, shape});
  return {TensorType(dtype, shape)};
}

std::vector<NDArray> Gemv::perform(const Apply& node,
                                   const std::vector<NDArray>& inputs) const {
  NDArray a = maybe_t(inputs.at(0), trans_);
  const NDArray& x = inputs.at(1);
  check_aligned(a.shape(), x.shape());
  const NDArray* y = has_y() ? &inputs.at(2) : nullptr;
  return {accumulate(a, x.expand_dims(1), y, alpha_, beta_, {a.shape(0)})};
}

bool Gemv::perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                        std::vector<NDArray>& out) const {
  if (!has_y() || out.size() != 1) return false;
  NDArray a = maybe_t(inputs.at(0), trans_);
  const NDArray& x = inputs.at(1);
  if (a.shape(1) != x.shape(0)) return false;  // perform() reports it
  return accumulate_into(a, x.expand_dims(1), inputs.at(2), alpha_, beta_, {a.shape(0)},
                         out[0]);
}

// ---- builders ----

namespace {

std::vector<Var> with_accumulator(std::vector<Var> inputs, const Var& c, double beta,
                                  const char* what) {
  if ((beta != 0) != static_cast<bool>(c))
    throw ValueError(std::string(what) +
                     ": the accumulated input must be given exactly when beta != 0");
  if (c) inputs.push_back(c);
  return inputs;
}

}  // namespace

Var gemm(const Var& a, const Var& b, const Var& c, bool trans_a, bool trans_b,
         double alpha, double beta, const Here& loc) {
  return make_node1(std::make_shared<Gemm>(trans_a, trans_b, alpha, beta),
                    with_accumulator({a, b}, c, beta, "gemm"), user_loc(loc));
}

Var gemv(const Var& a, const Var& x, const Var& y, bool trans, double alpha, double beta,
         const Here& loc) {
  return make_node1(std::make_shared<Gemv>(trans, alpha, beta),
                    with_accumulator({a, x}, y, beta, "gemv"), user_loc(loc));
}

}  // namespace theanine
