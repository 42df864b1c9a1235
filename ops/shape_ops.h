#pragma once
// Shape ops: reshape, flatten, dimshuffle/transpose, shape, make_vector, join and
// stack, arange, alloc and its friends, repeat and tile. Semantics are NumPy's
// (and Theano's where Theano has the op).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// ---- builders ---------------------------------------------------------------

// x reshaped to `shape`; one entry may be -1 (inferred from the size).
Var reshape(const Var& x, const std::vector<int64_t>& shape,
            const Here& loc = Here::current());
// x reshaped to an int vector of length `ndim` computed at run time; when the
// vector is a constant (or a make_vector of constants) the result's dims are known.
Var reshape(const Var& x, const Var& shape, int ndim, const Here& loc = Here::current());
// Theano's flatten: keeps the first outdim-1 dims and collapses the rest.
Var flatten(const Var& x, int outdim = 1, const Here& loc = Here::current());

// Theano's dimshuffle; -1 in `pattern` stands for 'x' (a new dim of size 1). A dim
// of x left out of the pattern must be known to be 1.
Var dimshuffle(const Var& x, const std::vector<int>& pattern,
               const Here& loc = Here::current());
// NumPy's transpose; the default reverses the dims. Negative axes count from the end.
Var transpose(const Var& x, const std::optional<std::vector<int>>& perm = std::nullopt,
              const Here& loc = Here::current());

// x's shape as an int64 vector, and one dim of it as an int64 scalar.
Var shape(const Var& x, const Here& loc = Here::current());
Var shape_i(const Var& x, int i, const Here& loc = Here::current());

// A vector of the given 0-d variables converted to `dtype`.
Var make_vector(const std::vector<Var>& scalars, DType dtype,
                const Here& loc = Here::current());

// Theano's join / NumPy's concatenate: the dtype is the promotion of the inputs'.
Var concatenate(const std::vector<Var>& xs, int axis = 0,
                const Here& loc = Here::current());
// NumPy's stack: inputs of one shape joined along a new axis.
Var stack(const std::vector<Var>& xs, int axis = 0, const Here& loc = Here::current());

// NumPy's arange over scalar variables. Without a dtype: the promotion of the
// inputs' (int64 for Python/C++ int literals, float64 for float literals).
Var arange(const Var& start, const Var& stop, const Var& step,
           std::optional<DType> dtype = std::nullopt, const Here& loc = Here::current());
Var arange(const Var& stop, const Here& loc = Here::current());
Var arange(int64_t start, int64_t stop, int64_t step = 1, DType dtype = DType::Int64,
           const Here& loc = Here::current());

// `value` broadcast to a new array of `shape` (int scalars; constants make the
// result's dims known).
Var alloc(const Var& value, const std::vector<Var>& shape,
          const Here& loc = Here::current());
Var zeros(const std::vector<Var>& shape, DType dtype, const Here& loc = Here::current());
Var zeros(const std::vector<int64_t>& shape, DType dtype,
          const Here& loc = Here::current());
Var ones(const std::vector<Var>& shape, DType dtype, const Here& loc = Here::current());
Var ones(const std::vector<int64_t>& shape, DType dtype,
         const Here& loc = Here::current());
// Theano's fill: an array of the broadcast shape of model and value holding value
// (dtype: the promotion of both).
Var fill(const Var& model, const Var& value, const Here& loc = Here::current());
Var zeros_like(const Var& x, std::optional<DType> dtype = std::nullopt,
               const Here& loc = Here::current());
Var ones_like(const Var& x, std::optional<DType> dtype = std::nullopt,
              const Here& loc = Here::current());

// NumPy's repeat: `repeats` is an int scalar or an int vector as long as the
// axis (or of length 1); no axis means x flattened.
Var repeat(const Var& x, const Var& repeats, std::optional<int> axis = std::nullopt,
           const Here& loc = Here::current());
// NumPy's tile.
Var tile(const Var& x, const std::vector<int64_t>& reps,
         const Here& loc = Here::current());

// ---- ops (exposed so rewrites can recognise them) ----------------------------

// Inputs: x, an int shape vector of length ndim.
class ReshapeOp : public Op {
 public:
  explicit ReshapeOp(int ndim) : ndim_(ndim) {}
  int ndim() const { return ndim_; }
  std::string name() const override { return "Reshape{" + std::to_string(ndim_) + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
  bool is_view() const override { return true; }
  // Only input 0 is viewed (the others are shapes, indices or a shape model).
  std::vector<int> viewed_inputs(const Apply&) const override { return {0}; }

 private:
  int ndim_;
};

class FlattenOp : public Op {
 public:
  explicit FlattenOp(int outdim) : outdim_(outdim) {}
  int outdim() const { return outdim_; }
  std::string name() const override { return "Flatten{" + std::to_string(outdim_) + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
  bool is_view() const override { return true; }
  // Only input 0 is viewed (the others are shapes, indices or a shape model).
  std::vector<int> viewed_inputs(const Apply&) const override { return {0}; }

 private:
  int outdim_;
};

// pattern[i] is the input dim that output dim i shows, or -1 for a new dim of 1.
class DimShuffleOp : public Op {
 public:
  DimShuffleOp(int input_ndim, std::vector<int> pattern)
      : input_ndim_(input_ndim), pattern_(std::move(pattern)) {}
  int input_ndim() const { return input_ndim_; }
  const std::vector<int>& pattern() const { return pattern_; }
  // True when the op only permutes dims (no dim added or dropped).
  bool is_transpose() const;
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
  bool is_view() const override { return true; }
  // Only input 0 is viewed (the others are shapes, indices or a shape model).
  std::vector<int> viewed_inputs(const Apply&) const override { return {0}; }

 private:
  int input_ndim_;
  std::vector<int> pattern_;
};

class ShapeOp : public Op {
 public:
  std::string name() const override { return "Shape"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
};

class ShapeIOp : public Op {
 public:
  explicit ShapeIOp(int i) : i_(i) {}
  int i() const { return i_; }
  std::string name() const override { return "Shape_i{" + std::to_string(i_) + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;

 private:
  int i_;
};

class MakeVectorOp : public Op {
 public:
  explicit MakeVectorOp(DType dtype) : dtype_(dtype) {}
  DType dtype() const { return dtype_; }
  std::string name() const override {
    return std::string("MakeVector{dtype=") + dtype_name(dtype_) + "}";
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  DType dtype_;
};

// Inputs: the tensors to join, all of one ndim; `axis` is normalized.
class JoinOp : public Op {
 public:
  explicit JoinOp(int axis) : axis_(axis) {}
  int axis() const { return axis_; }
  std::string name() const override { return "Join{axis=" + std::to_string(axis_) + "}"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  int axis_;
};

// Inputs: start, stop, step (scalars).
class ARangeOp : public Op {
 public:
  explicit ARangeOp(DType dtype) : dtype_(dtype) {}
  DType dtype() const { return dtype_; }
  std::string name() const override {
    return std::string("ARange{dtype=") + dtype_name(dtype_) + "}";
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  DType dtype_;
};

// Inputs: value, then one int scalar per output dim.
class AllocOp : public Op {
 public:
  std::string name() const override { return "Alloc"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: model, value.
class FillOp : public Op {
 public:
  std::string name() const override { return "Fill"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: x, repeats (int scalar or vector). `axis` is normalized.
class RepeatOp : public Op {
 public:
  explicit RepeatOp(int axis) : axis_(axis) {}
  int axis() const { return axis_; }
  std::string name() const override {
    return "Repeat{axis=" + std::to_string(axis_) + "}";
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  int axis_;
};

class TileOp : public Op {
 public:
  explicit TileOp(std::vector<int64_t> reps) : reps_(std::move(reps)) {}
  const std::vector<int64_t>& reps() const { return reps_; }
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  std::vector<int64_t> reps_;
};

}  // namespace theanine
