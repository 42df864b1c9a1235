#pragma once
// Whole-graph utilities: toposort, clone with replacement, free variables,
// FunctionGraph (a closed graph: inputs and outputs), and debugprint.
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/variable.h"

namespace theanine {

// The Apply nodes that `outputs` depend on, every node after its inputs' nodes.
std::vector<Apply*> toposort(const std::vector<Var>& outputs);

// Variables with no owner (inputs, constants, shared) that `outputs` depend on,
// in first-visit order.
std::vector<Var> free_variables(const std::vector<Var>& outputs);

using Replacements = std::unordered_map<const Variable*, Var>;

// Copies of `outputs` where every variable in `replace` is substituted. Nodes
// that depend on no replaced variable are kept (shared), the rest are rebuilt
// with their op's type inference, so a replacement of a different but
// compatible type propagates its static shape.
std::vector<Var> clone_replace(const std::vector<Var>& outputs,
                               const Replacements& replace);

class FunctionGraph {
 public:
  FunctionGraph(std::vector<Var> inputs, std::vector<Var> outputs);
  const std::vector<Var>& inputs() const { return inputs_; }
  const std::vector<Var>& outputs() const { return outputs_; }
  std::vector<Apply*> toposort() const { return theanine::toposort(outputs_); }

 private:
  std::vector<Var> inputs_, outputs_;
};

// Theano-style text rendering of the graph of `outputs`, one node a line,
// indented by depth, shared sub-expressions printed once and referred to by id.
std::string debugprint(const std::vector<Var>& outputs);

}  // namespace theanine
