#include "codegen/kernel_helpers.h"

#include <vector>

#include "ops/scalar_op_table.h"

namespace theanine {

void* const* kernel_helpers() {
  static const std::vector<void*> table = [] {
    std::vector<void*> t;
    for (const ScalarOp& op : scalar_ops()) {
      t.push_back(reinterpret_cast<void*>(op.eval_float));
      t.push_back(reinterpret_cast<void*>(op.eval_int));
      t.push_back(reinterpret_cast<void*>(op.eval_bool));
    }
    return t;
  }();
  return table.data();
}

}  // namespace theanine
