#pragma once
// The kernels under Conv2d, Conv2dGradInputs and Conv2dGradWeights: im2col (the
// input patch each output pixel sees) and one GEMM per chunk of images, col2im
// for the gradient of the input. Exposed so tests can run them on raw buffers
// against a naive loop.
#include <cstdint>

namespace theanine::detail {

// How the patch matrix is laid out. ChannelMajor: one row per filter tap
// (c, a, b), one column per output pixel; its inner copies are runs of an
// output row, so it suits wide images with few channels. PixelMajor: one row per
// output pixel, its taps ordered (a, b, c) read from a channels-last copy of the
// input; its inner copies are runs of k_w * channels values, so it suits many
// channels on small images. Auto picks the one with the longer runs.
enum class ConvLayout { Auto, ChannelMajor, PixelMajor };

// Every size of one 2-d convolution, known (run time). Input (batch, channels,
// in_h, in_w), filters (filters, channels, k_h, k_w), output (batch, filters,
// out_h, out_w). Output pixel (i, j) and filter tap (a, b) read input pixel
// (i * stride_h + a * dil_h - pad_h, j * stride_w + b * dil_w - pad_w), zero
// outside the image; with `flip` tap (a, b) multiplies filter element
// (k_h - 1 - a, k_w - 1 - b) (a true convolution), else (a, b) (a correlation).
struct ConvGeometry {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0;
  int64_t filters = 0, k_h = 0, k_w = 0;
  int64_t pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t out_h = 0, out_w = 0;
  bool flip = true;
  ConvLayout layout = ConvLayout::Auto;

  int64_t patch() const { return channels * k_h * k_w; }  // a GEMM's inner length
  int64_t out_pixels() const { return out_h * out_w; }
  ConvLayout resolved_layout() const;
};

// All buffers are contiguous, of the shapes above, of T = float or double.
// out = the convolution of x with w.
template <class T>
void conv2d_forward(const ConvGeometry& g, const T* x, const T* w, T* out);
// gx = the gradient of sum(conv2d(x, w) * gy) with respect to x.
template <class T>
void conv2d_backward_input(const ConvGeometry& g, const T* w, const T* gy, T* gx);
// gw = the gradient of sum(conv2d(x, w) * gy) with respect to w.
template <class T>
void conv2d_backward_filters(const ConvGeometry& g, const T* x, const T* gy, T* gw);

// c = op(a) · op(b) + beta * c for row-major matrices (op(a) is m x k, op(b) is
// k x n): OpenBLAS when the build has it, else plain loops.
template <class T>
void gemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                   int64_t ldc);

}  // namespace theanine::detail
