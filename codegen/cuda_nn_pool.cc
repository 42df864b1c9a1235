// Pooling and its gradients on the device, a thread per output (forward) or per
// input cell (gradients). The gradients gather rather than scatter: each input
// cell visits the windows that contain it, in the order the CPU's scatter
// visits them, so overlapping windows need no atomics and the sums are the
// CPU's, bit for bit. Max pooling's gradients first find each window's first
// maximum (NaN counting as the maximum) once, into an index array.
#include <algorithm>

#include "codegen/cuda_nn_common.h"
#include "codegen/cuda_nn_entries.h"
#include "ops/pool.h"
#include "runtime/cuda_array.h"
#include "runtime/error.h"

namespace theanine::cuda_nn {

namespace {

const char* kPool = R"(
#ifndef THEANINE_NN_POOL
#define THEANINE_NN_POOL
// mode: 0 max, 1 sum, 2 average_inc_pad, 3 average_exc_pad.
struct th_nn_pool_geom {
  int in_h, in_w, out_h, out_w, ws_h, ws_w, st_h, st_w, pad_h, pad_w, mode;
};

// Window o of an axis covers cells [lo, hi) and `count` cells of the padded
// input (the average_inc_pad divisor).
__device__ __forceinline__ void th_nn_window(int o, int in, int ws, int st, int pad, int* lo,
                                             int* hi, int* count) {
  const int s = o * st - pad, e = min(s + ws, in + pad);
  *lo = max(s, 0);
  *hi = max(*lo, min(e, in));
  *count = e - s;
}

// The windows along an axis that contain cell r: [first, last].
__device__ __forceinline__ void th_nn_windows_of(int r, int ws, int st, int pad, int out,
                                                 int* first, int* last) {
  const int lo = r + pad - ws + 1;
  *first = lo <= 0 ? 0 : (lo + st - 1) / st;
  *last = min(out - 1, (r + pad) / st);
}

__device__ __forceinline__ double th_nn_divisor(const th_nn_pool_geom& g, int i, int j) {
  int r0, r1, rc, c0, c1, cc;
  th_nn_window(i, g.in_h, g.ws_h, g.st_h, g.pad_h, &r0, &r1, &rc);
  th_nn_window(j, g.in_w, g.ws_w, g.st_w, g.pad_w, &c0, &c1, &cc);
  if (g.mode == 2) return (double)rc * cc;
  if (g.mode == 3) return (double)(r1 - r0) * (c1 - c0);
  return 1.0;
}

// Forward: sums fold each column of the window over its rows, then the
// columns, as the CPU does.
template <class T>
__device__ __forceinline__ void th_nn_pool_fwd(const T* x, T* y, th_nn_pool_geom g,
                                               th_i64 planes) {
  const int out_plane = g.out_h * g.out_w;
  const th_i64 total = planes * out_plane;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 p = e / out_plane;
    const int o = (int)(e % out_plane), i = o / g.out_w, j = o % g.out_w;
    int r0, r1, rc, c0, c1, cc;
    th_nn_window(i, g.in_h, g.ws_h, g.st_h, g.pad_h, &r0, &r1, &rc);
    th_nn_window(j, g.in_w, g.ws_w, g.st_w, g.pad_w, &c0, &c1, &cc);
    const T* xp = x + p * g.in_h * g.in_w;
    T v = xp[r0 * g.in_w + c0];
    if (g.mode == 0) {
      for (int r = r0; r < r1; ++r)
        for (int c = c0; c < c1; ++c) v = th_nn_nan_max(v, xp[r * g.in_w + c]);
      y[e] = v;
      continue;
    }
    for (int c = c0; c < c1; ++c) {
      T s = xp[r0 * g.in_w + c];
      for (int r = r0 + 1; r < r1; ++r) s += xp[r * g.in_w + c];
      v = c == c0 ? s : v + s;
    }
    y[e] = g.mode == 1 ? v : (T)((double)v / th_nn_divisor(g, i, j));
  }
}

// The plane offset of window (i, j)'s first maximum; a NaN, the first NaN.
template <class T>
__device__ __forceinline__ int th_nn_window_argmax(const T* xp, const th_nn_pool_geom& g, int i,
                                                   int j) {
  int r0, r1, rc, c0, c1, cc;
  th_nn_window(i, g.in_h, g.ws_h, g.st_h, g.pad_h, &r0, &r1, &rc);
  th_nn_window(j, g.in_w, g.ws_w, g.st_w, g.pad_w, &c0, &c1, &cc);
  int best = r0 * g.in_w + c0;
  T m = xp[best];
  for (int r = r0; r < r1; ++r)
    for (int c = c0; c < c1; ++c) {
      const T v = xp[r * g.in_w + c];
      if (v != v) return r * g.in_w + c;
      if (v > m) {
        m = v;
        best = r * g.in_w + c;
      }
    }
  return best;
}

// arg[e] = the argmax of output e's window; with `g_in`, also y[e] = the
// gradient g_in read at that argmax (MaxPoolGradGrad).
template <class T>
__device__ __forceinline__ void th_nn_pool_argmax(const T* x, int* arg, const T* g_in, T* y,
                                                  th_nn_pool_geom g, th_i64 planes) {
  const int out_plane = g.out_h * g.out_w;
  const th_i64 total = planes * out_plane, in_plane = (th_i64)g.in_h * g.in_w;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 p = e / out_plane;
    const int o = (int)(e % out_plane);
    const int k = th_nn_window_argmax(x + p * in_plane, g, o / g.out_w, o % g.out_w);
    if (arg) arg[e] = k;
    if (y) y[e] = g_in[p * in_plane + k];
  }
}

// gx[cell] = the sum of gz over the windows whose argmax is the cell, windows
// in row-major order (MaxPoolGrad).
template <class T>
__device__ __forceinline__ void th_nn_max_pool_grad(const int* arg, const T* gz, T* gx,
                                                    th_nn_pool_geom g, th_i64 planes) {
  const int in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const th_i64 total = planes * in_plane;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 p = e / in_plane;
    const int cell = (int)(e % in_plane), r = cell / g.in_w, c = cell % g.in_w;
    int i0, i1, j0, j1;
    th_nn_windows_of(r, g.ws_h, g.st_h, g.pad_h, g.out_h, &i0, &i1);
    th_nn_windows_of(c, g.ws_w, g.st_w, g.pad_w, g.out_w, &j0, &j1);
    T acc = T(0);
    for (int i = i0; i <= i1; ++i)
      for (int j = j0; j <= j1; ++j) {
        const th_i64 o = p * out_plane + i * g.out_w + j;
        if (arg[o] == cell) acc += gz[o];
      }
    gx[e] = acc;
  }
}

// gx[cell] = the sum over the windows containing the cell of gz / divisor
// (AveragePoolGrad; the divisor is 1 for sum).
template <class T>
__device__ __forceinline__ void th_nn_avg_pool_grad(const T* gz, T* gx, th_nn_pool_geom g,
                                                    th_i64 planes) {
  const int in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const th_i64 total = planes * in_plane;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const th_i64 p = e / in_plane;
    const int cell = (int)(e % in_plane), r = cell / g.in_w, c = cell % g.in_w;
    int i0, i1, j0, j1;
    th_nn_windows_of(r, g.ws_h, g.st_h, g.pad_h, g.out_h, &i0, &i1);
    th_nn_windows_of(c, g.ws_w, g.st_w, g.pad_w, g.out_w, &j0, &j1);
    T acc = T(0);
    for (int i = i0; i <= i1; ++i)
      for (int j = j0; j <= j1; ++j)
        acc += (T)((double)gz[p * out_plane + i * g.out_w + j] / th_nn_divisor(g, i, j));
    gx[e] = acc;
  }
}

#define TH_NN_POOL_KERNELS(T, S)                                                        \
  extern "C" __global__ void th_nn_pool_fwd_##S(const T* x, T* y, th_nn_pool_geom g,    \
                                                th_i64 planes) {                       \
    th_nn_pool_fwd<T>(x, y, g, planes);                                                 \
  }                                                                                     \
  extern "C" __global__ void th_nn_pool_argmax_##S(const T* x, int* arg, const T* g_in, \
                                                   T* y, th_nn_pool_geom g,             \
                                                   th_i64 planes) {                     \
    th_nn_pool_argmax<T>(x, arg, g_in, y, g, planes);                                   \
  }                                                                                     \
  extern "C" __global__ void th_nn_max_pool_grad_##S(const int* arg, const T* gz, T* gx, \
                                                     th_nn_pool_geom g, th_i64 planes) { \
    th_nn_max_pool_grad<T>(arg, gz, gx, g, planes);                                     \
  }                                                                                     \
  extern "C" __global__ void th_nn_avg_pool_grad_##S(const T* gz, T* gx,                \
                                                     th_nn_pool_geom g, th_i64 planes) { \
    th_nn_avg_pool_grad<T>(gz, gx, g, planes);                                          \
  }

#endif  // THEANINE_NN_POOL
)";

const ModuleFamily& family() {
  static const ModuleFamily f("nn_pool", kPool,
                              {{"f32", "TH_NN_POOL_KERNELS(float, f32)\n"},
                               {"f64", "TH_NN_POOL_KERNELS(double, f64)\n"}});
  return f;
}

// The host twin of th_nn_pool_geom.
struct Geom {
  int in_h, in_w, out_h, out_w, ws_h, ws_w, st_h, st_w, pad_h, pad_w, mode;
};

struct Pooling {
  Geom g{};
  int64_t planes = 1;
  Shape in_shape, out_shape;
};

int mode_code(const std::string& m) {
  if (m == "max") return 0;
  if (m == "sum") return 1;
  if (m == "average_inc_pad") return 2;
  return 3;
}

// The geometry of pooling an input of shape xs; false when a plane is beyond
// 32-bit indexing.
bool pooling_of(const PoolOpBase& op, const Shape& xs, Pooling* out) {
  const PoolOptions& o = op.options();
  const int nd = static_cast<int>(xs.size());
  if (nd < 2) return false;
  Pooling p;
  p.in_shape = xs;
  p.out_shape = xs;
  for (int d = 0; d < nd - 2; ++d) p.planes *= xs[d];
  const int64_t in_h = xs[nd - 2], in_w = xs[nd - 1];
  const int64_t out_h = pool_output_dim(in_h, o, 0), out_w = pool_output_dim(in_w, o, 1);
  p.out_shape[nd - 2] = out_h;
  p.out_shape[nd - 1] = out_w;
  const std::array<int64_t, 2>& st = op.stride();
  if (!fits_int32({in_h * in_w, out_h * out_w, o.ws[0], o.ws[1], st[0], st[1],
                   in_h + o.pad[0], in_w + o.pad[1]}))
    return false;
  p.g = Geom{
      static_cast<int>(in_h),     static_cast<int>(in_w),    static_cast<int>(out_h),
      static_cast<int>(out_w),    static_cast<int>(o.ws[0]), static_cast<int>(o.ws[1]),
      static_cast<int>(st[0]),    static_cast<int>(st[1]),   static_cast<int>(o.pad[0]),
      static_cast<int>(o.pad[1]), mode_code(o.mode)};
  *out = p;
  return true;
}

const char* sfx(DType d) { return d == DType::Float32 ? "_f32" : "_f64"; }
const CudaSourceModule& module_for(DType d) { return family().get(sfx(d) + 1); }

CudaLaunchShape over(int64_t n) { return {cuda_grid_for(n, 256), 256, 0}; }

bool pool_matches(const Apply& node) {
  return dynamic_cast<const Pool*>(node.op.get()) != nullptr;
}
bool max_grad_matches(const Apply& node) {
  return dynamic_cast<const MaxPoolGrad*>(node.op.get()) != nullptr;
}
bool max_grad_grad_matches(const Apply& node) {
  return dynamic_cast<const MaxPoolGradGrad*>(node.op.get()) != nullptr;
}
bool avg_grad_matches(const Apply& node) {
  return dynamic_cast<const AveragePoolGrad*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> pool_run(const Apply& node,
                                             const std::vector<NDArray>& in) {
  const auto& op = static_cast<const Pool&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  Pooling p;
  if (!is_float(dt) || in.size() != 1 || !pooling_of(op, in[0].shape(), &p))
    return std::nullopt;
  NDArray x = dense(in[0], dt);
  NDArray y = device_empty(dt, p.out_shape);
  if (y.size() == 0) return std::vector<NDArray>{y};
  launch_cuda_source(module_for(dt), std::string("th_nn_pool_fwd") + sfx(dt),
                     over(y.size()), dptr(x), dptr(y), p.g, p.planes);
  return std::vector<NDArray>{y};
}

// The argmax of every window of x (int32, the pooled shape).
NDArray window_argmax(const Pooling& p, DType dt, const NDArray& x) {
  NDArray arg = device_empty(DType::Int32, p.out_shape);
  const uint64_t none = 0;
  launch_cuda_source(module_for(dt), std::string("th_nn_pool_argmax") + sfx(dt),
                     over(arg.size()), dptr(x), dptr(arg), none, none, p.g, p.planes);
  return arg;
}

std::optional<std::vector<NDArray>> max_grad_run(const Apply& node,
                                                 const std::vector<NDArray>& in) {
  const auto& op = static_cast<const MaxPoolGrad&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  Pooling p;
  if (!is_float(dt) || in.size() != 2 || !pooling_of(op, in[0].shape(), &p))
    return std::nullopt;
  if (in[1].shape() != p.out_shape) throw_reference_error(node, in, "gz's shape");
  NDArray x = dense(in[0], dt), gz = dense(in[1], dt);
  NDArray gx = device_empty(dt, p.in_shape);
  if (gx.size() == 0) return std::vector<NDArray>{gx};
  if (gz.size() == 0) return std::vector<NDArray>{device_zeros(dt, p.in_shape)};
  NDArray arg = window_argmax(p, dt, x);
  launch_cuda_source(module_for(dt), std::string("th_nn_max_pool_grad") + sfx(dt),
                     over(gx.size()), dptr(arg), dptr(gz), dptr(gx), p.g, p.planes);
  return std::vector<NDArray>{gx};
}

std::optional<std::vector<NDArray>> max_grad_grad_run(const Apply& node,
                                                      const std::vector<NDArray>& in) {
  const auto& op = static_cast<const MaxPoolGradGrad&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  Pooling p;
  if (!is_float(dt) || in.size() != 2 || !pooling_of(op, in[0].shape(), &p))
    return std::nullopt;
  if (in[1].shape() != in[0].shape()) throw_reference_error(node, in, "g's shape");
  NDArray x = dense(in[0], dt), g = dense(in[1], dt);
  NDArray y = device_empty(dt, p.out_shape);
  if (y.size() == 0) return std::vector<NDArray>{y};
  const uint64_t none = 0;
  launch_cuda_source(module_for(dt), std::string("th_nn_pool_argmax") + sfx(dt),
                     over(y.size()), dptr(x), none, dptr(g), dptr(y), p.g, p.planes);
  return std::vector<NDArray>{y};
}

std::optional<std::vector<NDArray>> avg_grad_run(const Apply& node,
                                                 const std::vector<NDArray>& in) {
  const auto& op = static_cast<const AveragePoolGrad&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  Pooling p;
  if (!is_float(dt) || in.size() != 2 || !pooling_of(op, in[0].shape(), &p))
    return std::nullopt;
  if (in[1].shape() != p.out_shape) throw_reference_error(node, in, "gz's shape");
  NDArray gz = dense(in[1], dt);
  NDArray gx = device_empty(dt, p.in_shape);
  if (gx.size() == 0) return std::vector<NDArray>{gx};
  if (gz.size() == 0) return std::vector<NDArray>{device_zeros(dt, p.in_shape)};
  launch_cuda_source(module_for(dt), std::string("th_nn_avg_pool_grad") + sfx(dt),
                     over(gx.size()), dptr(gz), dptr(gx), p.g, p.planes);
  return std::vector<NDArray>{gx};
}

}  // namespace

std::vector<const CudaSourceModule*> pool_modules() { return family().all(); }

std::vector<CudaOpEntry> pool_entries() {
  return {{"Pool", pool_matches, pool_run},
          {"MaxPoolGrad", max_grad_matches, max_grad_run},
          {"MaxPoolGradGrad", max_grad_grad_matches, max_grad_grad_run},
          {"AveragePoolGrad", avg_grad_matches, avg_grad_run}};
}

}  // namespace theanine::cuda_nn
