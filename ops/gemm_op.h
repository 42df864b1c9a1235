#pragma once
// Gemm and Gemv: BLAS's scaled, accumulating products. Users write dot, scales
// and additions; the specialize rules (passes/specialize.cc) fold them into one
// of these, so that transposes, scales and the accumulation cost no extra pass.
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// out = alpha * op(a) · op(b) + beta * c, op being the transpose where the flag
// says so. a and b are matrices of one float dtype (float32 or float64); c, an
// input only when beta != 0 (so that beta = 0 never reads it, even NaN), has
// that dtype and broadcasts with the product as in an elementwise add: the
// output has their broadcast shape.
class Gemm : public Op {
 public:
  // A beta of -0 is stored as 0, so that equal ops have equal names.
  Gemm(bool trans_a, bool trans_b, double alpha, double beta);
  bool trans_a() const { return trans_a_; }
  bool trans_b() const { return trans_b_; }
  double alpha() const { return alpha_; }
  double beta() const { return beta_; }
  bool has_c() const { return beta_ != 0; }

  // The accumulator c, present when beta != 0.
  std::vector<int> overwritable_inputs(const Apply& node) const override {
    return node.inputs.size() == 3 ? std::vector<int>{2} : std::vector<int>{};
  }
  // "Gemm{NT, alpha=1, beta=0}": every parameter, exactly (merge compares names).
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // Accumulates into an offered array; when that is c's own buffer, BLAS
  // updates it in place. Never writes over a or b (it reads them throughout).
  bool perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                    std::vector<NDArray>& out) const override;

 private:
  bool trans_a_, trans_b_;
  double alpha_, beta_;
};

// out = alpha * op(a) · x + beta * y for a matrix a and vectors x and y, with
// the same conventions as Gemm (y is an input only when beta != 0).
class Gemv : public Op {
 public:
  Gemv(bool trans, double alpha, double beta);
  bool trans() const { return trans_; }
  double alpha() const { return alpha_; }
  double beta() const { return beta_; }
  bool has_y() const { return beta_ != 0; }

  std::string name() const override;  // "Gemv{T, alpha=1, beta=0}"
  // The accumulator c, present when beta != 0.
  std::vector<int> overwritable_inputs(const Apply& node) const override {
    return node.inputs.size() == 3 ? std::vector<int>{2} : std::vector<int>{};
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  bool perform_into(const Apply& node, const std::vector<NDArray>& inputs,
                    std::vector<NDArray>& out) const override;

 private:
  bool trans_;
  double alpha_, beta_;
};

// Builders; `c` (`y`) must be null exactly when beta == 0 (ValueError otherwise).
Var gemm(const Var& a, const Var& b, const Var& c, bool trans_a, bool trans_b,
         double alpha, double beta, const Here& loc = Here::current());
Var gemv(const Var& a, const Var& x, const Var& y, bool trans, double alpha, double beta,
         const Here& loc = Here::current());

}  // namespace theanine
