#include "passes/pipeline.h"

namespace theanine {

std::vector<Var> optimize(const std::vector<Var>& outputs,
                          const OptimizeOptions& options) {
  static const RuleSet no_rules;
  // Merge and constant folding run inside every rewrite; FAST_COMPILE stops there.
  std::vector<Var> g = rewrite(outputs, no_rules, options.stats, 2);
  if (options.fast_compile) return g;
  g = rewrite(g, canonicalize_rules(), options.stats);
  g = rewrite(g, stabilize_rules(), options.stats);
  // Stabilize's replacements open new chances (and may read shapes from the
  // nodes they replace, which canonicalize lifts to their inputs).
  g = rewrite(g, canonicalize_rules(), options.stats);
  g = rewrite(g, specialize_rules(), options.stats);
  g = fuse(g, options.stats);
  return g;
}

}  // namespace theanine
