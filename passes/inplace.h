#pragma once
// The inplace pass (ARCHITECTURE decision 8): on the final graph, decides which
// elementwise outputs may be written into one of their inputs' buffers, and the
// schedule under which that is safe. The decision is proven on that schedule:
// the input is not memory the caller or a shared variable owns (except a shared
// variable overwritten by its own update), no other input of the node overlaps
// it, nothing reads it (or any view of it) later, and it is not an output. The
// graph is left as it is; the executor reads the plan. Whether the input really
// has the output's shape (unknown dims may broadcast) and is laid out
// contiguously is only known at run time, so the executor checks that too and
// allocates when it does not hold.
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/variable.h"
#include "passes/rewriter.h"

namespace theanine {

struct InplacePlan {
  // Every node once, after its inputs' nodes, and every other reader of a buffer
  // a node overwrites before that node. Nodes overwriting a shared variable's
  // value run as late as the graph allows, so that a call failing midway
  // rarely leaves a shared variable overwritten.
  std::vector<Apply*> order;
  // For a node that overwrites inputs: per output, the input whose buffer the
  // output may take, or -1.
  std::unordered_map<const Apply*, std::vector<int>> reuse;
  // The input that output `out` of `node` may overwrite, or -1.
  int reused_input(const Apply* node, int out) const;
};

// The inputs of `node` an output may overwrite: those each output element
// reads at its own position only (every input of Elemwise and of the fused
// groups of passes/fusion.cc, the accumulator of Gemm and Gemv). Which ops
// qualify is known by name, so that passes need not know every op class.
std::vector<int> overwritable_inputs(const Apply& node);

// `outputs` are every variable read after the graph ran (the function's outputs
// and update values). `updates` pairs a shared variable with its update value
// (a variable in `outputs`); only the node computing that value may overwrite
// the shared variable's value. Counts decisions in `stats` as "inplace" and,
// for shared variables, "inplace_update".
InplacePlan plan_inplace(const std::vector<Var>& outputs,
                         const std::vector<std::pair<Var, Var>>& updates,
                         RewriteStats* stats = nullptr);

}  // namespace theanine
