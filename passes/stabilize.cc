#include "passes/pipeline.h"

namespace theanine {

const RuleSet& stabilize_rules() {
  static const RuleSet rules;
  return rules;
}

}  // namespace theanine
