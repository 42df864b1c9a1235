#pragma once
// Reductions over any set of axes, with NumPy's dtypes and keepdims: sum, prod,
// mean, max, min, all, any (one Reduce op parameterized by a kind), argmax and
// argmin (ArgReduce), var and std (Moments).
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

enum class ReduceKind : uint8_t { Sum, Prod, Mean, Max, Min, All, Any };

// "sum", "prod", ...: the kind as it appears in op names and error messages.
const char* reduce_kind_name(ReduceKind kind);
// The output dtype NumPy gives the reduction of an input of dtype `in`.
DType reduce_out_dtype(ReduceKind kind, DType in);
// The dtype the reduction accumulates in (float32 sums run in float64).
DType reduce_acc_dtype(ReduceKind kind, DType in);

// Reduces `axes` (sorted, in [0, ndim)) or every axis when nullopt. `dtype`,
// when given, is the output dtype (the result is computed in the natural
// accumulator and converted, like NumPy's `dtype=` for sum).
class Reduce : public Op {
 public:
  Reduce(ReduceKind kind, std::optional<std::vector<int>> axes, bool keepdims,
         std::optional<DType> dtype = std::nullopt);
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // Sum and mean spread gz evenly; prod handles zeros exactly; max and min send
  // gz to every element equal to the result (ties all get it, as in Theano).
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

  ReduceKind kind() const { return kind_; }
  const std::optional<std::vector<int>>& axes() const { return axes_; }
  bool keepdims() const { return keepdims_; }
  const std::optional<DType>& dtype() const { return dtype_; }

 private:
  ReduceKind kind_;
  std::optional<std::vector<int>> axes_;
  bool keepdims_;
  std::optional<DType> dtype_;
};

// Index of the maximum (or minimum) along one axis, or over the flattened input
// when the axis is nullopt; int64, first occurrence on ties, NaN wins.
class ArgReduce : public Op {
 public:
  ArgReduce(bool is_max, std::optional<int> axis, bool keepdims);
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  bool is_max() const { return is_max_; }
  const std::optional<int>& axis() const { return axis_; }
  bool keepdims() const { return keepdims_; }

 private:
  bool is_max_;
  std::optional<int> axis_;
  bool keepdims_;
};

// Variance (or its square root, the standard deviation) with `ddof` delta
// degrees of freedom: sum((x - mean)^2) / (n - ddof).
class Moments : public Op {
 public:
  Moments(bool is_std, std::optional<std::vector<int>> axes, bool keepdims, int ddof);
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // var: gz * 2 (x - mean) / (n - ddof); std: gz * (x - mean) / ((n - ddof) std).
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  bool is_std_;
  std::optional<std::vector<int>> axes_;
  bool keepdims_;
  int ddof_;
};

using Axes = std::optional<std::vector<int>>;

// The general builder behind the named ones below.
Var reduce(ReduceKind kind, const Var& x, Axes axes = std::nullopt, bool keepdims = false,
           std::optional<DType> dtype = std::nullopt, const Here& loc = Here::current());

Var sum(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
        const Here& loc = Here::current());
Var prod(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
         const Here& loc = Here::current());
Var mean(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
         const Here& loc = Here::current());
Var max(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
        const Here& loc = Here::current());
Var min(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
        const Here& loc = Here::current());
Var all(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
        const Here& loc = Here::current());
Var any(const Var& x, Axes axes = std::nullopt, bool keepdims = false,
        const Here& loc = Here::current());

Var argmax(const Var& x, std::optional<int> axis = std::nullopt, bool keepdims = false,
           const Here& loc = Here::current());
Var argmin(const Var& x, std::optional<int> axis = std::nullopt, bool keepdims = false,
           const Here& loc = Here::current());

Var var(const Var& x, Axes axes = std::nullopt, bool keepdims = false, int ddof = 0,
        const Here& loc = Here::current());
Var std(const Var& x, Axes axes = std::nullopt, bool keepdims = false, int ddof = 0,
        const Here& loc = Here::current());

}  // namespace theanine
