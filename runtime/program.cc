#include "runtime/program.h"

#include "runtime/error.h"

namespace theanine {

void Program::run(std::vector<NDArray>& slots) const {
  for (const Instruction& ins : instructions) {
    try {
      ins.run(slots);
    } catch (const Error&) {
      rethrow_with_prefix(ins.label + ": ");
    }
    for (int s : ins.release_after) slots[s] = NDArray();
  }
}

}  // namespace theanine
