#pragma once
// CUDA Graphs: the work one training step queues on the stream, recorded once
// and replayed with one launch (ARCHITECTURE's performance model: per-call
// overhead matters for small models; a step of a few dozen small kernels costs
// more to launch one by one than to run).
//
// A capture records everything queued on stream() until finish(). The graph
// replays on the device addresses it was recorded with, so:
//  - blocks allocated during the capture come from the graph's private pool
//    (runtime/cuda_memory.h: DevicePool) and stay the graph's while it lives;
//  - host data copied in during the capture (constants, values computed on the
//    host from shapes) is copied at once and kept by the graph (capture_keep);
//  - anything that needs the host to wait for the device is refused with
//    CaptureUnsupported (the step then runs without a graph), except
//    device checks of bad input, which are deferred: their flags are read after
//    each launch (capture_defer_check, CudaGraph::check_failed).
#include <memory>
#include <vector>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_memory.h"
#include "runtime/ndarray.h"

namespace theanine {

class CudaGraph {
 public:
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  // Queues the recorded work on stream().
  void launch() const;
  // Whether a deferred device check found bad input in the last launch (waits
  // for the stream when the graph has any).
  bool check_failed() const;
  bool has_checks() const { return !checks_.empty(); }
  // Device bytes the graph holds for its own work.
  size_t pool_bytes() const { return pool_->bytes(); }

 private:
  friend class CudaCapture;
  friend void capture_keep(const NDArray& a);
  friend void capture_defer_check(const NDArray& flag);
  friend bool capture_has_checks();
  // During a capture: whether any check was deferred so far.
  bool capture_has_checks();
  CudaGraph() = default;
  cuda::CUgraphExec exec_ = nullptr;
  std::shared_ptr<DevicePool> pool_;
  std::vector<NDArray> kept_;    // constants the work reads
  std::vector<NDArray> checks_;  // int32 flags, zeroed by the graph itself
};

// Records stream() from construction to finish(). Error when graphs are not
// available (cuda_graphs_available()) or another capture is running. Destroyed
// without finish(), the recording is dropped and nothing ran.
class CudaCapture {
 public:
  CudaCapture();
  ~CudaCapture();
  CudaCapture(const CudaCapture&) = delete;
  CudaCapture& operator=(const CudaCapture&) = delete;
  std::unique_ptr<CudaGraph> finish();

 private:
  std::unique_ptr<CudaGraph> graph_;
  std::unique_ptr<DevicePoolScope> scope_;
  bool open_ = false;
};

// During a capture on this thread: keep `a` as long as the graph (device data
// the recorded work reads that no one else holds on to).
void capture_keep(const NDArray& a);
// During a capture: `flag` (a device int32 scalar the recorded work sets to non-zero
// on bad input) is read after each launch instead of now.
void capture_defer_check(const NDArray& flag);
// During a capture: whether any check was deferred so far.
bool capture_has_checks();

}  // namespace theanine
