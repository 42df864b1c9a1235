// Stream capture and graphs. A capturing stream records its work (tests/cuda_emu/
// streams.cc: submit) instead of running it; the graph is that list, in stream
// order, and an executable graph is a copy of it that cuGraphLaunch runs again
// (on a capturing stream, it is recorded into that capture, as a child graph).
// The rules CUDA enforces during capture are kept: not on the legacy stream,
// not twice, ended by the thread that began it (unless relaxed), no waiting on
// the stream or device, no unsafe calls (streams.cc: check_unsafe_call); a
// capture broken by one of them ends with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED.
#include "tests/cuda_emu/emu.h"

namespace theanine::cuda_emu {

namespace {

using CUgraph = CUgraph_st*;
using CUgraphExec = CUgraphExec_st*;

bool is_user_stream(CUstream s) { return Device::get().streams.count(s) > 0; }

}  // namespace

TH_EMU_EXPORT CUresult cuStreamBeginCapture_v2(CUstream stream, int mode) {
  if (CUresult r = require_context()) return r;
  if (mode < kCaptureModeGlobal || mode > kCaptureModeRelaxed) return kInvalidValue;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (reinterpret_cast<uintptr_t>(stream) <= 2) return kCaptureUnsupported;
  if (!is_user_stream(stream)) return kInvalidHandle;
  if (stream->capture) return kIllegalState;
  stream->capture = std::make_unique<Capture>();
  stream->capture->mode = mode;
  stream->capture->thread = std::this_thread::get_id();
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuStreamEndCapture(CUstream stream, CUgraph* graph) {
  if (!graph) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!is_user_stream(stream)) return kInvalidHandle;
  if (!stream->capture) return kIllegalState;
  Capture& c = *stream->capture;
  if (c.mode != kCaptureModeRelaxed && c.thread != std::this_thread::get_id())
    return kCaptureWrongThread;
  std::unique_ptr<Capture> done = std::move(stream->capture);
  if (done->invalidated) {
    *graph = nullptr;
    return kCaptureInvalidated;
  }
  auto* g = new CUgraph_st;
  g->graph = done->graph;
  d.graphs.insert(g);
  *graph = g;
  return kSuccess;
}

// Status: 0 none, 1 active, 2 invalidated.
TH_EMU_EXPORT CUresult cuStreamIsCapturing(CUstream stream, int* status) {
  if (!status) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (reinterpret_cast<uintptr_t>(stream) <= 2) {
    *status = 0;
    return kSuccess;
  }
  if (!is_user_stream(stream)) return kInvalidHandle;
  *status = !stream->capture ? 0 : stream->capture->invalidated ? 2 : 1;
  return kSuccess;
}

// Every thread stays in global mode; the call reports that and accepts a change
// only to global.
TH_EMU_EXPORT CUresult cuThreadExchangeStreamCaptureMode(int* mode) {
  if (!mode) return kInvalidValue;
  if (*mode != kCaptureModeGlobal) return kNotSupported;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuGraphInstantiateWithFlags(CUgraphExec* exec, CUgraph graph,
                                                   unsigned long long flags) {
  if (!exec) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.graphs.count(graph)) return kInvalidHandle;
  auto* e = new CUgraphExec_st;
  e->ops = graph->graph->ops;  // the kernels' bound arguments are shared, not copied
  d.execs.insert(e);
  *exec = e;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream) {
  if (CUresult r = require_context()) return r;
  std::vector<StreamOp> ops;
  {
    Device& d = Device::get();
    std::lock_guard<std::mutex> lock(d.mu);
    if (!d.execs.count(exec)) return kInvalidHandle;
    ops = exec->ops;  // the exec may be destroyed while it runs
  }
  return submit(stream, [ops = std::move(ops)] {
    for (const StreamOp& op : ops)
      if (CUresult r = op()) return r;
    return CUresult(kSuccess);
  });
}

TH_EMU_EXPORT CUresult cuGraphExecDestroy(CUgraphExec exec) {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.execs.erase(exec)) return kInvalidHandle;
  delete exec;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuGraphDestroy(CUgraph graph) {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.graphs.erase(graph)) return kInvalidHandle;
  delete graph;
  return kSuccess;
}

}  // namespace theanine::cuda_emu
