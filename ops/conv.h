#pragma once
// 2-d convolution with Theano's semantics (theano.tensor.nnet.conv2d): input
// (batch, channels, rows, cols), filters (filters, channels, k_rows, k_cols),
// output (batch, filters, out_rows, out_cols). Conv2d is the forward op;
// Conv2dGradInputs and Conv2dGradWeights are its two gradients, and the
// gradient of each of the three is made of the other two, so grad of grad, Lop
// and Rop work. All three run as im2col + one GEMM per chunk of images
// (ops/conv_kernels.h), in float32 or float64.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

struct Conv2dOptions {
  // "valid" (no padding), "full" (pad dil * (k - 1)), "half" (pad
  // (dil * (k - 1) + 1) / 2, the same size for odd kernels), or "explicit": the
  // rows and columns of zeros in `pad` (Theano's int or (int, int) border_mode;
  // see with_padding()).
  std::string border_mode = "valid";
  std::array<int64_t, 2> pad{0, 0};
  // Strides over the rows and columns of the output.
  std::array<int64_t, 2> subsample{1, 1};
  // True: a true convolution (the kernel is flipped, Theano's default). False: a
  // cross-correlation (PyTorch's conv2d).
  bool filter_flip = true;
  std::array<int64_t, 2> dilation{1, 1};
  // Theano's input_shape / filter_shape: what is known of the shapes, -1 where
  // nothing is. Checked against the static shapes now and the values at run
  // time; known dims make the output's static shape known.
  std::optional<std::array<int64_t, 4>> input_shape, filter_shape;

  // Options with explicit padding of `rows` and `cols` zeros on each side.
  static Conv2dOptions with_padding(int64_t rows, int64_t cols) {
    Conv2dOptions o;
    o.border_mode = "explicit";
    o.pad = {rows, cols};
    return o;
  }
};

// The convolution of `input` with `filters`. ValueError for bad options;
// TypeError for an input or filters not 4-d or not float; ShapeError when the
// channels differ or a filter (dilated) is larger than the padded input.
Var conv2d(const Var& input, const Var& filters, const Conv2dOptions& opts = {},
           const Here& loc = Here::current());
// The gradient of sum(conv2d(x, filters, opts) * output_grad) with respect to x.
// `input_like` gives x's shape: a 4-d tensor of that shape (x itself), or a
// vector of 4 ints (Theano's input_shape; constant entries make the result's
// dims known).
Var conv2d_grad_inputs(const Var& filters, const Var& output_grad, const Var& input_like,
                       const Conv2dOptions& opts = {}, const Here& loc = Here::current());
// The same with respect to the filters, whose shape `filters_like` gives (a 4-d
// tensor of that shape or a vector of 4 ints).
Var conv2d_grad_weights(const Var& input, const Var& output_grad, const Var& filters_like,
                        const Conv2dOptions& opts = {},
                        const Here& loc = Here::current());

// One output dim: (in + 2 pad - dil (k - 1) - 1) / stride + 1, where pad
// follows border_mode; -1 when `in` or `k` is unknown (-1). ShapeError (naming
// `what`) when the dilated kernel is larger than the padded input.
int64_t conv2d_output_dim(int64_t in, int64_t k, const Conv2dOptions& opts, int axis,
                          const std::string& what = "conv2d");

// ---- ops (exposed so rewrites can recognise them) ----------------------------

// The parameters the three ops share; `opts` is validated (ValueError).
class ConvOpBase : public Op {
 public:
  explicit ConvOpBase(Conv2dOptions opts);
  const Conv2dOptions& options() const { return opts_; }

 protected:
  // "mode=valid, subsample=(1,1), flip=1, dilation=(1,1)" (and the shape hints).
  std::string params() const;
  Conv2dOptions opts_;
};

// Inputs: input, filters.
class Conv2d : public ConvOpBase {
 public:
  using ConvOpBase::ConvOpBase;
  std::string name() const override { return "Conv2d{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: filters, output_grad, input_like (a tensor whose shape, or an int
// 4-vector whose values, give the input's shape).
class Conv2dGradInputs : public ConvOpBase {
 public:
  using ConvOpBase::ConvOpBase;
  std::string name() const override { return "Conv2dGradInputs{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: input, output_grad, filters_like (as input_like above).
class Conv2dGradWeights : public ConvOpBase {
 public:
  using ConvOpBase::ConvOpBase;
  std::string name() const override { return "Conv2dGradWeights{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

}  // namespace theanine
