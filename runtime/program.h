#pragma once
// Program: what function() compiles to. A flat list of instructions over numbered
// buffer slots; an instruction is opaque to the runtime (a closure produced by a
// backend), so the runtime needs to know nothing of graphs or ops.
#include <functional>
#include <string>
#include <vector>

#include "runtime/ndarray.h"

namespace theanine {

struct Instruction {
  std::function<void(std::vector<NDArray>& slots)> run;
  // Slots whose arrays can be released once this instruction ran (last use).
  std::vector<int> release_after;
  // Describes the instruction in error messages: op, and where the user created it.
  std::string label;
};

class Program {
 public:
  int num_slots = 0;
  std::vector<Instruction> instructions;
  // With `profile` set, run() adds each instruction's wall time and call count
  // to these (one entry per instruction), as Theano's profile=True does.
  bool profile = false;
  mutable std::vector<double> seconds;
  mutable std::vector<int64_t> calls;
  // Runs every instruction in order; an exception from one is re-thrown with the
  // instruction's label prepended so the user sees which node failed.
  void run(std::vector<NDArray>& slots) const;
};

}  // namespace theanine
