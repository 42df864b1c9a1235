// im2col + GEMM convolution kernels (see conv_kernels.h). The batch is cut into
// chunks of images whose patch matrix fits in the L2 cache; chunks run in
// parallel (each thread with its own scratch and single-threaded BLAS) and each
// chunk is one GEMM. Filter flipping costs nothing: the channel-major layout
// flips the taps it reads, the pixel-major one flips its reordered copy of the
// filters.
#include "ops/conv_kernels.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

#include "ops/conv_parallel.h"
#include "runtime/thread_pool.h"

#ifdef THEANINE_HAVE_BLAS
#include <cblas.h>
#endif

namespace theanine::detail {

namespace {

// A chunk's patch matrix aims at this many bytes (half of a core's L2) ...
constexpr int64_t kColBytes = 512 * 1024;
// ... and at least this many rows of pixels, so each GEMM is large enough.
constexpr int64_t kMinPixels = 256;

// Uninitialized scratch memory that grows on demand (no zero-filling pass).
template <class T>
class Scratch {
 public:
  T* get(int64_t n) {
    if (n > size_) {
      data_.reset(new T[n]);
      size_ = n;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<T[]> data_;
  int64_t size_ = 0;
};

// The indices i in [0, count) with 0 <= i * stride + off < size: [lo, hi).
void valid_range(int64_t off, int64_t stride, int64_t size, int64_t count, int64_t* lo,
                 int64_t* hi) {
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
  l = std::min(l, count);
  h = std::min(h, count);
  *lo = l;
  *hi = std::max(h, l);
}

// dst (cols, rows) = the transpose of src (rows, cols), both contiguous.
template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
    }
}

// ---- channel-major patches: row (c, a, b), column img * P + i * out_w + j ----

// One filter tap's view of the input: output pixel (i, j) reads input pixel
// (i * stride_h + oy, j * stride_w + ox), inside the image for i in [i_lo, i_hi)
// and j in [j_lo, j_hi).
struct Tap {
  int64_t oy, ox, i_lo, i_hi, j_lo, j_hi;
};

Tap tap_of(const ConvGeometry& g, int64_t a, int64_t b) {
  const int64_t ta = g.flip ? g.k_h - 1 - a : a, tb = g.flip ? g.k_w - 1 - b : b;
  Tap t;
  t.oy = ta * g.dil_h - g.pad_h;
  t.ox = tb * g.dil_w - g.pad_w;
  valid_range(t.oy, g.stride_h, g.in_h, g.out_h, &t.i_lo, &t.i_hi);
  valid_range(t.ox, g.stride_w, g.in_w, g.out_w, &t.j_lo, &t.j_hi);
  return t;
}

template <class T>
void im2col_channel_major(const ConvGeometry& g, const T* x, int64_t n0, int64_t nb,
                          T* col) {
  const int64_t P = g.out_pixels(), ld = nb * P, ow = g.out_w, iw = g.in_w;
  const int64_t plane = g.in_h * g.in_w, image = g.channels * plane;
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t a = 0; a < g.k_h; ++a)
      for (int64_t b = 0; b < g.k_w; ++b) {
        const Tap t = tap_of(g, a, b);
        T* row = col + ((c * g.k_h + a) * g.k_w + b) * ld;
        for (int64_t img = 0; img < nb; ++img) {
          const T* src = x + (n0 + img) * image + c * plane;
          T* d = row + img * P;
          std::fill(d, d + t.i_lo * ow, T(0));
          for (int64_t i = t.i_lo; i < t.i_hi; ++i) {
            // Offsets, not pointers: the row may start left of the image.
            const int64_t s = (i * g.stride_h + t.oy) * iw + t.ox;
            T* dr = d + i * ow;
            std::fill(dr, dr + t.j_lo, T(0));
            if (g.stride_w == 1)
              std::memcpy(dr + t.j_lo, src + s + t.j_lo, (t.j_hi - t.j_lo) * sizeof(T));
            else
              for (int64_t j = t.j_lo; j < t.j_hi; ++j) dr[j] = src[s + j * g.stride_w];
            std::fill(dr + t.j_hi, dr + ow, T(0));
          }
          std::fill(d + t.i_hi * ow, d + P, T(0));
        }
      }
}

// The adjoint of im2col_channel_major: adds each patch entry into the input
// pixel it came from.
template <class T>
void col2im_channel_major(const ConvGeometry& g, const T* col, int64_t n0, int64_t nb,
                          T* gx) {
  const int64_t P = g.out_pixels(), ld = nb * P, ow = g.out_w, iw = g.in_w;
  const int64_t plane = g.in_h * g.in_w, image = g.channels * plane;
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t a = 0; a < g.k_h; ++a)
      for (int64_t b = 0; b < g.k_w; ++b) {
        const Tap t = tap_of(g, a, b);
        const T* row = col + ((c * g.k_h + a) * g.k_w + b) * ld;
        for (int64_t img = 0; img < nb; ++img) {
          T* dst = gx + (n0 + img) * image + c * plane;
          const T* s = row + img * P;
          for (int64_t i = t.i_lo; i < t.i_hi; ++i) {
            const int64_t d = (i * g.stride_h + t.oy) * iw + t.ox;
            const T* sr = s + i * ow;
            if (g.stride_w == 1)
              for (int64_t j = t.j_lo; j < t.j_hi; ++j) dst[d + j] += sr[j];
            else
              for (int64_t j = t.j_lo; j < t.j_hi; ++j) dst[d + j * g.stride_w] += sr[j];
          }
        }
      }
}

// gyc (filters, nb * P): the output gradients of images [n0, n0 + nb) side by
// side (the image's own block when nb is 1).
template <class T>
const T* gather_output_grads(const ConvGeometry& g, const T* gy, int64_t n0, int64_t nb,
                             Scratch<T>& scratch) {
  const int64_t P = g.out_pixels(), O = g.filters;
  if (nb == 1) return gy + n0 * O * P;
  T* dst = scratch.get(O * nb * P);
  for (int64_t img = 0; img < nb; ++img)
    for (int64_t o = 0; o < O; ++o)
      std::memcpy(dst + o * nb * P + img * P, gy + ((n0 + img) * O + o) * P,
                  P * sizeof(T));
  return dst;
}

// ---- pixel-major patches: row img * P + i * out_w + j, column (a, b, c) -----

// xt (nb, in_h * in_w, channels): images [n0, n0 + nb) channels-last.
template <class T>
void to_channels_last(const ConvGeometry& g, const T* x, int64_t n0, int64_t nb, T* xt) {
  const int64_t plane = g.in_h * g.in_w, image = g.channels * plane;
  for (int64_t img = 0; img < nb; ++img)
    transpose(x + (n0 + img) * image, g.channels, plane, xt + img * image);
}

template <class T>
void im2col_pixel_major(const ConvGeometry& g, const T* xt, int64_t nb, T* col) {
  const int64_t C = g.channels, K = g.patch(), kwc = g.k_w * C;
  const int64_t image = g.in_h * g.in_w * C;
  T* row = col;
  for (int64_t img = 0; img < nb; ++img) {
    const T* src = xt + img * image;
    for (int64_t i = 0; i < g.out_h; ++i)
      for (int64_t j = 0; j < g.out_w; ++j, row += K) {
        const int64_t x0 = j * g.stride_w - g.pad_w;
        int64_t b_lo, b_hi;
        valid_range(x0, g.dil_w, g.in_w, g.k_w, &b_lo, &b_hi);
        for (int64_t a = 0; a < g.k_h; ++a) {
          T* d = row + a * kwc;
          const int64_t y = i * g.stride_h + a * g.dil_h - g.pad_h;
          if (y < 0 || y >= g.in_h) {
            std::fill(d, d + kwc, T(0));
            continue;
          }
          const int64_t s = (y * g.in_w + x0) * C;
          std::fill(d, d + b_lo * C, T(0));
          if (g.dil_w == 1)
            std::memcpy(d + b_lo * C, src + s + b_lo * C, (b_hi - b_lo) * C * sizeof(T));
          else
            for (int64_t b = b_lo; b < b_hi; ++b)
              std::memcpy(d + b * C, src + s + b * g.dil_w * C, C * sizeof(T));
          std::fill(d + b_hi * C, d + kwc, T(0));
        }
      }
  }
}

// The adjoint of im2col_pixel_major, into channels-last gxt (nb, in_h * in_w, C).
template <class T>
void col2im_pixel_major(const ConvGeometry& g, const T* col, int64_t nb, T* gxt) {
  const int64_t C = g.channels, K = g.patch(), kwc = g.k_w * C;
  const int64_t image = g.in_h * g.in_w * C;
  const T* row = col;
  for (int64_t img = 0; img < nb; ++img) {
    T* dst = gxt + img * image;
    for (int64_t i = 0; i < g.out_h; ++i)
      for (int64_t j = 0; j < g.out_w; ++j, row += K) {
        const int64_t x0 = j * g.stride_w - g.pad_w;
        int64_t b_lo, b_hi;
        valid_range(x0, g.dil_w, g.in_w, g.k_w, &b_lo, &b_hi);
        for (int64_t a = 0; a < g.k_h; ++a) {
          const int64_t y = i * g.stride_h + a * g.dil_h - g.pad_h;
          if (y < 0 || y >= g.in_h) continue;
          const T* s = row + a * kwc;
          const int64_t d = (y * g.in_w + x0) * C;
          if (g.dil_w == 1) {
            for (int64_t k = b_lo * C; k < b_hi * C; ++k) dst[d + k] += s[k];
          } else {
            for (int64_t b = b_lo; b < b_hi; ++b)
              for (int64_t c = 0; c < C; ++c)
                dst[d + b * g.dil_w * C + c] += s[b * C + c];
          }
        }
      }
  }
}

// The filters reordered (filters, k_h, k_w, channels), flipped when g.flip, so
// that column (a, b, c) of a pixel-major patch meets its weight.
template <class T>
void filters_pixel_major(const ConvGeometry& g, const T* w, T* wp) {
  const int64_t C = g.channels, kh = g.k_h, kw = g.k_w;
  for (int64_t o = 0; o < g.filters; ++o)
    for (int64_t a = 0; a < kh; ++a)
      for (int64_t b = 0; b < kw; ++b) {
        const int64_t ta = g.flip ? kh - 1 - a : a, tb = g.flip ? kw - 1 - b : b;
        for (int64_t c = 0; c < C; ++c)
          wp[((o * kh + a) * kw + b) * C + c] = w[((o * C + c) * kh + ta) * kw + tb];
      }
}

// The inverse of filters_pixel_major.
template <class T>
void filters_from_pixel_major(const ConvGeometry& g, const T* wp, T* w) {
  const int64_t C = g.channels, kh = g.k_h, kw = g.k_w;
  for (int64_t o = 0; o < g.filters; ++o)
    for (int64_t a = 0; a < kh; ++a)
      for (int64_t b = 0; b < kw; ++b) {
        const int64_t ta = g.flip ? kh - 1 - a : a, tb = g.flip ? kw - 1 - b : b;
        for (int64_t c = 0; c < C; ++c)
          w[((o * C + c) * kh + ta) * kw + tb] = wp[((o * kh + a) * kw + b) * C + c];
      }
}

// gyr (nb * P, filters): the output gradients of images [n0, n0 + nb), one row
// per pixel.
template <class T>
void output_grad_rows(const ConvGeometry& g, const T* gy, int64_t n0, int64_t nb,
                      T* gyr) {
  const int64_t P = g.out_pixels(), O = g.filters;
  for (int64_t img = 0; img < nb; ++img)
    transpose(gy + (n0 + img) * O * P, O, P, gyr + img * P * O);
}

// ---- chunks and threads ---------------------------------------------------

// How many images a chunk holds.
template <class T>
int64_t chunk_images(const ConvGeometry& g) {
  const int64_t P = std::max<int64_t>(g.out_pixels(), 1);
  const int64_t per_image = std::max<int64_t>(g.patch() * P * sizeof(T), 1);
  const int64_t by_cache = std::max<int64_t>(1, kColBytes / per_image);
  const int64_t wanted = (kMinPixels + P - 1) / P;
  return std::max<int64_t>(1, std::min({wanted, by_cache, g.batch}));
}

// Runs body(n0, nb, thread) over the chunks of the batch, in parallel when the
// work is large enough, with single-threaded BLAS inside.
template <class Body>
void for_each_chunk(const ConvGeometry& g, int64_t nb, Body&& body) {
  const int64_t chunks = (g.batch + nb - 1) / nb;
  // A chunk costs its GEMM's multiply-adds, counted as cheap operations.
  const double cost = static_cast<double>(nb) * g.out_pixels() * g.patch() *
                      std::max<int64_t>(g.filters, 1);
  auto run = [&](int64_t begin, int64_t end, int thread) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t n0 = k * nb;
      body(n0, std::min(nb, g.batch - n0), thread);
    }
  };
  if (parallel_range_count(chunks, cost) == 1) {
    run(0, chunks, 0);
    return;
  }
  SingleThreadedBlas single;
  parallel_ranges(chunks, cost, run);
}

// Any empty dim of the product: the output is zeros (BLAS is never asked).
bool degenerate(const ConvGeometry& g) {
  return g.batch == 0 || g.filters == 0 || g.out_pixels() == 0 || g.patch() == 0;
}

template <class T>
struct ThreadScratch {
  Scratch<T> col, image, rows;
};

}  // namespace

ConvLayout ConvGeometry::resolved_layout() const {
  if (layout != ConvLayout::Auto) return layout;
  const int64_t pixel_run = dil_w == 1 ? k_w * channels : channels;
  const int64_t channel_run = stride_w == 1 ? out_w : 1;
  return pixel_run > channel_run ? ConvLayout::PixelMajor : ConvLayout::ChannelMajor;
}

template <class T>
void gemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                   int64_t ldc) {
  if (m == 0 || n == 0) return;
  auto zero_c = [&] {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
  };
#ifdef THEANINE_HAVE_BLAS
  const int64_t big = INT_MAX / 2;
  if (k > 0 && m < big && n < big && k < big && lda < big && ldb < big && ldc < big) {
    // beta = 0 must ignore c even where it holds NaN. OpenBLAS's GEMM kernels
    // store zeros then, but a product with one row or column may be passed on to
    // GEMV, whose scaling by zero keeps NaN in some versions: start from zeros.
    if (beta == T(0) && (m == 1 || n == 1)) zero_c();
    const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    if constexpr (sizeof(T) == sizeof(float))
      cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    else
      cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#endif
  if (beta == T(0)) zero_c();
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    if (beta != T(0) && beta != T(1))
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    for (int64_t p = 0; p < k; ++p) {
      const T aip = trans_a ? a[p * lda + i] : a[i * lda + p];
      if (trans_b)
        for (int64_t j = 0; j < n; ++j) ci[j] += aip * b[j * ldb + p];
      else
        for (int64_t j = 0; j < n; ++j) ci[j] += aip * b[p * ldb + j];
    }
  }
}

template <class T>
void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, T* out) {
  const int64_t O = g.filters, P = g.out_pixels(), K = g.patch();
  if (degenerate(g)) {
    std::fill(out, out + g.batch * O * P, T(0));
    return;
  }
  const int64_t nb = chunk_images<T>(g);
  std::vector<ThreadScratch<T>> scratch(num_threads());
  if (g.resolved_layout() == ConvLayout::ChannelMajor) {
    for_each_chunk(g, nb, [&](int64_t n0, int64_t cnb, int t) {
      T* col = scratch[t].col.get(K * nb * P);
      im2col_channel_major(g, x, n0, cnb, col);
      const int64_t ld = cnb * P;
      if (cnb == 1) {
        gemm_rowmajor<T>(false, false, O, P, K, w, K, col, P, T(0), out + n0 * O * P, P);
        return;
      }
      T* r = scratch[t].rows.get(O * nb * P);
      gemm_rowmajor<T>(false, false, O, ld, K, w, K, col, ld, T(0), r, ld);
      for (int64_t img = 0; img < cnb; ++img)
        for (int64_t o = 0; o < O; ++o)
          std::memcpy(out + ((n0 + img) * O + o) * P, r + o * ld + img * P,
                      P * sizeof(T));
    });
    return;
  }
  std::unique_ptr<T[]> wp(new T[O * K]);
  filters_pixel_major(g, w, wp.get());
  const int64_t image = g.channels * g.in_h * g.in_w;
  for_each_chunk(g, nb, [&](int64_t n0, int64_t cnb, int t) {
    T* xt = scratch[t].image.get(nb * image);
    T* col = scratch[t].col.get(nb * P * K);
    T* r = scratch[t].rows.get(nb * P * O);
    to_channels_last(g, x, n0, cnb, xt);
    im2col_pixel_major(g, xt, cnb, col);
    gemm_rowmajor<T>(false, true, cnb * P, O, K, col, K, wp.get(), K, T(0), r, O);
    for (int64_t img = 0; img < cnb; ++img)
      transpose(r + img * P * O, P, O, out + (n0 + img) * O * P);
  });
}

template <class T>
void conv2d_backward_input(const ConvGeometry& g, const T* w, const T* gy, T* gx) {
  const int64_t O = g.filters, P = g.out_pixels(), K = g.patch();
  const int64_t image = g.channels * g.in_h * g.in_w;
  if (degenerate(g)) {
    std::fill(gx, gx + g.batch * image, T(0));
    return;
  }
  const int64_t nb = chunk_images<T>(g);
  std::vector<ThreadScratch<T>> scratch(num_threads());
  if (g.resolved_layout() == ConvLayout::ChannelMajor) {
    for_each_chunk(g, nb, [&](int64_t n0, int64_t cnb, int t) {
      T* col = scratch[t].col.get(K * nb * P);
      const T* gyc = gather_output_grads(g, gy, n0, cnb, scratch[t].rows);
      const int64_t ld = cnb * P;
      gemm_rowmajor<T>(true, false, K, ld, O, w, K, gyc, ld, T(0), col, ld);
      std::fill(gx + n0 * image, gx + (n0 + cnb) * image, T(0));
      col2im_channel_major(g, col, n0, cnb, gx);
    });
    return;
  }
  std::unique_ptr<T[]> wp(new T[O * K]);
  filters_pixel_major(g, w, wp.get());
  for_each_chunk(g, nb, [&](int64_t n0, int64_t cnb, int t) {
    T* gyr = scratch[t].rows.get(nb * P * O);
    T* col = scratch[t].col.get(nb * P * K);
    T* gxt = scratch[t].image.get(nb * image);
    output_grad_rows(g, gy, n0, cnb, gyr);
    gemm_rowmajor<T>(false, false, cnb * P, K, O, gyr, O, wp.get(), K, T(0), col, K);
    std::fill(gxt, gxt + cnb * image, T(0));
    col2im_pixel_major(g, col, cnb, gxt);
    const int64_t plane = g.in_h * g.in_w;
    for (int64_t img = 0; img < cnb; ++img)
      transpose(gxt + img * image, plane, g.channels, gx + (n0 + img) * image);
  });
}

template <class T>
void conv2d_backward_filters(const ConvGeometry& g, const T* x, const T* gy, T* gw) {
  const int64_t O = g.filters, P = g.out_pixels(), K = g.patch();
  std::fill(gw, gw + O * K, T(0));
  if (degenerate(g)) return;
  const int64_t nb = chunk_images<T>(g);
  const int threads = num_threads();
  std::vector<ThreadScratch<T>> scratch(threads);
  // Each thread accumulates into its own sum (zeroed on first use); they are
  // added up at the end.
  std::vector<std::vector<T>> partial(threads);
  auto sum_of = [&](int t) -> T* {
    if (partial[t].empty()) partial[t].assign(O * K, T(0));
    return partial[t].data();
  };
  const bool channel_major = g.resolved_layout() == ConvLayout::ChannelMajor;
  const int64_t image = g.channels * g.in_h * g.in_w;
  for_each_chunk(g, nb, [&](int64_t n0, int64_t cnb, int t) {
    T* acc = sum_of(t);
    const int64_t rows = cnb * P;
    if (channel_major) {
      T* col = scratch[t].col.get(K * nb * P);
      im2col_channel_major(g, x, n0, cnb, col);
      const T* gyc = gather_output_grads(g, gy, n0, cnb, scratch[t].rows);
      gemm_rowmajor<T>(false, true, O, K, rows, gyc, rows, col, rows, T(1), acc, K);
      return;
    }
    T* xt = scratch[t].image.get(nb * image);
    T* col = scratch[t].col.get(nb * P * K);
    T* gyr = scratch[t].rows.get(nb * P * O);
    to_channels_last(g, x, n0, cnb, xt);
    im2col_pixel_major(g, xt, cnb, col);
    output_grad_rows(g, gy, n0, cnb, gyr);
    gemm_rowmajor<T>(true, false, O, K, rows, gyr, O, col, K, T(1), acc, K);
  });
  std::vector<T> total(O * K, T(0));
  for (const std::vector<T>& p : partial)
    if (!p.empty())
      for (int64_t i = 0; i < O * K; ++i) total[i] += p[i];
  if (channel_major)
    std::copy(total.begin(), total.end(), gw);
  else
    filters_from_pixel_major(g, total.data(), gw);
}

template void gemm_rowmajor<float>(bool, bool, int64_t, int64_t, int64_t, const float*,
                                   int64_t, const float*, int64_t, float, float*,
                                   int64_t);
template void gemm_rowmajor<double>(bool, bool, int64_t, int64_t, int64_t, const double*,
                                    int64_t, const double*, int64_t, double, double*,
                                    int64_t);
template void conv2d_forward<float>(const ConvGeometry&, const float*, const float*,
                                    float*);
template void conv2d_forward<double>(const ConvGeometry&, const double*, const double*,
                                     double*);
template void conv2d_backward_input<float>(const ConvGeometry&, const float*,
                                           const float*, float*);
template void conv2d_backward_input<double>(const ConvGeometry&, const double*,
                                            const double*, double*);
template void conv2d_backward_filters<float>(const ConvGeometry&, const float*,
                                             const float*, float*);
template void conv2d_backward_filters<double>(const ConvGeometry&, const double*,
                                              const double*, double*);

}  // namespace theanine::detail
