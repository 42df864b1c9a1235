// Convolution (ops/conv.h, ops/conv_kernels.h): the kernels of both patch layouts
// against naive loops for the forward and both gradients (padding, strides,
// dilations, flipping, a batch large enough to run on several threads), the
// builder's static shapes and errors, and the gradient rules against central
// differences.
#include "ops/conv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "graph/evaluate.h"
#include "ops/conv_kernels.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/reduce.h"
#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using detail::ConvGeometry;
using detail::ConvLayout;
using testing::eval1;
using testing::expect_close;
using testing::expect_error;
using testing::input;
using testing::random_array;

using V = std::vector<double>;

V random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d;
  V v(n);
  for (double& x : v) x = d(rng);
  return v;
}

ConvGeometry geometry(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                      int64_t kw, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                      int64_t dh, int64_t dw, bool flip) {
  ConvGeometry g;
  g.batch = n, g.channels = c, g.in_h = h, g.in_w = w;
  g.filters = o, g.k_h = kh, g.k_w = kw;
  g.pad_h = ph, g.pad_w = pw, g.stride_h = sh, g.stride_w = sw, g.dil_h = dh,
  g.dil_w = dw;
  g.flip = flip;
  g.out_h = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
  g.out_w = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  return g;
}

// Calls f(x index, w index, out index) for every product the convolution sums.
template <class F>
void for_each_term(const ConvGeometry& g, F&& f) {
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t o = 0; o < g.filters; ++o)
      for (int64_t i = 0; i < g.out_h; ++i)
        for (int64_t j = 0; j < g.out_w; ++j)
          for (int64_t c = 0; c < g.channels; ++c)
            for (int64_t a = 0; a < g.k_h; ++a)
              for (int64_t b = 0; b < g.k_w; ++b) {
                const int64_t y = i * g.stride_h + a * g.dil_h - g.pad_h;
                const int64_t x = j * g.stride_w + b * g.dil_w - g.pad_w;
                if (y < 0 || y >= g.in_h || x < 0 || x >= g.in_w) continue;
                const int64_t ta = g.flip ? g.k_h - 1 - a : a;
                const int64_t tb = g.flip ? g.k_w - 1 - b : b;
                f(((n * g.channels + c) * g.in_h + y) * g.in_w + x,
                  ((o * g.channels + c) * g.k_h + ta) * g.k_w + tb,
                  ((n * g.filters + o) * g.out_h + i) * g.out_w + j);
              }
}

void expect_near_all(const V& got, const V& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " at " << i;
}

void check_kernels(ConvGeometry g) {
  const V x = random_values(g.batch * g.channels * g.in_h * g.in_w, 1);
  const V w = random_values(g.filters * g.patch(), 2);
  const V gy = random_values(g.batch * g.filters * g.out_pixels(), 3);
  V y(gy.size()), gx(x.size()), gw(w.size());
  for_each_term(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    y[yi] += x[xi] * w[wi];
    gx[xi] += gy[yi] * w[wi];
    gw[wi] += gy[yi] * x[xi];
  });
  for (ConvLayout layout : {ConvLayout::ChannelMajor, ConvLayout::PixelMajor}) {
    g.layout = layout;
    const std::string what =
        layout == ConvLayout::ChannelMajor ? "channel-major" : "pixel-major";
    V got_y(y.size(), NAN), got_gx(gx.size(), NAN), got_gw(gw.size(), NAN);
    detail::conv2d_forward<double>(g, x.data(), w.data(), got_y.data());
    detail::conv2d_backward_input<double>(g, w.data(), gy.data(), got_gx.data());
    detail::conv2d_backward_filters<double>(g, x.data(), gy.data(), got_gw.data());
    expect_near_all(got_y, y, 1e-12, what + " forward");
    expect_near_all(got_gx, gx, 1e-12, what + " grad input");
    expect_near_all(got_gw, gw, 1e-12, what + " grad filters");
  }
}

TEST(ConvKernels, MatchNaiveLoops) {
  for (bool flip : {true, false}) {
    check_kernels(geometry(2, 3, 7, 9, 4, 3, 2, 0, 0, 1, 1, 1, 1, flip));
    check_kernels(geometry(3, 2, 7, 9, 4, 3, 2, 2, 1, 2, 3, 2, 1, flip));
    check_kernels(geometry(2, 1, 6, 5, 2, 2, 3, 1, 2, 1, 1, 1, 2, flip));
    check_kernels(geometry(1, 4, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1, flip));  // full
    check_kernels(geometry(2, 2, 1, 1, 3, 1, 1, 0, 0, 1, 1, 1, 1, flip));
  }
}

TEST(ConvKernels, LargeBatchesSplitOverChunksAndThreads) {
  // Enough images and work for several chunks of images, each thread with some.
  check_kernels(geometry(37, 6, 9, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, true));
  check_kernels(geometry(9, 1, 30, 31, 6, 5, 5, 0, 2, 1, 2, 1, 1, false));
}

TEST(ConvKernels, FloatMatchesDouble) {
  ConvGeometry g = geometry(5, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, true);
  const V x = random_values(g.batch * g.channels * 64, 4), w = random_values(4 * 27, 5);
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end());
  V y(g.batch * 4 * 64);
  std::vector<float> yf(y.size());
  detail::conv2d_forward<double>(g, x.data(), w.data(), y.data());
  detail::conv2d_forward<float>(g, xf.data(), wf.data(), yf.data());
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(yf[i], y[i], 1e-4 * (1 + std::fabs(y[i])));
}

TEST(ConvKernels, GemmWithTransposesAccumulates) {
  // c = a^T b^T + c for 2x3 a^T and 3x2 b^T, against hand-computed values.
  const double a[] = {1, 4, 2, 5, 3, 6};  // a is 3x2: a^T = [[1 2 3], [4 5 6]]
  const double b[] = {1, 0, 1, 0, 1, 1};  // b is 2x3: b^T = [[1 0], [0 1], [1 1]]
  double c[] = {1, 1, 1, 1};
  detail::gemm_rowmajor<double>(true, true, 2, 2, 3, a, 2, b, 3, 1.0, c, 2);
  EXPECT_EQ(std::vector<double>(c, c + 4), (V{5, 6, 11, 12}));
}

// ---- the builder and the ops --------------------------------------------------------

TEST(Conv2d, EvaluatesAndKnowsItsShape) {
  Var x = input(DType::Float64, {2, 3, 6, 5}, "x");
  Var w = input(DType::Float64, {4, 3, 3, 2}, "w");
  Conv2dOptions o = Conv2dOptions::with_padding(1, 2);
  o.subsample = {2, 1};
  o.filter_flip = false;
  Var y = conv2d(x, w, o);
  EXPECT_EQ(y->type.shape, (Shape{2, 4, 3, 8}));
  EXPECT_EQ(y->owner->op->name(),
            "Conv2d{mode=pad(1,2), subsample=(2,1), flip=0, dilation=(1,1)}");
  NDArray xv = random_array(DType::Float64, {2, 3, 6, 5}, 1);
  NDArray wv = random_array(DType::Float64, {4, 3, 3, 2}, 2);
  const ConvGeometry g = geometry(2, 3, 6, 5, 4, 3, 2, 1, 2, 2, 1, 1, 1, false);
  V want(2 * 4 * 3 * 8);
  for_each_term(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    want[yi] += xv.item_double(xi) * wv.item_double(wi);
  });
  expect_near_all(testing::values(eval1(y, {{x.get(), xv}, {w.get(), wv}})), want, 1e-13,
                  "conv2d");
}

TEST(Conv2d, BorderModesGiveTheirShapes) {
  Var x = input(DType::Float32, {-1, 1, 28, 28}, "x");
  Var w = input(DType::Float32, {8, 1, 5, 4}, "w");
  Conv2dOptions o;
  EXPECT_EQ(conv2d(x, w, o)->type.shape, (Shape{-1, 8, 24, 25}));
  o.border_mode = "full";
  EXPECT_EQ(conv2d(x, w, o)->type.shape, (Shape{-1, 8, 32, 31}));
  o.border_mode = "half";
  EXPECT_EQ(conv2d(x, w, o)->type.shape, (Shape{-1, 8, 28, 29}));
  o.dilation = {2, 3};
  EXPECT_EQ(conv2d(x, w, o)->type.shape, (Shape{-1, 8, 28, 29}));
  o.border_mode = "valid";
  EXPECT_EQ(conv2d(x, w, o)->type.shape, (Shape{-1, 8, 20, 19}));
  Conv2dOptions hinted;
  hinted.input_shape = std::array<int64_t, 4>{16, -1, -1, -1};
  EXPECT_EQ(conv2d(x, w, hinted)->type.shape, (Shape{16, 8, 24, 25}));
}

TEST(Conv2d, Errors) {
  Var x = input(DType::Float32, {-1, 3, 8, 8}, "x");
  Var w = input(DType::Float32, {4, 2, 3, 3}, "w");
  expect_error<ShapeError>(
      [&] { conv2d(x, w); },
      {"'x'", "(?, 3, 8, 8)", "has 3 channels", "'w'", "(4, 2, 3, 3)", "expect 2"});
  Var big = input(DType::Float32, {4, 3, 3, 9}, "big");
  expect_error<ShapeError>([&] { conv2d(x, big); },
                           {"(4, 3, 3, 9)", "filter columns span 9", "8 columns"});
  expect_error<TypeError>(
      [&] {
        conv2d(input(DType::Int32, {1, 3, 8, 8}), big);
      },
      {"float32 or float64", "int32"});
  expect_error<TypeError>(
      [&] {
        conv2d(input(DType::Float32, {3, 8, 8}), big);
      },
      {"4-d"});
  Conv2dOptions o;
  o.border_mode = "same";
  expect_error<ValueError>([&] { conv2d(x, big, o); }, {"border_mode", "'same'"});
  o = Conv2dOptions::with_padding(-1, 0);
  expect_error<ValueError>([&] { conv2d(x, big, o); }, {"non-negative"});
  o = {};
  o.dilation = {1, 0};
  expect_error<ValueError>([&] { conv2d(x, big, o); }, {"filter_dilation"});
}

// Checks grad(cost, wrt[k]) against central differences at `at`.
void check_grad(const std::vector<Var>& wrt, const Var& cost, Bindings at) {
  std::vector<Var> g = grad(cost, wrt);
  std::vector<NDArray> sym = evaluate(g, at);
  const double eps = 1e-6;
  for (size_t k = 0; k < wrt.size(); ++k) {
    NDArray x = at.at(wrt[k].get()).copy();
    ASSERT_EQ(sym[k].shape(), x.shape());
    for (int64_t i = 0; i < x.size(); ++i) {
      Bindings b = at;
      NDArray xp = x.copy(), xm = x.copy();
      xp.set_item_double(i, x.item_double(i) + eps);
      xm.set_item_double(i, x.item_double(i) - eps);
      b[wrt[k].get()] = xp;
      const double cp = eval1(cost, b).item_double();
      b[wrt[k].get()] = xm;
      const double num = (cp - eval1(cost, b).item_double()) / (2 * eps);
      EXPECT_NEAR(sym[k].item_double(i), num, 1e-6 * (1 + std::fabs(num)))
          << "wrt " << k << " element " << i;
    }
  }
}

TEST(Conv2d, GradientsAndSecondDerivatives) {
  Var x = input(DType::Float64, {2, 2, 5, 4}, "x");
  Var w = input(DType::Float64, {3, 2, 2, 3}, "w");
  Conv2dOptions o;
  o.border_mode = "half";
  o.subsample = {2, 1};
  o.dilation = {1, 2};
  Var r = make_constant(random_array(DType::Float64, {2, 3, 3, 4}, 7));
  Var cost = sum(mul(conv2d(x, w, o), r));
  Bindings at{{x.get(), random_array(DType::Float64, {2, 2, 5, 4}, 8)},
              {w.get(), random_array(DType::Float64, {3, 2, 2, 3}, 9)}};
  check_grad({x, w}, cost, at);
  // The gradient's gradient: Conv2dGradInputs and Conv2dGradWeights differentiated.
  std::vector<Var> g = grad(sum(sqr(conv2d(x, w, o))), {x, w});
  check_grad({x, w}, add(sum(sqr(g[0])), sum(mul(g[1], w))), at);
}

}  // namespace
}  // namespace theanine
