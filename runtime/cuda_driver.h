#pragma once
// The CUDA libraries, opened at run time (ARCHITECTURE decision 6): libcuda (the
// driver API), libnvrtc (the run-time compiler) and libcublas are found with
// dlopen, never linked, so one build runs with or without them. Each library is
// a table of function pointers filled once; the types and enums the calls need
// are declared here (the few values used, copied from the documented API), so
// no CUDA header is needed to build.
//
// cuda_available() is true only when all three load and a device answers;
// nvrtc_available() alone suffices to compile kernels (NVRTC needs no GPU).
// Every call goes through check(), which turns a failing status into
// theanine::Error naming the call and CUDA's own error name and text.
//
// Libraries are searched under their versioned names (13, then 12), then the
// plain .so name, each in the loader's path and then in $THEANINE_CUDA_HOME/lib64,
// $CUDA_HOME/lib64, $CUDA_PATH/lib64, /usr/local/cuda/lib64 and
// /usr/local/nvidia/lib64. THEANINE_CUDA=0 turns the device off (NVRTC stays).
//
// THEANINE_CUDA_EMULATOR=PATH fills all three tables from that one library
// instead, without searching: the software device of tests/cuda_emu (host memory
// for device memory, the CUDA C compiled by the host C++ compiler), so the whole
// CUDA path runs where there is no GPU. The reasons below then name that path.
//
// A few entry points are optional, null where the library lacks them: graph
// capture (cuda_graphs_available()) and cuBLAS's batched GEMM and GEMV.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "runtime/error.h"

namespace theanine {

// True when libcuda, libnvrtc and libcublas are loaded and device 0 answers.
bool cuda_available();
// Why cuda_available() is false ("" when it is true).
std::string cuda_unavailable_reason();
// True when libnvrtc is loaded (kernels can be compiled, with or without a GPU).
bool nvrtc_available();
std::string nvrtc_unavailable_reason();
// True when cuda_available() and the driver has stream capture and graphs (the
// DriverApi's graph entries are non-null).
bool cuda_graphs_available();

namespace cuda {

// ---- the driver API's types, as the driver declares them ----------------------
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUstream = struct CUstream_st*;
using CUevent = struct CUevent_st*;
using CUgraph = struct CUgraph_st*;
using CUgraphExec = struct CUgraphExec_st*;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_EVENT_DEFAULT = 0;
constexpr int CU_STREAM_CAPTURE_MODE_GLOBAL = 0;
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
constexpr int CU_STREAM_CAPTURE_MODE_RELAXED = 2;

struct DriverApi {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemGetInfo)(size_t*, size_t*);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemAllocHost)(void**, size_t);
  CUresult (*cuMemFreeHost)(void*);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*cuStreamCreate)(CUstream*, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void**, void**);
  // Stream capture and graphs (CUDA 12+): all six, or all null. Work queued on a
  // capturing stream is recorded, not run; cuGraphLaunch replays it.
  CUresult (*cuStreamBeginCapture)(CUstream, int mode);  // CU_STREAM_CAPTURE_MODE_*
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph*);
  CUresult (*cuGraphInstantiate)(CUgraphExec*, CUgraph, unsigned long long flags);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
};

// ---- NVRTC -----------------------------------------------------------------------
using nvrtcResult = int;
using nvrtcProgram = struct _nvrtcProgram*;
constexpr nvrtcResult NVRTC_SUCCESS = 0;

struct NvrtcApi {
  const char* (*nvrtcGetErrorString)(nvrtcResult);
  nvrtcResult (*nvrtcVersion)(int*, int*);
  nvrtcResult (*nvrtcGetNumSupportedArchs)(int*);
  nvrtcResult (*nvrtcGetSupportedArchs)(int*);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int,
                                    const char* const*, const char* const*);
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram*);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char* const*);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char*);
  // Null where this NVRTC cannot emit machine code (then PTX is loaded).
  nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram, char*);
};

// ---- cuBLAS ----------------------------------------------------------------------
using cublasStatus_t = int;
using cublasHandle_t = struct cublasContext*;
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr int CUBLAS_OP_N = 0;
constexpr int CUBLAS_OP_T = 1;
constexpr int CUBLAS_DEFAULT_MATH = 0;
constexpr int CUBLAS_PEDANTIC_MATH = 2;
constexpr int CUBLAS_TF32_TENSOR_OP_MATH = 3;

struct CublasApi {
  cublasStatus_t (*cublasCreate)(cublasHandle_t*);
  cublasStatus_t (*cublasDestroy)(cublasHandle_t);
  cublasStatus_t (*cublasSetStream)(cublasHandle_t, CUstream);
  cublasStatus_t (*cublasSetMathMode)(cublasHandle_t, int);
  // Optional: a workspace the caller owns, so cuBLAS allocates nothing during
  // a graph capture.
  cublasStatus_t (*cublasSetWorkspace)(cublasHandle_t, void*, size_t);
  const char* (*cublasGetStatusString)(cublasStatus_t);
  cublasStatus_t (*cublasSgemm)(cublasHandle_t, int, int, int, int, int, const float*,
                                const float*, int, const float*, int, const float*,
                                float*, int);
  cublasStatus_t (*cublasDgemm)(cublasHandle_t, int, int, int, int, int, const double*,
                                const double*, int, const double*, int, const double*,
                                double*, int);
  // Optional (null where missing). Batches of GEMMs whose operands are
  // `stride` elements apart, and y = alpha * op(A) x + beta * y.
  cublasStatus_t (*cublasSgemmStridedBatched)(cublasHandle_t, int, int, int, int, int,
                                              const float*, const float*, int, long long,
                                              const float*, int, long long, const float*,
                                              float*, int, long long, int);
  cublasStatus_t (*cublasDgemmStridedBatched)(cublasHandle_t, int, int, int, int, int,
                                              const double*, const double*, int,
                                              long long, const double*, int, long long,
                                              const double*, double*, int, long long,
                                              int);
  cublasStatus_t (*cublasSgemv)(cublasHandle_t, int, int, int, const float*, const float*,
                                int, const float*, int, const float*, float*, int);
  cublasStatus_t (*cublasDgemv)(cublasHandle_t, int, int, int, const double*,
                                const double*, int, const double*, int, const double*,
                                double*, int);
};

// The loaded tables. Error (with the reason) when the library is missing; the
// driver table also makes device 0's primary context current on this thread.
const DriverApi& driver();
const NvrtcApi& nvrtc();
const CublasApi& cublas();

// Turns a failing status into Error("cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY
// (out of memory)"), naming `call` and, when given, what it was doing.
void check(CUresult status, const char* call, const std::string& what = "");
void check_nvrtc(nvrtcResult status, const char* call, const std::string& what = "");
void check_cublas(cublasStatus_t status, const char* call, const std::string& what = "");

// Device 0, the one theanine uses.
struct DeviceInfo {
  std::string name;
  int cc_major = 0, cc_minor = 0;  // compute capability
  int multiprocessors = 0;
  int max_threads_per_block = 0;
  size_t total_memory = 0;
  int driver_version = 0;                                // 13000 = CUDA 13.0
  int arch() const { return cc_major * 10 + cc_minor; }  // 90 for sm_90
};
// Error when cuda_available() is false.
const DeviceInfo& device_info();

// The stream every theanine launch and copy is ordered on (non-blocking with
// respect to the legacy default stream).
CUstream stream();
// Waits for everything queued on stream().
void synchronize();

// Copies on stream(). The host side may be any memory; copies of at least
// kStagingThreshold bytes go through pinned staging buffers, two in flight, so
// the transfer overlaps the host-side memcpy. All return when the host memory
// may be reused (the host-to-device direction) or holds the data (the other).
constexpr size_t kStagingThreshold = size_t(1) << 20;
void copy_to_device(CUdeviceptr dst, const void* src, size_t nbytes);
void copy_to_host(void* dst, CUdeviceptr src, size_t nbytes);
// Queued on stream(); does not wait.
void copy_device_to_device(CUdeviceptr dst, CUdeviceptr src, size_t nbytes);
void memset_device(CUdeviceptr dst, unsigned char value, size_t nbytes);

// Copies to the device at once, on a second stream that no capture records:
// data a captured graph reads as a constant (runtime/cuda_graph.h).
void copy_to_device_now(CUdeviceptr dst, const void* src, size_t nbytes);

// Launches `fn` on stream(); `describe` names it in an error. With
// THEANINE_CUDA_SYNC set (and no capture running) it waits for the kernel, so
// a fault names this launch rather than a later call.
void launch_kernel(CUfunction fn, unsigned grid, unsigned block, unsigned shared_bytes,
                   void** params, const std::function<std::string()>& describe);

// ---- capture --------------------------------------------------------------------
// While a capture records stream() (runtime/cuda_graph.h), work queued on it is
// recorded, not run: waiting for the stream and copies between host memory and
// the stream are refused with CaptureUnsupported, which callers catch to run
// the work without a graph (runtime/error.h).
bool capturing();
void set_capturing(bool on);

// ---- what was queued, for tests and benchmarks ------------------------------------
struct WorkCounts {
  uint64_t launches = 0;  // kernels launched from the host (not from a graph)
  uint64_t blas_calls = 0;
  uint64_t copies_to_device = 0, copies_to_host = 0, copies_on_device = 0;
  uint64_t synchronizations = 0;
  uint64_t graph_launches = 0;
};
WorkCounts work_counts();
enum class Work { BlasCall, GraphLaunch };
void count_work(Work what);

// Device time between two points of stream(), for benchmarks.
class StreamTimer {
 public:
  StreamTimer();
  ~StreamTimer();
  StreamTimer(const StreamTimer&) = delete;
  StreamTimer& operator=(const StreamTimer&) = delete;
  void start();
  // Milliseconds since start(), waiting for the stream to get there.
  double stop();

 private:
  CUevent begin_ = nullptr, end_ = nullptr;
};

}  // namespace cuda
}  // namespace theanine
