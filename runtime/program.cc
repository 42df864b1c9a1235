#include "runtime/program.h"

#include <chrono>

#include "runtime/error.h"

namespace theanine {

void Program::run(std::vector<NDArray>& slots) const {
  if (profile && seconds.size() != instructions.size()) {
    seconds.assign(instructions.size(), 0.0);
    calls.assign(instructions.size(), 0);
  }
  for (size_t k = 0; k < instructions.size(); ++k) {
    const Instruction& ins = instructions[k];
    auto t0 = profile ? std::chrono::steady_clock::now()
                      : std::chrono::steady_clock::time_point();
    try {
      ins.run(slots);
    } catch (const Error&) {
      rethrow_with_prefix(ins.label + ": ");
    }
    if (profile) {
      seconds[k] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++calls[k];
    }
    for (int s : ins.release_after) slots[s] = NDArray();
  }
}

}  // namespace theanine
