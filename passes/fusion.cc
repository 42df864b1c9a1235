#include "passes/pipeline.h"

namespace theanine {

std::vector<Var> fuse(const std::vector<Var>& outputs, RewriteStats*) { return outputs; }

}  // namespace theanine
