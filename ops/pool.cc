// Pool, MaxPoolGrad, MaxPoolGradGrad and AveragePoolGrad (see pool.h). The
// kernels run plane by plane (a plane is one (rows, cols) slice of the input),
// the planes split over threads; each window's bounds along each axis are
// computed once per call.
#include "ops/pool.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "ops/conv_parallel.h"
#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

enum class Mode { Max, Sum, AverageIncPad, AverageExcPad };

Mode mode_of(const std::string& m) {
  if (m == "max") return Mode::Max;
  if (m == "sum") return Mode::Sum;
  if (m == "average_inc_pad") return Mode::AverageIncPad;
  return Mode::AverageExcPad;
}

std::string pair_str(const std::array<int64_t, 2>& p) {
  std::string r = "(";
  r += std::to_string(p[0]);
  r += ",";
  r += std::to_string(p[1]);
  return r + ")";
}

// Sets the stride and spells out "average"; ValueError for bad options.
void normalize(PoolOptions& o) {
  if (o.mode == "average") o.mode = "average_inc_pad";
  if (o.mode != "max" && o.mode != "sum" && o.mode != "average_inc_pad" &&
      o.mode != "average_exc_pad")
    throw ValueError(
        "pool_2d: mode must be 'max', 'sum', 'average_inc_pad' or "
        "'average_exc_pad', got '" +
        o.mode + "'");
  if (!o.stride) o.stride = o.ws;
  for (int a = 0; a < 2; ++a) {
    if (o.ws[a] < 1)
      throw ValueError("pool_2d: ws must be positive, got " + pair_str(o.ws));
    if ((*o.stride)[a] < 1)
      throw ValueError("pool_2d: stride must be positive, got " + pair_str(*o.stride));
    if (o.pad[a] < 0)
      throw ValueError("pool_2d: pad must be non-negative, got " + pair_str(o.pad));
    if (o.pad[a] >= o.ws[a])
      throw ValueError("pool_2d: pad " + pair_str(o.pad) +
                       " must be smaller than the window ws " + pair_str(o.ws));
  }
  if ((o.pad[0] || o.pad[1]) && !o.ignore_border)
    throw ValueError("pool_2d: padding " + pair_str(o.pad) +
                     " works only with ignore_border=True");
}

// One axis of the windows: output o covers input cells [lo[o], hi[o]) and
// counts[o] cells of the padded input (the average_inc_pad divisor).
struct AxisWindows {
  std::vector<int64_t> lo, hi, counts;
};

AxisWindows axis_windows(int64_t in, const PoolOptions& o, int axis) {
  const int64_t n = pool_output_dim(in, o, axis);
  const int64_t ws = o.ws[axis], st = (*o.stride)[axis], pad = o.pad[axis];
  AxisWindows w;
  w.lo.resize(n);
  w.hi.resize(n);
  w.counts.resize(n);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t s = k * st - pad, e = std::min(s + ws, in + pad);
    w.lo[k] = std::max<int64_t>(s, 0);
    w.hi[k] = std::max(w.lo[k], std::min(e, in));
    w.counts[k] = e - s;
  }
  return w;
}

// Every window of a call: planes of in_h x in_w cells pooled to out_h x out_w.
// `tile` is K when the windows are whole K x K squares side by side (window ==
// stride == (K, K), no padding, none cut by an edge): the common max pooling,
// which has kernels with K known at compile time.
struct Windows {
  int64_t planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  AxisWindows rows, cols;
  int tile = 0;
};

Windows windows(const Shape& x, const PoolOptions& o) {
  Windows w;
  const int nd = static_cast<int>(x.size());
  w.in_h = x[nd - 2];
  w.in_w = x[nd - 1];
  w.planes = 1;
  for (int d = 0; d < nd - 2; ++d) w.planes *= x[d];
  w.rows = axis_windows(w.in_h, o, 0);
  w.cols = axis_windows(w.in_w, o, 1);
  w.out_h = static_cast<int64_t>(w.rows.lo.size());
  w.out_w = static_cast<int64_t>(w.cols.lo.size());
  const int64_t k = o.ws[0];
  const bool whole = w.out_h * k <= w.in_h && w.out_w * k <= w.in_w;
  if ((k == 2 || k == 3) && o.ws[1] == k && *o.stride == o.ws && o.pad[0] == 0 &&
      o.pad[1] == 0 && whole)
    w.tile = static_cast<int>(k);
  return w;
}

Shape pooled_shape(const Shape& x, const PoolOptions& o) {
  Shape s = x;
  const int nd = static_cast<int>(s.size());
  s[nd - 2] = pool_output_dim(x[nd - 2], o, 0);
  s[nd - 1] = pool_output_dim(x[nd - 1], o, 1);
  return s;
}

// The larger of m and v, NaN winning (and staying once it has won).
template <class T>
inline T nan_max(T m, T v) {
  return (v > m || v != v) ? v : m;
}

// The flat index (within its plane) of the first maximum of a window; NaN
// counts as the maximum.
template <class T>
int64_t window_argmax(const T* p, int64_t in_w, int64_t r0, int64_t r1, int64_t c0,
                      int64_t c1) {
  int64_t best = r0 * in_w + c0;
  T m = p[best];
  bool nan = false;
  for (int64_t r = r0; r < r1; ++r) {
    const T* row = p + r * in_w;
    for (int64_t c = c0; c < c1; ++c) {
      const T v = row[c];
      nan |= v != v;
      // Selects, not a branch: which cell wins is unpredictable.
      const bool greater = v > m;
      m = greater ? v : m;
      best = greater ? r * in_w + c : best;
    }
  }
  if (!nan) return best;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c)
      if (p[r * in_w + c] != p[r * in_w + c]) return r * in_w + c;
  return best;
}

// The offset (from c) of the first maximum of the K x K tile at c; NaN counts as
// the maximum.
template <class T, int K>
int64_t tile_argmax(const T* c, int64_t in_w) {
  int64_t best = 0;
  T m = c[0];
  bool nan = false;
  for (int a = 0; a < K; ++a)
    for (int b = 0; b < K; ++b) {
      const T v = c[a * in_w + b];
      nan |= v != v;
      const bool greater = v > m;
      m = greater ? v : m;
      best = greater ? a * in_w + b : best;
    }
  if (nan)
    for (int a = 0; a < K; ++a)
      for (int b = 0; b < K; ++b)
        if (c[a * in_w + b] != c[a * in_w + b]) return a * in_w + b;
  return best;
}

// The divisor of window (i, j) in mode m.
double divisor(const Windows& w, Mode m, int64_t i, int64_t j) {
  if (m == Mode::AverageIncPad)
    return static_cast<double>(w.rows.counts[i] * w.cols.counts[j]);
  if (m == Mode::AverageExcPad)
    return static_cast<double>((w.rows.hi[i] - w.rows.lo[i]) *
                               (w.cols.hi[j] - w.cols.lo[j]));
  return 1;
}

// Runs body(begin, end) over ranges of the planes, on several threads when the
// work is large.
template <class Body>
void for_plane_ranges(const Windows& w, Body&& body) {
  const double cost = static_cast<double>(w.in_h * w.in_w + w.out_h * w.out_w) + 1;
  detail::parallel_ranges(w.planes, cost,
                          [&](int64_t begin, int64_t end, int) { body(begin, end); });
}

// Runs body(plane) for every plane (see for_plane_ranges).
template <class Body>
void for_each_plane(const Windows& w, Body&& body) {
  for_plane_ranges(w, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) body(p);
  });
}

// Max pooling by whole K x K tiles.
template <class T, int K>
void max_tiles_forward(const Windows& w, const T* x, T* y) {
  const int64_t in_plane = w.in_h * w.in_w, out_plane = w.out_h * w.out_w;
  for_plane_ranges(w, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t i = 0; i < w.out_h; ++i) {
        const T* row = x + p * in_plane + i * K * w.in_w;
        T* out = y + p * out_plane + i * w.out_w;
        for (int64_t j = 0; j < w.out_w; ++j) {
          const T* c = row + j * K;
          T v = c[0];
          for (int a = 0; a < K; ++a)
            for (int b = 0; b < K; ++b) v = nan_max(v, c[a * w.in_w + b]);
          out[j] = v;
        }
      }
  });
}

// Each output row: its window's input rows folded into one row (max or sum,
// contiguous and vectorizable), then each window's columns of that row.
template <class T>
void pool_forward(const Windows& w, Mode m, const T* x, T* y) {
  const int64_t in_plane = w.in_h * w.in_w, out_plane = w.out_h * w.out_w;
  if (w.out_w == 0) return;
  if (m == Mode::Max && w.tile == 2) return max_tiles_forward<T, 2>(w, x, y);
  if (m == Mode::Max && w.tile == 3) return max_tiles_forward<T, 3>(w, x, y);
  // The columns some window covers.
  const int64_t c_lo = w.cols.lo.front(), c_hi = w.cols.hi.back();
  for_plane_ranges(w, [&, c_lo, c_hi](int64_t begin, int64_t end) {
    std::vector<T> acc(w.in_w);
    T* a = acc.data();
    for (int64_t p = begin; p < end; ++p) {
      const T* xp = x + p * in_plane;
      T* yp = y + p * out_plane;
      for (int64_t i = 0; i < w.out_h; ++i) {
        const int64_t r0 = w.rows.lo[i], r1 = w.rows.hi[i];
        std::copy(xp + r0 * w.in_w + c_lo, xp + r0 * w.in_w + c_hi, a + c_lo);
        for (int64_t r = r0 + 1; r < r1; ++r) {
          const T* row = xp + r * w.in_w;
          if (m == Mode::Max)
            for (int64_t c = c_lo; c < c_hi; ++c) a[c] = nan_max(a[c], row[c]);
          else
            for (int64_t c = c_lo; c < c_hi; ++c) a[c] += row[c];
        }
        T* out = yp + i * w.out_w;
        for (int64_t j = 0; j < w.out_w; ++j) {
          const int64_t c0 = w.cols.lo[j], c1 = w.cols.hi[j];
          T v = a[c0];
          if (m == Mode::Max) {
            for (int64_t c = c0 + 1; c < c1; ++c) v = nan_max(v, a[c]);
            out[j] = v;
            continue;
          }
          for (int64_t c = c0 + 1; c < c1; ++c) v += a[c];
          out[j] = m == Mode::Sum ? v : static_cast<T>(v / divisor(w, m, i, j));
        }
      }
    }
  });
}

// The flat index (within its plane) of the first maximum of window (i, j).
template <class T, int K>
int64_t argmax_of(const Windows& w, const T* plane, int64_t i, int64_t j) {
  if constexpr (K > 0) {
    const int64_t corner = i * K * w.in_w + j * K;
    return corner + tile_argmax<T, K>(plane + corner, w.in_w);
  } else {
    return window_argmax(plane, w.in_w, w.rows.lo[i], w.rows.hi[i], w.cols.lo[j],
                         w.cols.hi[j]);
  }
}

// gx = MaxPoolGrad(x, gz) (grad_grad false) or y = MaxPoolGradGrad(x, g), for
// tiles of K (0: any windows).
template <class T, int K>
void max_pool_backward_of(const Windows& w, const T* x, const T* g, T* out,
                          bool grad_grad) {
  const int64_t in_plane = w.in_h * w.in_w, out_plane = w.out_h * w.out_w;
  for_each_plane(w, [&](int64_t p) {
    const T* xp = x + p * in_plane;
    if (!grad_grad) std::fill(out + p * in_plane, out + (p + 1) * in_plane, T(0));
    for (int64_t i = 0; i < w.out_h; ++i)
      for (int64_t j = 0; j < w.out_w; ++j) {
        const int64_t k = argmax_of<T, K>(w, xp, i, j);
        const int64_t o = p * out_plane + i * w.out_w + j;
        if (grad_grad)
          out[o] = g[p * in_plane + k];
        else
          out[p * in_plane + k] += g[o];
      }
  });
}

template <class T>
void max_pool_backward(const Windows& w, const T* x, const T* g, T* out, bool grad_grad) {
  if (w.tile == 2) return max_pool_backward_of<T, 2>(w, x, g, out, grad_grad);
  if (w.tile == 3) return max_pool_backward_of<T, 3>(w, x, g, out, grad_grad);
  max_pool_backward_of<T, 0>(w, x, g, out, grad_grad);
}

template <class T>
void average_pool_backward(const Windows& w, Mode m, const T* gz, T* gx) {
  const int64_t in_plane = w.in_h * w.in_w, out_plane = w.out_h * w.out_w;
  for_each_plane(w, [&](int64_t p) {
    T* gp = gx + p * in_plane;
    std::fill(gp, gp + in_plane, T(0));
    for (int64_t i = 0; i < w.out_h; ++i)
      for (int64_t j = 0; j < w.out_w; ++j) {
        const T v =
            static_cast<T>(gz[p * out_plane + i * w.out_w + j] / divisor(w, m, i, j));
        for (int64_t r = w.rows.lo[i]; r < w.rows.hi[i]; ++r)
          for (int64_t c = w.cols.lo[j]; c < w.cols.hi[j]; ++c) gp[r * w.in_w + c] += v;
      }
  });
}

void check_input(const Var& v, const std::string& what) {
  if (v.ndim() < 2)
    throw TypeError(what +
                    " must have at least 2 dims (rows and columns to pool), got ndim " +
                    std::to_string(v.ndim()) + " (" + v->describe() + ")");
  if (!is_float(v.dtype()))
    throw TypeError(what + " must be float32 or float64, got " + dtype_name(v.dtype()) +
                    " (" + v->describe() + ")");
}

// Static shapes a and b agree wherever both are known.
bool agree(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (size_t d = 0; d < a.size(); ++d)
    if (a[d] >= 0 && b[d] >= 0 && a[d] != b[d]) return false;
  return true;
}

// Checks that `g` (named `what`) has shape `want` (static or run time).
void check_shape(const Shape& got, const Shape& want, const std::string& what,
                 const std::string& desc) {
  if (!agree(got, want))
    throw ShapeError(what + " " + desc + " has shape " + shape_str(got) + ", expected " +
                     shape_str(want));
}

}  // namespace

int64_t pool_output_dim(int64_t in, const PoolOptions& opts, int axis) {
  if (in < 0) return -1;
  if (in == 0) return 0;
  const int64_t ws = opts.ws[axis], pad = opts.pad[axis];
  const int64_t st = opts.stride ? (*opts.stride)[axis] : ws;
  if (opts.ignore_border) {
    const int64_t v = in + 2 * pad - ws;
    return v < 0 ? 0 : v / st + 1;
  }
  if (st >= ws) return (in - 1) / st + 1;
  const int64_t v = in - 1 - ws + st;
  return (v < 0 ? 0 : v / st) + 1;
}

// ---- PoolOpBase -------------------------------------------------------------

PoolOpBase::PoolOpBase(PoolOptions opts) : opts_(std::move(opts)) { normalize(opts_); }

std::string PoolOpBase::params() const {
  return "ws=" + pair_str(opts_.ws) + ", stride=" + pair_str(*opts_.stride) +
         ", pad=" + pair_str(opts_.pad) +
         ", ignore_border=" + std::to_string(opts_.ignore_border ? 1 : 0) +
         ", mode=" + opts_.mode;
}

// ---- Pool -------------------------------------------------------------------------

std::vector<TensorType> Pool::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1)
    throw ValueError("pool_2d takes 1 input, got " + std::to_string(inputs.size()));
  check_input(inputs[0], "pool_2d: input");
  return {TensorType(inputs[0].dtype(), pooled_shape(inputs[0]->type.shape, opts_))};
}

std::vector<NDArray> Pool::perform(const Apply& node,
                                   const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  const NDArray x = as_compute(inputs.at(0), dt);
  const Windows w = windows(x.shape(), opts_);
  NDArray y = NDArray::empty(dt, pooled_shape(x.shape(), opts_));
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    pool_forward<T>(w, mode_of(opts_.mode), x.data<T>(), y.data<T>());
  });
  return {y};
}

std::vector<Var> Pool::grad(const Apply& node,
                            const std::vector<Var>& output_grads) const {
  const Var& gz = output_grads[0];
  if (!gz) return {Var()};
  const Var& x = node.inputs[0];
  if (opts_.mode == "max")
    return {make_node1(std::make_shared<MaxPoolGrad>(opts_), {x, gz}, node.loc)};
  return {make_node1(std::make_shared<AveragePoolGrad>(opts_), {x, gz}, node.loc)};
}

// ---- MaxPoolGrad ------------------------------------------------------------------

std::vector<TensorType> MaxPoolGrad::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 2)
    throw ValueError("max_pool_grad takes x and gz, got " +
                     std::to_string(inputs.size()) + " inputs");
  if (opts_.mode != "max")
    throw ValueError("max_pool_grad: mode must be 'max', got '" + opts_.mode + "'");
  const Var &x = inputs[0], &gz = inputs[1];
  check_input(x, "max_pool_grad: x");
  check_input(gz, "max_pool_grad: gz");
  check_shape(gz->type.shape, pooled_shape(x->type.shape, opts_), "max_pool_grad: gz",
              gz->describe());
  return {TensorType(promote(x.dtype(), gz.dtype()), x->type.shape)};
}

std::vector<NDArray> MaxPoolGrad::perform(const Apply& node,
                                          const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  const NDArray x = as_compute(inputs.at(0), dt), gz = as_compute(inputs.at(1), dt);
  check_shape(gz.shape(), pooled_shape(x.shape(), opts_), "max_pool_grad: gz", "");
  const Windows w = windows(x.shape(), opts_);
  NDArray gx = NDArray::empty(dt, x.shape());
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    max_pool_backward<T>(w, x.data<T>(), gz.data<T>(), gx.data<T>(), false);
  });
  return {gx};
}

std::vector<Var> MaxPoolGrad::grad(const Apply& node,
                                   const std::vector<Var>& output_grads) const {
  // Linear in gz; piecewise constant in x (the routing moves only at ties).
  const Var& g = output_grads[0];
  if (!g) return {Var(), Var()};
  const Var& x = node.inputs[0];
  return {zeros_like(x),
          make_node1(std::make_shared<MaxPoolGradGrad>(opts_), {x, g}, node.loc)};
}

// ---- MaxPoolGradGrad --------------------------------------------------------------

std::vector<TensorType> MaxPoolGradGrad::infer_types(
    const std::vector<Var>& inputs) const {
  if (inputs.size() != 2)
    throw ValueError("max_pool_grad_grad takes x and g, got " +
                     std::to_string(inputs.size()) + " inputs");
  if (opts_.mode != "max")
    throw ValueError("max_pool_grad_grad: mode must be 'max', got '" + opts_.mode + "'");
  const Var &x = inputs[0], &g = inputs[1];
  check_input(x, "max_pool_grad_grad: x");
  check_input(g, "max_pool_grad_grad: g");
  check_shape(g->type.shape, x->type.shape, "max_pool_grad_grad: g", g->describe());
  return {TensorType(promote(x.dtype(), g.dtype()), pooled_shape(x->type.shape, opts_))};
}

std::vector<NDArray> MaxPoolGradGrad::perform(const Apply& node,
                                              const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  const NDArray x = as_compute(inputs.at(0), dt), g = as_compute(inputs.at(1), dt);
  check_shape(g.shape(), x.shape(), "max_pool_grad_grad: g", "");
  const Windows w = windows(x.shape(), opts_);
  NDArray y = NDArray::empty(dt, pooled_shape(x.shape(), opts_));
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    max_pool_backward<T>(w, x.data<T>(), g.data<T>(), y.data<T>(), true);
  });
  return {y};
}

std::vector<Var> MaxPoolGradGrad::grad(const Apply& node,
                                       const std::vector<Var>& output_grads) const {
  const Var& g = output_grads[0];
  if (!g) return {Var(), Var()};
  const Var& x = node.inputs[0];
  return {zeros_like(x),
          make_node1(std::make_shared<MaxPoolGrad>(opts_), {x, g}, node.loc)};
}

// ---- AveragePoolGrad --------------------------------------------------------------

std::vector<TensorType> AveragePoolGrad::infer_types(
    const std::vector<Var>& inputs) const {
  if (inputs.size() != 2)
    throw ValueError("average_pool_grad takes x and gz, got " +
                     std::to_string(inputs.size()) + " inputs");
  if (opts_.mode == "max")
    throw ValueError("average_pool_grad: mode must be 'sum' or an average, got 'max'");
  const Var &x = inputs[0], &gz = inputs[1];
  if (x.ndim() < 2)
    throw TypeError("average_pool_grad: x must have at least 2 dims, got " +
                    x->describe());
  check_input(gz, "average_pool_grad: gz");
  check_shape(gz->type.shape, pooled_shape(x->type.shape, opts_), "average_pool_grad: gz",
              gz->describe());
  return {TensorType(gz.dtype(), x->type.shape)};
}

std::vector<NDArray> AveragePoolGrad::perform(const Apply& node,
                                              const std::vector<NDArray>& inputs) const {
  const DType dt = node.output_ptr(0)->type.dtype;
  const Shape& xs = inputs.at(0).shape();
  const NDArray gz = as_compute(inputs.at(1), dt);
  check_shape(gz.shape(), pooled_shape(xs, opts_), "average_pool_grad: gz", "");
  const Windows w = windows(xs, opts_);
  NDArray gx = NDArray::empty(dt, xs);
  dispatch_float(dt, [&](auto t) {
    using T = decltype(t);
    average_pool_backward<T>(w, mode_of(opts_.mode), gz.data<T>(), gx.data<T>());
  });
  return {gx};
}

std::vector<Var> AveragePoolGrad::grad(const Apply& node,
                                       const std::vector<Var>& output_grads) const {
  // Linear in gz, whose adjoint is the pooling itself; x gives only its shape.
  const Var& g = output_grads[0];
  if (!g) return {Var(), Var()};
  return {Var(), make_node1(std::make_shared<Pool>(opts_), {g}, node.loc)};
}

// ---- builder ----------------------------------------------------------------------

Var pool_2d(const Var& input, const PoolOptions& opts, const Here& loc) {
  return make_node1(std::make_shared<Pool>(opts), {input}, user_loc(loc));
}

}  // namespace theanine
