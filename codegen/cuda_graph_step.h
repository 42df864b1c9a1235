#pragma once
// A CUDA function's step replayed as a CUDA graph (runtime/cuda_graph.h): the
// first call with a set of shapes runs the program as usual (compiling and
// warming every cache), the second records it, and from then on a call is:
// copy the arguments into the graph's input blocks, one graph launch, copy the
// outputs out, copy the updates into the variables' blocks. The graph reads
// each shared variable from the block it had at the recording; a variable
// given another value since (set_value, another function's update) is copied
// into it first, and updates are copied into it after (one device copy per
// parameter, in place, as ARCHITECTURE decision 8 asks), so no block the graph
// writes is ever visible outside it.
//
// A step the graph cannot hold runs as usual at every call, the reason kept:
// a read of device data on the host (a host fallback node), a shared variable
// on the host, an update whose value is another updated variable's block.
// Bad input found by a device check in a replay: nothing the user owns has
// changed, and the call runs as usual so that the check names the problem.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/variable.h"
#include "runtime/cuda_graph.h"
#include "runtime/program.h"

namespace theanine {

// The part of a compiled function's slot layout the step needs.
struct StepSlots {
  size_t num_inputs = 0;  // slots [0, num_inputs)
  std::vector<std::pair<int, std::shared_ptr<SharedStorage>>> shared;
  std::vector<int> outputs;
  std::vector<int> updates;
  std::vector<std::shared_ptr<SharedStorage>> update_targets;
};

class CudaGraphStep {
 public:
  CudaGraphStep(const Program* program, StepSlots slots, bool outputs_on_device);
  ~CudaGraphStep();

  // `slots` bound: arguments as given (host or device), shared values and
  // constants in place. Runs the step through the graph when it can and gives
  // the outputs as the function returns them (host arrays, or fresh device
  // arrays with outputs_on_device) with the updates committed; nullopt when
  // this call must run the program as usual.
  std::optional<std::vector<NDArray>> run(std::vector<NDArray>& slots);

  int64_t replays() const;
  // Why the step runs without a graph ("" while it may use one).
  std::string reason() const;
  // Device bytes the graph holds for its own blocks (0 without one).
  size_t graph_bytes() const;

 private:
  struct Recorded;
  std::optional<std::vector<NDArray>> record(std::vector<NDArray>& slots);
  std::optional<std::vector<NDArray>> replay(std::vector<NDArray>& slots);

  const Program* program_;
  StepSlots slots_;
  std::vector<int> update_shared_;  // per update: its variable's index in slots_.shared
  bool outputs_on_device_;
  mutable std::mutex mu_;
  std::optional<std::vector<int64_t>> seen_;  // shapes of the last call without a graph
  std::unique_ptr<Recorded> recorded_;
  std::string reason_;
  int64_t replays_ = 0;
  int failed_recordings_ = 0;
};

}  // namespace theanine
