#pragma once
// Evaluates a graph on the reference path (each node's perform), without
// compiling: for ops that run an inner graph (Map, scan) and for constant folding.
#include <unordered_map>
#include <vector>

#include "graph/variable.h"

namespace theanine {

using Bindings = std::unordered_map<const Variable*, NDArray>;

// Values of `outputs` given values for the free input variables in `bindings`.
// Constants and shared variables not in `bindings` take their own values; any
// other unbound input is a MissingInputError naming it.
std::vector<NDArray> evaluate(const std::vector<Var>& outputs, const Bindings& bindings);

}  // namespace theanine
