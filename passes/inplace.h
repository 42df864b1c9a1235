#pragma once
// The inplace pass (ARCHITECTURE decision 8): on the final graph, decides which
// outputs (Op::overwritable_inputs) may be written into one of their inputs' buffers, and
// the schedule under which that is safe. The decision is proven on that schedule: the
// input is not memory the caller, a constant or a shared variable owns (not even a shared
// variable's own update: updates stay atomic), no other input of the node overlaps it,
// nothing reads it (or any view of it) later, and it is not an output. The graph is left
// as it is; the executor reads the plan. Whether the input really has the output's shape
// (unknown dims may broadcast) and is laid out contiguously is only known at run time, so
// the executor checks that too and allocates when it does not hold.
#include <unordered_map>
#include <vector>

#include "graph/variable.h"
#include "passes/rewriter.h"

namespace theanine {

struct InplacePlan {
  // Every node once, after its inputs' nodes, and every other reader of a buffer
  // a node overwrites before that node.
  std::vector<Apply*> order;
  // For a node that overwrites inputs: per output, the input whose buffer the
  // output may take, or -1.
  std::unordered_map<const Apply*, std::vector<int>> reuse;
  // The input that output `out` of `node` may overwrite, or -1.
  int reused_input(const Apply* node, int out) const;
};

// `outputs` are every variable read after the graph ran (the function's outputs
// and update values). Counts decisions in `stats` as "inplace".
InplacePlan plan_inplace(const std::vector<Var>& outputs, RewriteStats* stats = nullptr);

}  // namespace theanine
