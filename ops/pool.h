#pragma once
// 2-d pooling with Theano's semantics (theano.tensor.signal.pool.pool_2d): over
// the last two dims of an input of ndim >= 2, each window of `ws` rows and
// columns, `stride` apart, reduced by max, sum or an average. Pool is the
// forward op; MaxPoolGrad routes each output's gradient to the first maximum of
// its window (in row-major order; NaN counts as the maximum), AveragePoolGrad
// spreads it over the window. Both gradients' own gradients are made of these
// ops and MaxPoolGradGrad, so grad of grad works.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

struct PoolOptions {
  std::array<int64_t, 2> ws{2, 2};  // window rows and columns
  // Distance between windows; the window size when absent.
  std::optional<std::array<int64_t, 2>> stride;
  // Rows and columns of padding on each side (must be below ws, and needs
  // ignore_border).
  std::array<int64_t, 2> pad{0, 0};
  // True: only whole windows (of the padded input). False: windows hanging over
  // the bottom or right edge count too, over the part inside the input.
  bool ignore_border = true;
  // "max", "sum", "average_inc_pad" (padding counts in the divisor) or
  // "average_exc_pad" (only input cells count); "average" means
  // "average_inc_pad". Max and sum never see the padding.
  std::string mode = "max";
};

// Pools the last two dims of `input` (float32 or float64). ValueError for bad
// options; TypeError for an input of ndim < 2 or not float.
Var pool_2d(const Var& input, const PoolOptions& opts, const Here& loc = Here::current());

// The number of windows along one axis of `in` cells, by Theano's formula (-1
// when `in` is -1; 0 for an empty axis, where Theano would count one empty
// window when ignore_border is false and the stride is below the window).
int64_t pool_output_dim(int64_t in, const PoolOptions& opts, int axis);

// ---- ops (exposed so rewrites can recognise them) ----------------------------

// The parameters the pooling ops share, validated and normalized (stride set,
// "average" spelled out) by the constructor.
class PoolOpBase : public Op {
 public:
  explicit PoolOpBase(PoolOptions opts);
  const PoolOptions& options() const { return opts_; }
  const std::array<int64_t, 2>& stride() const { return *opts_.stride; }

 protected:
  // "ws=(2,2), stride=(2,2), pad=(0,0), ignore_border=1, mode=max"
  std::string params() const;
  PoolOptions opts_;
};

// Input: x. Output: the pooled x.
class Pool : public PoolOpBase {
 public:
  using PoolOpBase::PoolOpBase;
  std::string name() const override { return "Pool{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: x, gz (of the pooled shape). Output (x's shape): each gz added at the
// first maximum of its window of x. Mode "max" only.
class MaxPoolGrad : public PoolOpBase {
 public:
  using PoolOpBase::PoolOpBase;
  std::string name() const override { return "MaxPoolGrad{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: x, g (of x's shape). Output (the pooled shape): g read at the first
// maximum of each window of x; the adjoint of MaxPoolGrad in its gz.
class MaxPoolGradGrad : public PoolOpBase {
 public:
  using PoolOpBase::PoolOpBase;
  std::string name() const override { return "MaxPoolGradGrad{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: x (only its shape is read), gz. Output (x's shape): each gz spread
// over the input cells of its window, divided by the window's count for the
// averages. Modes "sum", "average_inc_pad", "average_exc_pad".
class AveragePoolGrad : public PoolOpBase {
 public:
  using PoolOpBase::PoolOpBase;
  std::string name() const override { return "AveragePoolGrad{" + params() + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

}  // namespace theanine
