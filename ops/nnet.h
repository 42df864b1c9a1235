#pragma once
// The softmax family: softmax and log_softmax along an axis, the crossentropy of
// a softmax with integer labels, and the ops their gradients are made of. Each is
// computed row by row in double, shifted by the row's maximum, so that logits
// near +-1000 stay finite; the stabilize pass rewrites the naive spellings of
// these (log(softmax(x)), -log(softmax(x))[arange(n), y]) into them.
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// ---- builders ---------------------------------------------------------------

// exp(x - max) / sum(exp(x - max)) along `axis`. Integer inputs compute in the
// float dtype exp would give them.
Var softmax(const Var& x, int axis = -1, const Here& loc = Here::current());
// x - max - log(sum(exp(x - max))) along `axis`.
Var log_softmax(const Var& x, int axis = -1, const Here& loc = Here::current());
// -log_softmax(x)[i, y_idx[i]] for each row i of the matrix x, one integer label
// per row (negative labels count from the end, as in NumPy's indexing). Its
// gradient with respect to x is (softmax(x) - onehot(y_idx)) * gz[:, None].
// IndexError at run time for a label out of range, naming it.
Var crossentropy_softmax(const Var& x, const Var& y_idx,
                         const Here& loc = Here::current());
// -log_softmax(x)[rows, y_idx] with NumPy's advanced indexing: rows and y_idx
// broadcast together, negative entries wrap, out of range ones are an IndexError.
// The form the stabilize pass turns log_softmax(x)[rows, y] into.
Var crossentropy_softmax_rows(const Var& x, const Var& y_idx, const Var& rows,
                              const Here& loc = Here::current());

// ---- ops (exposed so rewrites and gradients can recognise them) --------------

class SoftmaxOp : public Op {
 public:
  // `log` selects log_softmax. `axis` is normalized (non-negative).
  SoftmaxOp(int axis, bool log) : axis_(axis), log_(log) {}
  int axis() const { return axis_; }
  bool is_log() const { return log_; }
  std::string name() const override;  // "Softmax{axis=1}", "LogSoftmax{axis=1}"
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // softmax: SoftmaxGrad(gz, out); log_softmax: LogSoftmaxGrad(gz, out).
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  int axis_;
  bool log_;
};

// Inputs: dy, sm = softmax(x) along axis. Output: the gradient of softmax at x
// for the output gradient dy, (dy - sum(dy * sm, axis)) * sm. With `log`, the
// gradient of log_softmax: the second input is l = log_softmax(x) and the
// output dy - sum(dy, axis) * exp(l).
class SoftmaxGradOp : public Op {
 public:
  explicit SoftmaxGradOp(int axis, bool log = false) : axis_(axis), log_(log) {}
  int axis() const { return axis_; }
  bool is_log() const { return log_; }
  std::string name() const override {
    return std::string(log_ ? "LogSoftmaxGrad" : "SoftmaxGrad") +
           "{axis=" + std::to_string(axis_) + "}";
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  int axis_;
  bool log_;
};

// Inputs: x (a matrix), y_idx (an integer vector), and optionally rows (an
// integer vector). Without rows: one label per row of x. With rows: the
// entries are -log_softmax(x)[rows, y_idx] (see crossentropy_softmax_rows).
class CrossentropySoftmaxOp : public Op {
 public:
  std::string name() const override { return "CrossentropySoftmax"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // x: CrossentropySoftmaxGrad(gz, softmax(x), y_idx[, rows]); none for the labels.
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Inputs: gz (a vector, or a scalar broadcast to every entry), sm = softmax(x)
// (a matrix), y_idx[, rows] as in CrossentropySoftmaxOp. Output: the gradient
// of the crossentropy with respect to x, each entry i adding
// gz[i] * (sm[row] - onehot(y_idx[i])) to its row.
class CrossentropySoftmaxGradOp : public Op {
 public:
  std::string name() const override { return "CrossentropySoftmaxGrad"; }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;
};

// Builders for the gradient ops (used by the gradient rules and the rewrites).
Var softmax_grad(const Var& dy, const Var& sm, int axis,
                 const Here& loc = Here::current());
// dy - sum(dy, axis) * exp(l) for l = log_softmax(x): the gradient of log_softmax.
Var log_softmax_grad(const Var& dy, const Var& l, int axis,
                     const Here& loc = Here::current());
// `rows` may be null (one entry per row of sm).
Var crossentropy_softmax_grad(const Var& gz, const Var& sm, const Var& y_idx,
                              const Var& rows, const Here& loc = Here::current());

}  // namespace theanine
