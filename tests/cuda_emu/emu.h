#pragma once
// The emulated device's state, shared by the files of the theanine_cuda_emu
// library (see tests/cuda_emu/README.md for what the library is). Handles are
// pointers to the structs below under CUDA's own opaque names; every handle a
// call receives is looked up in the device's registries first, so a stale or
// foreign handle is CUDA_ERROR_INVALID_HANDLE, not a crash.
//
// Everything runs synchronously in the calling thread: a copy, memset or kernel
// is done when its call returns, unless its stream is capturing, where it is
// recorded into the capture's graph instead (tests/cuda_emu/graphs.cc).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#define TH_EMU_EXPORT extern "C" __attribute__((visibility("default")))

namespace theanine::cuda_emu {

using CUresult = int;
enum : CUresult {
  kSuccess = 0,
  kInvalidValue = 1,
  kOutOfMemory = 2,
  kNotInitialized = 3,
  kNoDevice = 100,
  kInvalidDevice = 101,
  kInvalidImage = 200,
  kInvalidContext = 201,
  kInvalidHandle = 400,
  kIllegalState = 401,
  kNotFound = 500,
  kNotReady = 600,
  kIllegalAddress = 700,
  kLaunchFailed = 719,
  kNotSupported = 801,
  kCaptureUnsupported = 900,
  kCaptureInvalidated = 901,
  kCaptureImplicit = 906,
  kCaptureWrongThread = 908,
  kUnknown = 999,
};

constexpr int kCaptureModeGlobal = 0, kCaptureModeThreadLocal = 1,
              kCaptureModeRelaxed = 2;

// A unit of stream work: run at once, or kept in a graph and run at each replay.
using StreamOp = std::function<CUresult()>;

struct GraphOps {
  std::vector<StreamOp> ops;
};

struct Capture {
  std::shared_ptr<GraphOps> graph = std::make_shared<GraphOps>();
  int mode = kCaptureModeGlobal;
  std::thread::id thread;
  bool invalidated = false;
};

}  // namespace theanine::cuda_emu

// The handle types, under the names the CUDA headers give them.
struct CUctx_st {};
struct CUstream_st {
  unsigned flags = 0;
  std::unique_ptr<theanine::cuda_emu::Capture> capture;  // while capturing
};
struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
};
struct CUgraph_st {
  std::shared_ptr<theanine::cuda_emu::GraphOps> graph;
};
struct CUgraphExec_st {
  std::vector<theanine::cuda_emu::StreamOp> ops;
};
struct CUmod_st;
struct CUfunc_st;

namespace theanine::cuda_emu {

using CUdeviceptr = unsigned long long;
using CUstream = CUstream_st*;

class Device {
 public:
  static Device& get();

  std::mutex mu;  // guards everything below
  bool initialized = false;
  size_t total_bytes = 0;
  size_t used_bytes = 0;
  std::map<uintptr_t, size_t> device_blocks;  // base -> size
  std::map<uintptr_t, size_t> host_blocks;    // cuMemAllocHost's
  std::set<CUstream_st*> streams;
  std::set<CUevent_st*> events;
  std::set<CUgraph_st*> graphs;
  std::set<CUgraphExec_st*> execs;
  std::set<CUmod_st*> modules;
  std::set<CUfunc_st*> functions;
};

// kNotInitialized before cuInit, kInvalidContext where this thread has no
// current context (cuCtxSetCurrent), else kSuccess.
CUresult require_context();
void set_context_current(bool on);

// True when [ptr, ptr + n) lies inside one block from cuMemAlloc (mu held).
bool is_device_range_locked(uint64_t ptr, size_t n);
bool is_device_range(uint64_t ptr, size_t n);

// Runs `op` now, or appends it to the capture of `stream`. Copies between the
// device and pageable host memory (`pageable_host`) are refused during capture:
// a replay would read or write host memory the caller no longer owns.
CUresult submit(CUstream stream, StreamOp op, bool pageable_host = false);
// True when `p` lies in a block from cuMemAllocHost.
bool is_pinned(const void* p);

// For the calls CUDA calls potentially unsafe during stream capture (allocating
// and freeing memory, waiting for the whole device): kCaptureUnsupported when
// this thread may not make them now (it captures in a mode other than relaxed,
// or another thread captures in global mode), and those captures are
// invalidated, as CUDA does.
CUresult check_unsafe_call();

}  // namespace theanine::cuda_emu
