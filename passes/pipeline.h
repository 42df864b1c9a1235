#pragma once
// The optimization pipeline function() runs: phases in order, each a rule set
// for the rewriter or a whole-graph pass.
#include <string>
#include <vector>

#include "graph/variable.h"
#include "passes/rewriter.h"

namespace theanine {

// The rule sets of the local phases (each defined in its own file).
const RuleSet& canonicalize_rules();  // passes/canonicalize.cc
const RuleSet& stabilize_rules();     // passes/stabilize.cc
const RuleSet& specialize_rules();    // passes/specialize.cc

// Whole-graph passes.
// Groups connected elementwise nodes (and the reductions they feed) into fused
// nodes, one per group (passes/fusion.cc).
std::vector<Var> fuse(const std::vector<Var>& outputs, RewriteStats* stats);

struct OptimizeOptions {
  // FAST_COMPILE: only merge and constant folding.
  bool fast_compile = false;
  RewriteStats* stats = nullptr;
};

// The optimized equivalents of `outputs`.
std::vector<Var> optimize(const std::vector<Var>& outputs,
                          const OptimizeOptions& options = {});

}  // namespace theanine
