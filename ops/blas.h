#pragma once
// Matrix products: dot (numpy.dot for every mix of ranks), batched_dot
// (Theano's) and outer. Float32/float64 products go to OpenBLAS when the build
// has it (THEANINE_HAVE_BLAS); everything else runs the reference loops.
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// numpy.dot: a 0-d operand scales the other; otherwise the sum over the last
// axis of a and the second-to-last of b (the only one when b is a vector). The
// result has a.shape[:-1] + b.shape[:-2] + b.shape[-1:].
class Dot : public Op {
 public:
  std::string name() const override { return "Dot"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Theano's BatchedDot: a (B, n, m) or (B, m), b (B, m, k) or (B, m); the
// product of each pair along the batch axis, of shape a.shape[:-1] + b.shape[2:].
class BatchedDot : public Op {
 public:
  std::string name() const override { return "BatchedDot"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// numpy.outer: every element of a (flattened) times every element of b.
class Outer : public Op {
 public:
  std::string name() const override { return "Outer"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

Var dot(const Var& a, const Var& b, const Here& loc = Here::current());
Var batched_dot(const Var& a, const Var& b, const Here& loc = Here::current());
Var outer(const Var& a, const Var& b, const Here& loc = Here::current());

}  // namespace theanine
