// Conv2d and its two gradients on the device: im2col into a patch matrix of a
// chunk of images (one row per filter tap (c, a, b), one column per output
// pixel of every image of the chunk), one cuBLAS GEMM per chunk, and col2im
// for the input's gradient as a gather (each input pixel sums the patch
// entries it feeds, in the order the CPU adds them, so there are no atomics).
// Filter flipping costs nothing: im2col reads the flipped taps. A chunk is as
// many images as keep the patch matrix under kColElements, so a batch of small
// images is one large GEMM; the GEMM's (filters, images, pixels) result is
// swapped to (images, filters, pixels) by a copy kernel.
#include <algorithm>
#include <atomic>

#include "codegen/cuda_nn_common.h"
#include "codegen/cuda_nn_entries.h"
#include "ops/conv.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_blas.h"
#include "runtime/error.h"

namespace theanine::cuda_nn {

namespace {

const char* kConv = R"(
#ifndef THEANINE_NN_CONV
#define THEANINE_NN_CONV
// Output pixel (i, j) and filter tap (a, b) read input pixel
// (i * sh + ta * dh - ph, j * sw + tb * dw - pw), ta = flip ? kh - 1 - a : a.
struct th_nn_conv_geom {
  int c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, oh, ow, flip;
};

// col (c * kh * kw rows, nb * oh * ow columns) from images x[0 .. nb).
template <class T>
__device__ __forceinline__ void th_nn_im2col(const T* x, T* col, th_nn_conv_geom g, int nb) {
  const int P = g.oh * g.ow, ld = nb * P, taps = g.kh * g.kw;
  const th_i64 total = (th_i64)g.c * taps * ld;
  const th_i64 image = (th_i64)g.c * g.h * g.w;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const int row = (int)(e / ld), column = (int)(e % ld);
    const int img = column / P, pix = column % P;
    const int i = pix / g.ow, j = pix % g.ow;
    const int c = row / taps, tap = row % taps;
    const int a = tap / g.kw, b = tap % g.kw;
    const int ta = g.flip ? g.kh - 1 - a : a, tb = g.flip ? g.kw - 1 - b : b;
    const int y = i * g.sh + ta * g.dh - g.ph, xx = j * g.sw + tb * g.dw - g.pw;
    T v = T(0);
    if (y >= 0 && y < g.h && xx >= 0 && xx < g.w)
      v = x[img * image + ((th_i64)c * g.h + y) * g.w + xx];
    col[e] = v;
  }
}

// gx[0 .. nb) = the adjoint of im2col: each input pixel the sum of the patch
// entries that read it, taps in the order (a, b) as the CPU's col2im adds them.
template <class T>
__device__ __forceinline__ void th_nn_col2im(const T* col, T* gx, th_nn_conv_geom g, int nb) {
  const int P = g.oh * g.ow, ld = nb * P;
  const th_i64 plane = (th_i64)g.h * g.w, total = (th_i64)nb * g.c * plane;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const int xx = (int)(e % g.w), y = (int)((e / g.w) % g.h);
    const th_i64 ic = e / plane;
    const int c = (int)(ic % g.c), img = (int)(ic / g.c);
    T acc = T(0);
    for (int a = 0; a < g.kh; ++a) {
      const int ta = g.flip ? g.kh - 1 - a : a;
      const int ny = y + g.ph - ta * g.dh;
      if (ny < 0 || ny % g.sh != 0) continue;
      const int i = ny / g.sh;
      if (i >= g.oh) continue;
      for (int b = 0; b < g.kw; ++b) {
        const int tb = g.flip ? g.kw - 1 - b : b;
        const int nx = xx + g.pw - tb * g.dw;
        if (nx < 0 || nx % g.sw != 0) continue;
        const int j = nx / g.sw;
        if (j >= g.ow) continue;
        const int row = (c * g.kh + a) * g.kw + b;
        acc += col[(th_i64)row * ld + (th_i64)img * P + i * g.ow + j];
      }
    }
    gx[e] = acc;
  }
}

// dst (B, A, P) = src (A, B, P) with the first two axes swapped.
template <class T>
__device__ __forceinline__ void th_nn_swap01(const T* src, T* dst, int A, int B, int P) {
  const th_i64 total = (th_i64)A * B * P;
  for (th_i64 e = (th_i64)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (th_i64)gridDim.x * blockDim.x) {
    const int p = (int)(e % P);
    const th_i64 ab = e / P;
    const int b = (int)(ab % B), a = (int)(ab / B);
    dst[((th_i64)b * A + a) * P + p] = src[e];
  }
}

#define TH_NN_CONV_KERNELS(T, S)                                                    \
  extern "C" __global__ void th_nn_im2col_##S(const T* x, T* col, th_nn_conv_geom g, \
                                              int nb) {                            \
    th_nn_im2col<T>(x, col, g, nb);                                                 \
  }                                                                                 \
  extern "C" __global__ void th_nn_col2im_##S(const T* col, T* gx, th_nn_conv_geom g, \
                                              int nb) {                            \
    th_nn_col2im<T>(col, gx, g, nb);                                                \
  }                                                                                 \
  extern "C" __global__ void th_nn_swap01_##S(const T* src, T* dst, int A, int B,   \
                                              int P) {                              \
    th_nn_swap01<T>(src, dst, A, B, P);                                             \
  }

#endif  // THEANINE_NN_CONV
)";

const ModuleFamily& family() {
  static const ModuleFamily f("nn_conv", kConv,
                              {{"f32", "TH_NN_CONV_KERNELS(float, f32)\n"},
                               {"f64", "TH_NN_CONV_KERNELS(double, f64)\n"}});
  return f;
}

// The patch matrix of a chunk holds at most this many elements (128 MiB of
// float32): large enough for one GEMM to fill the device.
constexpr int64_t kColElements = int64_t(1) << 25;
std::atomic<int64_t> g_col_elements{kColElements};

// The host twin of th_nn_conv_geom.
struct Geom {
  int c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, oh, ow, flip;
};

struct Conv {
  int64_t batch = 0, filters = 0;
  Geom g{};
  int64_t taps() const { return int64_t(g.c) * g.kh * g.kw; }  // K
  int64_t pixels() const { return int64_t(g.oh) * g.ow; }      // P
  int64_t image() const { return int64_t(g.c) * g.h * g.w; }
  // Images per chunk.
  int64_t chunk = 1;
};

int64_t pad_of(const Conv2dOptions& o, int axis, int64_t k) {
  const int64_t span = o.dilation[axis] * (k - 1) + 1;
  if (o.border_mode == "valid") return 0;
  if (o.border_mode == "full") return span - 1;
  if (o.border_mode == "half") return span / 2;
  return o.pad[axis];
}

enum class Fit { Ok, Invalid, TooLarge };

// The geometry for input shape xs and filters ws: Invalid where the reference
// raises (the channels differ, a filter larger than the padded input),
// TooLarge where a size is beyond the kernels' 32-bit index arithmetic.
Fit conv_of(const Shape& xs, const Shape& ws, const Conv2dOptions& o, Conv* out) {
  if (xs.size() != 4 || ws.size() != 4 || xs[1] != ws[1]) return Fit::Invalid;
  int64_t pads[2], outs[2];
  for (int a = 0; a < 2; ++a) {
    const int64_t k = ws[2 + a];
    if (k <= 0) return Fit::Invalid;
    pads[a] = pad_of(o, a, k);
    const int64_t span = o.dilation[a] * (k - 1) + 1, padded = xs[2 + a] + 2 * pads[a];
    if (span > padded) return Fit::Invalid;
    outs[a] = (padded - span) / o.subsample[a] + 1;
  }
  if (!fits_int32({xs[0], ws[0], xs[1], xs[2], xs[3], ws[2], ws[3], pads[0], pads[1],
                   o.subsample[0], o.subsample[1], o.dilation[0], o.dilation[1], outs[0],
                   outs[1]}))
    return Fit::TooLarge;
  Conv c;
  c.batch = xs[0];
  c.filters = ws[0];
  c.g = Geom{static_cast<int>(xs[1]),          static_cast<int>(xs[2]),
             static_cast<int>(xs[3]),          static_cast<int>(ws[2]),
             static_cast<int>(ws[3]),          static_cast<int>(pads[0]),
             static_cast<int>(pads[1]),        static_cast<int>(o.subsample[0]),
             static_cast<int>(o.subsample[1]), static_cast<int>(o.dilation[0]),
             static_cast<int>(o.dilation[1]),  static_cast<int>(outs[0]),
             static_cast<int>(outs[1]),        o.filter_flip ? 1 : 0};
  // The kernels index a chunk's patch matrix, output and images with 32-bit
  // ints: one image's worth must fit, and a chunk is cut to keep them fitting.
  const int64_t K = c.taps(), P = c.pixels();
  const int64_t per_image = std::max({K * P, c.filters * P, c.image(), int64_t(1)});
  if (per_image > 0x7fffffff) return Fit::TooLarge;
  c.chunk =
      std::clamp<int64_t>(std::min(g_col_elements.load() / std::max<int64_t>(K * P, 1),
                                   0x7fffffff / per_image),
                          1, std::max<int64_t>(c.batch, 1));
  *out = c;
  return Fit::Ok;
}

bool hint_ok(const NDArray& a, const std::optional<std::array<int64_t, 4>>& hint) {
  if (!hint) return true;
  for (int d = 0; d < 4; ++d)
    if ((*hint)[d] >= 0 && a.shape(d) != (*hint)[d]) return false;
  return true;
}

// The shape a "like" input gives: a 4-d tensor's shape or a 4-vector's values
// (false where the reference raises).
bool like_shape(const NDArray& like, Shape* s) {
  if (like.ndim() == 4) {
    *s = like.shape();
    return true;
  }
  if (like.size() != 4) return false;
  NDArray h = to_host(like);
  s->assign(4, 0);
  for (int d = 0; d < 4; ++d) {
    (*s)[d] = h.item_int(d);
    if ((*s)[d] < 0) return false;
  }
  return true;
}

const char* sfx(DType d) { return d == DType::Float32 ? "_f32" : "_f64"; }
const CudaSourceModule& module_for(DType d) { return family().get(sfx(d) + 1); }

void launch(const char* name, DType dt, int64_t threads, uint64_t a, uint64_t b,
            const Geom& g, int nb) {
  launch_cuda_source(module_for(dt), std::string(name) + sfx(dt),
                     {cuda_grid_for(threads, 256), 256, 0}, a, b, g, nb);
}

void swap01(DType dt, uint64_t src, uint64_t dst, int64_t A, int64_t B, int64_t P) {
  const int a = static_cast<int>(A), b = static_cast<int>(B), p = static_cast<int>(P);
  launch_cuda_source(module_for(dt), std::string("th_nn_swap01") + sfx(dt),
                     {cuda_grid_for(A * B * P, 256), 256, 0}, src, dst, a, b, p);
}

uint64_t at(const NDArray& a, int64_t elements) {
  return dptr(a) + static_cast<uint64_t>(elements) * itemsize(a.dtype());
}

// ---- the three ops --------------------------------------------------------------

NDArray forward(const Conv& c, DType dt, const NDArray& x, const NDArray& w) {
  const int64_t F = c.filters, K = c.taps(), P = c.pixels();
  NDArray out = device_empty(dt, {c.batch, F, c.g.oh, c.g.ow});
  if (out.size() == 0) return out;
  if (K == 0) return device_zeros(dt, out.shape());
  NDArray col = device_empty(dt, {K * c.chunk * P});
  NDArray tmp = c.chunk > 1 ? device_empty(dt, {F * c.chunk * P}) : NDArray();
  for (int64_t n0 = 0; n0 < c.batch; n0 += c.chunk) {
    const int64_t nb = std::min(c.chunk, c.batch - n0), ld = nb * P;
    launch("th_nn_im2col", dt, K * ld, at(x, n0 * c.image()), dptr(col), c.g,
           static_cast<int>(nb));
    // (F, nb * P) = W (F, K) @ col (K, nb * P); one image lands in place.
    const uint64_t dst = nb == 1 ? at(out, n0 * F * P) : dptr(tmp);
    cuda_gemm(dt, false, false, F, ld, K, 1.0, dptr(w), K, dptr(col), ld, 0.0, dst, ld);
    if (nb > 1) swap01(dt, dptr(tmp), at(out, n0 * F * P), F, nb, P);
  }
  return out;
}

NDArray grad_inputs(const Conv& c, DType dt, const NDArray& w, const NDArray& gy,
                    const Shape& xs) {
  const int64_t F = c.filters, K = c.taps(), P = c.pixels();
  if (shape_size(xs) == 0) return device_empty(dt, xs);
  if (K == 0 || P == 0 || F == 0) return device_zeros(dt, xs);
  NDArray gx = device_empty(dt, xs);
  NDArray col = device_empty(dt, {K * c.chunk * P});
  NDArray tmp = c.chunk > 1 ? device_empty(dt, {F * c.chunk * P}) : NDArray();
  for (int64_t n0 = 0; n0 < c.batch; n0 += c.chunk) {
    const int64_t nb = std::min(c.chunk, c.batch - n0), ld = nb * P;
    uint64_t gyc = at(gy, n0 * F * P);
    if (nb > 1) {
      swap01(dt, gyc, dptr(tmp), nb, F, P);  // (nb, F, P) -> (F, nb, P)
      gyc = dptr(tmp);
    }
    // col (K, nb * P) = W^T (K, F) @ gy (F, nb * P).
    cuda_gemm(dt, true, false, K, ld, F, 1.0, dptr(w), K, gyc, ld, 0.0, dptr(col), ld);
    launch("th_nn_col2im", dt, nb * c.image(), dptr(col), at(gx, n0 * c.image()), c.g,
           static_cast<int>(nb));
  }
  return gx;
}

NDArray grad_weights(const Conv& c, DType dt, const NDArray& x, const NDArray& gy,
                     const Shape& ws) {
  const int64_t F = c.filters, K = c.taps(), P = c.pixels();
  if (shape_size(ws) == 0) return device_empty(dt, ws);
  if (c.batch == 0 || P == 0) return device_zeros(dt, ws);
  NDArray gw = device_empty(dt, ws);
  NDArray col = device_empty(dt, {K * c.chunk * P});
  NDArray tmp = c.chunk > 1 ? device_empty(dt, {F * c.chunk * P}) : NDArray();
  for (int64_t n0 = 0; n0 < c.batch; n0 += c.chunk) {
    const int64_t nb = std::min(c.chunk, c.batch - n0), ld = nb * P;
    launch("th_nn_im2col", dt, K * ld, at(x, n0 * c.image()), dptr(col), c.g,
           static_cast<int>(nb));
    uint64_t gyc = at(gy, n0 * F * P);
    if (nb > 1) {
      swap01(dt, gyc, dptr(tmp), nb, F, P);
      gyc = dptr(tmp);
    }
    // gw (F, K) (+)= gy (F, nb * P) @ col^T (nb * P, K).
    cuda_gemm(dt, false, true, F, K, ld, 1.0, gyc, ld, dptr(col), ld, n0 == 0 ? 0.0 : 1.0,
              dptr(gw), K);
  }
  return gw;
}

bool conv_matches(const Apply& node) {
  return dynamic_cast<const Conv2d*>(node.op.get()) != nullptr;
}
bool grad_inputs_matches(const Apply& node) {
  return dynamic_cast<const Conv2dGradInputs*>(node.op.get()) != nullptr;
}
bool grad_weights_matches(const Apply& node) {
  return dynamic_cast<const Conv2dGradWeights*>(node.op.get()) != nullptr;
}

std::optional<std::vector<NDArray>> conv_run(const Apply& node,
                                             const std::vector<NDArray>& in) {
  const auto& op = static_cast<const ConvOpBase&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() != 2 || in[0].ndim() != 4 || in[1].ndim() != 4)
    return std::nullopt;
  const Conv2dOptions& o = op.options();
  if (!hint_ok(in[0], o.input_shape) || !hint_ok(in[1], o.filter_shape))
    throw_reference_error(node, in, "a shape hint");
  Conv c;
  const Fit fit = conv_of(in[0].shape(), in[1].shape(), o, &c);
  if (fit == Fit::Invalid) throw_reference_error(node, in, "the shapes");
  if (fit == Fit::TooLarge) return std::nullopt;
  return std::vector<NDArray>{forward(c, dt, dense(in[0], dt), dense(in[1], dt))};
}

std::optional<std::vector<NDArray>> grad_inputs_run(const Apply& node,
                                                    const std::vector<NDArray>& in) {
  const auto& op = static_cast<const ConvOpBase&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() != 3 || in[0].ndim() != 4 || in[1].ndim() != 4)
    return std::nullopt;
  Shape xs;
  Conv c;
  if (!like_shape(in[2], &xs)) throw_reference_error(node, in, "input_like");
  const Fit fit = conv_of(xs, in[0].shape(), op.options(), &c);
  if (fit == Fit::Invalid) throw_reference_error(node, in, "the shapes");
  if (fit == Fit::TooLarge) return std::nullopt;
  const Shape want{c.batch, c.filters, c.g.oh, c.g.ow};
  if (in[1].shape() != want) throw_reference_error(node, in, "the output_grad's shape");
  return std::vector<NDArray>{grad_inputs(c, dt, dense(in[0], dt), dense(in[1], dt), xs)};
}

std::optional<std::vector<NDArray>> grad_weights_run(const Apply& node,
                                                     const std::vector<NDArray>& in) {
  const auto& op = static_cast<const ConvOpBase&>(*node.op);
  const DType dt = node.output_ptr(0)->type.dtype;
  if (!is_float(dt) || in.size() != 3 || in[0].ndim() != 4 || in[1].ndim() != 4)
    return std::nullopt;
  Shape ws;
  Conv c;
  if (!like_shape(in[2], &ws)) throw_reference_error(node, in, "filters_like");
  const Fit fit = conv_of(in[0].shape(), ws, op.options(), &c);
  if (fit == Fit::Invalid) throw_reference_error(node, in, "the shapes");
  if (fit == Fit::TooLarge) return std::nullopt;
  const Shape want{c.batch, c.filters, c.g.oh, c.g.ow};
  if (in[1].shape() != want) throw_reference_error(node, in, "the output_grad's shape");
  return std::vector<NDArray>{
      grad_weights(c, dt, dense(in[0], dt), dense(in[1], dt), ws)};
}

}  // namespace

void set_conv_chunk_elements(int64_t elements) {
  g_col_elements = elements > 0 ? elements : kColElements;
}

std::vector<const CudaSourceModule*> conv_modules() { return family().all(); }

std::vector<CudaOpEntry> conv_entries() {
  return {{"Conv2d", conv_matches, conv_run},
          {"Conv2dGradInputs", grad_inputs_matches, grad_inputs_run},
          {"Conv2dGradWeights", grad_weights_matches, grad_weights_run}};
}

}  // namespace theanine::cuda_nn
