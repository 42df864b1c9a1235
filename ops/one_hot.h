#pragma once
// Theano's to_one_hot: an integer vector of labels as rows of a (n, nb_class)
// matrix, 1 in each row's label column and 0 elsewhere.
#include <string>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"

namespace theanine {

// `nb_class` is an integer scalar (a constant makes the output's columns
// known). Labels must lie in [0, nb_class): IndexError at run time naming the
// label and nb_class. TypeError for non-integer labels or nb_class.
Var to_one_hot(const Var& y, const Var& nb_class, DType dtype,
               const Here& loc = Here::current());
Var to_one_hot(const Var& y, int64_t nb_class, DType dtype,
               const Here& loc = Here::current());

// Inputs: y (an integer vector), nb_class (an integer scalar).
class OneHot : public Op {
 public:
  explicit OneHot(DType dtype) : dtype_(dtype) {}
  DType dtype() const { return dtype_; }
  std::string name() const override {
    return std::string("OneHot{") + dtype_name(dtype_) + "}";
  }
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // Integer inputs: no gradient flows (both disconnected).
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override {
    return {Var(), Var()};
  }

 private:
  DType dtype_;
};

}  // namespace theanine
