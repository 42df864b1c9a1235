#include "graph/evaluate.h"

#include "graph/fgraph.h"
#include "graph/op.h"
#include "runtime/error.h"

namespace theanine {

std::vector<NDArray> evaluate(const std::vector<Var>& outputs, const Bindings& bindings) {
  Bindings values = bindings;
  auto value_of = [&](const Var& v) -> const NDArray& {
    auto it = values.find(v.get());
    if (it != values.end()) return it->second;
    if (v->is_constant()) return values[v.get()] = v->constant_value;
    if (v->is_shared()) return values[v.get()] = v->shared->value;
    throw MissingInputError("evaluating a graph: no value for " + v->describe());
  };
  for (Apply* node : toposort(outputs)) {
    std::vector<NDArray> args;
    for (const Var& in : node->inputs) args.push_back(value_of(in));
    std::vector<NDArray> results = node->op->perform(*node, args);
    for (int i = 0; i < node->num_outputs(); ++i)
      values[node->output_ptr(i)] = results.at(i);
  }
  std::vector<NDArray> result;
  for (const Var& o : outputs) result.push_back(value_of(o));
  return result;
}

}  // namespace theanine
