#pragma once
// Map: stacks the values of a body graph evaluated for i = 0 .. n-1. The body is
// an inner graph (ARCHITECTURE decision 7) whose free variables other than the
// index become the node's inputs, so the outer graph sees every dependency.
// jacobian() builds on it; scan will generalize it.
#include <string>

#include "graph/fgraph.h"
#include "graph/op.h"

namespace theanine {

class MapOp : public Op {
 public:
  // `captured` are the body's free variables except `index`, in the order of
  // the node's inputs after n.
  MapOp(Var index, Var body, std::vector<Var> captured, std::string label);
  std::string name() const override;
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  std::vector<const FunctionGraph*> inner_graphs() const override { return {&inner_}; }
  std::shared_ptr<const Op> with_rewritten_inner(
      const InnerRewrite& rewrite) const override;

 private:
  Var index_, body_;
  std::vector<Var> captured_;
  std::string label_;
  uint64_t uid_;
  FunctionGraph inner_;
};

// [body(i) for i in range(n)] stacked along a new first axis.
Var map_over_range(const Var& n, const Var& index, const Var& body,
                   const std::string& label, const Here& loc = Here::current());

}  // namespace theanine
