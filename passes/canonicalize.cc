#include "passes/pipeline.h"

namespace theanine {

const RuleSet& canonicalize_rules() {
  static const RuleSet rules;
  return rules;
}

}  // namespace theanine
