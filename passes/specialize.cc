#include "passes/pipeline.h"

namespace theanine {

const RuleSet& specialize_rules() {
  static const RuleSet rules;
  return rules;
}

}  // namespace theanine
