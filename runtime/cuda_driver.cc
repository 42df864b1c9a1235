#include "runtime/cuda_driver.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "runtime/error.h"

namespace theanine {
namespace cuda {
namespace {

// ---- finding and opening the libraries ----------------------------------------

std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs;
  auto add = [&](const std::string& d) {
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  };
  for (const char* var : {"THEANINE_CUDA_HOME", "CUDA_HOME", "CUDA_PATH"})
    if (const char* v = std::getenv(var); v && *v) add(std::string(v) + "/lib64");
  add("/usr/local/cuda/lib64");
  add("/usr/local/nvidia/lib64");
  add("/usr/lib/x86_64-linux-gnu");
  return dirs;
}

struct Library {
  void* handle = nullptr;
  std::string path;   // what was opened
  std::string error;  // why nothing was, when handle is null
};

// The first of `names` that opens, by the loader's own search and then in the
// usual CUDA folders.
Library open_library(const std::vector<std::string>& names) {
  Library lib;
  auto attempt = [&](const std::string& path) {
    if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      lib.handle = h;
      lib.path = path;
      return true;
    }
    return false;
  };
  for (const std::string& n : names)
    if (attempt(n)) return lib;
  std::string dirs;
  for (const std::string& d : search_dirs()) {
    dirs += ", " + d;
    for (const std::string& n : names)
      if (attempt(d + "/" + n)) return lib;
  }
  std::string tried;
  for (const std::string& n : names) tried += (tried.empty() ? "" : ", ") + n;
  lib.error = tried + " not found (searched the loader's path" + dirs + ")";
  return lib;
}

// THEANINE_CUDA_EMULATOR, when set: the one library all three tables come from.
const char* emulator_path() {
  const char* v = std::getenv("THEANINE_CUDA_EMULATOR");
  return v && *v ? v : nullptr;
}

// The emulator when one is named, else the first of `names` (open_library);
// `what` leads the error of a failed search ("NVRTC not found: ...").
Library open_cuda_library(const std::vector<std::string>& names,
                          const std::string& what) {
  if (const char* emu = emulator_path()) {
    Library lib;
    if (void* h = dlopen(emu, RTLD_NOW | RTLD_LOCAL)) {
      lib.handle = h;
      lib.path = emu;
    } else {
      const char* e = dlerror();
      lib.error = std::string("the CUDA emulator THEANINE_CUDA_EMULATOR=") + emu +
                  " could not be opened: " + (e ? e : "dlopen failed");
    }
    return lib;
  }
  Library lib = open_library(names);
  if (!lib.handle) lib.error = what + ": " + lib.error;
  return lib;
}

// Fills `slot` with the first of `symbols` the library exports; false if none.
template <class Fn>
bool bind(const Library& lib, Fn& slot, std::initializer_list<const char*> symbols,
          std::string& missing) {
  for (const char* s : symbols)
    if (void* p = dlsym(lib.handle, s)) {
      slot = reinterpret_cast<Fn>(p);
      return true;
    }
  slot = nullptr;
  if (!missing.empty()) missing += ", ";
  missing += *symbols.begin();
  return false;
}

bool disabled_by_build() {
#ifdef THEANINE_NO_CUDA
  return true;
#else
  return false;
#endif
}

// ---- the three tables, each loaded once ----------------------------------------

struct Loaded {
  std::once_flag once;
  bool ok = false;
  std::string error;
};

Loaded g_driver_load, g_nvrtc_load, g_cublas_load, g_device_load;
DriverApi g_driver;
NvrtcApi g_nvrtc;
CublasApi g_cublas;
DeviceInfo g_device;
CUcontext g_context = nullptr;
CUstream g_stream = nullptr;

std::string driver_error_text(CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (g_driver.cuGetErrorName) g_driver.cuGetErrorName(r, &name);
  if (g_driver.cuGetErrorString) g_driver.cuGetErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text) s += std::string(" (") + text + ")";
  return s;
}

void load_driver() {
  if (disabled_by_build()) {
    g_driver_load.error =
        "this build of theanine has CUDA turned off (THEANINE_WITH_CUDA=OFF)";
    return;
  }
  if (const char* v = std::getenv("THEANINE_CUDA"); v && std::strcmp(v, "0") == 0) {
    g_driver_load.error = "the CUDA device is turned off by THEANINE_CUDA=0";
    return;
  }
  Library lib = open_cuda_library({"libcuda.so.1", "libcuda.so"}, "no NVIDIA driver");
  if (!lib.handle) {
    g_driver_load.error = lib.error;
    return;
  }
  std::string missing;
  DriverApi& d = g_driver;
  bind(lib, d.cuInit, {"cuInit"}, missing);
  bind(lib, d.cuDriverGetVersion, {"cuDriverGetVersion"}, missing);
  bind(lib, d.cuGetErrorName, {"cuGetErrorName"}, missing);
  bind(lib, d.cuGetErrorString, {"cuGetErrorString"}, missing);
  bind(lib, d.cuDeviceGetCount, {"cuDeviceGetCount"}, missing);
  bind(lib, d.cuDeviceGet, {"cuDeviceGet"}, missing);
  bind(lib, d.cuDeviceGetName, {"cuDeviceGetName"}, missing);
  bind(lib, d.cuDeviceGetAttribute, {"cuDeviceGetAttribute"}, missing);
  bind(lib, d.cuDeviceTotalMem, {"cuDeviceTotalMem_v2"}, missing);
  bind(lib, d.cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"}, missing);
  bind(lib, d.cuCtxSetCurrent, {"cuCtxSetCurrent"}, missing);
  bind(lib, d.cuCtxSynchronize, {"cuCtxSynchronize"}, missing);
  bind(lib, d.cuMemGetInfo, {"cuMemGetInfo_v2"}, missing);
  bind(lib, d.cuMemAlloc, {"cuMemAlloc_v2"}, missing);
  bind(lib, d.cuMemFree, {"cuMemFree_v2"}, missing);
  bind(lib, d.cuMemAllocHost, {"cuMemAllocHost_v2"}, missing);
  bind(lib, d.cuMemFreeHost, {"cuMemFreeHost"}, missing);
  bind(lib, d.cuMemcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"}, missing);
  bind(lib, d.cuMemcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"}, missing);
  bind(lib, d.cuMemcpyDtoDAsync, {"cuMemcpyDtoDAsync_v2"}, missing);
  bind(lib, d.cuMemsetD8Async, {"cuMemsetD8Async"}, missing);
  bind(lib, d.cuStreamCreate, {"cuStreamCreate"}, missing);
  bind(lib, d.cuStreamDestroy, {"cuStreamDestroy_v2"}, missing);
  bind(lib, d.cuStreamSynchronize, {"cuStreamSynchronize"}, missing);
  bind(lib, d.cuEventCreate, {"cuEventCreate"}, missing);
  bind(lib, d.cuEventRecord, {"cuEventRecord"}, missing);
  bind(lib, d.cuEventSynchronize, {"cuEventSynchronize"}, missing);
  bind(lib, d.cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"},
       missing);
  bind(lib, d.cuEventDestroy, {"cuEventDestroy_v2"}, missing);
  bind(lib, d.cuModuleLoadData, {"cuModuleLoadData"}, missing);
  bind(lib, d.cuModuleGetFunction, {"cuModuleGetFunction"}, missing);
  bind(lib, d.cuModuleUnload, {"cuModuleUnload"}, missing);
  bind(lib, d.cuLaunchKernel, {"cuLaunchKernel"}, missing);
  if (!missing.empty()) {
    g_driver_load.error = lib.path + " lacks " + missing + " (driver too old?)";
    return;
  }
  std::string optional;  // graphs: all six or none
  bind(lib, d.cuStreamBeginCapture, {"cuStreamBeginCapture_v2"}, optional);
  bind(lib, d.cuStreamEndCapture, {"cuStreamEndCapture"}, optional);
  bind(lib, d.cuGraphInstantiate, {"cuGraphInstantiateWithFlags"}, optional);
  bind(lib, d.cuGraphLaunch, {"cuGraphLaunch"}, optional);
  bind(lib, d.cuGraphExecDestroy, {"cuGraphExecDestroy"}, optional);
  bind(lib, d.cuGraphDestroy, {"cuGraphDestroy"}, optional);
  if (!optional.empty()) {
    d.cuStreamBeginCapture = nullptr;
    d.cuStreamEndCapture = nullptr;
    d.cuGraphInstantiate = nullptr;
    d.cuGraphLaunch = nullptr;
    d.cuGraphExecDestroy = nullptr;
    d.cuGraphDestroy = nullptr;
  }
  g_driver_load.ok = true;
}

void init_device() {
  std::call_once(g_driver_load.once, load_driver);
  if (!g_driver_load.ok) {
    g_device_load.error = g_driver_load.error;
    return;
  }
  DriverApi& d = g_driver;
  auto fail = [](const char* call, CUresult r) {
    g_device_load.error = std::string(call) + " failed: " + driver_error_text(r);
  };
  CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS) return fail("cuInit", r);
  int count = 0;
  if ((r = d.cuDeviceGetCount(&count)) != CUDA_SUCCESS)
    return fail("cuDeviceGetCount", r);
  if (count < 1) {
    g_device_load.error = "the NVIDIA driver reports no CUDA device";
    return;
  }
  CUdevice dev = 0;
  if ((r = d.cuDeviceGet(&dev, 0)) != CUDA_SUCCESS) return fail("cuDeviceGet", r);
  char name[256] = {0};
  if ((r = d.cuDeviceGetName(name, sizeof name - 1, dev)) != CUDA_SUCCESS)
    return fail("cuDeviceGetName", r);
  g_device.name = name;
  struct {
    int attr;
    int* into;
  } attrs[] = {
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &g_device.cc_major},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &g_device.cc_minor},
      {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &g_device.multiprocessors},
      {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &g_device.max_threads_per_block},
  };
  for (auto& a : attrs)
    if ((r = d.cuDeviceGetAttribute(a.into, a.attr, dev)) != CUDA_SUCCESS)
      return fail("cuDeviceGetAttribute", r);
  if ((r = d.cuDeviceTotalMem(&g_device.total_memory, dev)) != CUDA_SUCCESS)
    return fail("cuDeviceTotalMem", r);
  d.cuDriverGetVersion(&g_device.driver_version);
  if ((r = d.cuDevicePrimaryCtxRetain(&g_context, dev)) != CUDA_SUCCESS)
    return fail("cuDevicePrimaryCtxRetain", r);
  if ((r = d.cuCtxSetCurrent(g_context)) != CUDA_SUCCESS)
    return fail("cuCtxSetCurrent", r);
  if ((r = d.cuStreamCreate(&g_stream, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS)
    return fail("cuStreamCreate", r);
  g_device_load.ok = true;
}

void load_nvrtc() {
  if (disabled_by_build()) {
    g_nvrtc_load.error =
        "this build of theanine has CUDA turned off (THEANINE_WITH_CUDA=OFF)";
    return;
  }
  Library lib = open_cuda_library({"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"},
                                  "NVRTC not found");
  if (!lib.handle) {
    g_nvrtc_load.error = lib.error;
    return;
  }
  std::string missing;
  NvrtcApi& n = g_nvrtc;
  bind(lib, n.nvrtcGetErrorString, {"nvrtcGetErrorString"}, missing);
  bind(lib, n.nvrtcVersion, {"nvrtcVersion"}, missing);
  bind(lib, n.nvrtcGetNumSupportedArchs, {"nvrtcGetNumSupportedArchs"}, missing);
  bind(lib, n.nvrtcGetSupportedArchs, {"nvrtcGetSupportedArchs"}, missing);
  bind(lib, n.nvrtcCreateProgram, {"nvrtcCreateProgram"}, missing);
  bind(lib, n.nvrtcDestroyProgram, {"nvrtcDestroyProgram"}, missing);
  bind(lib, n.nvrtcCompileProgram, {"nvrtcCompileProgram"}, missing);
  bind(lib, n.nvrtcGetProgramLogSize, {"nvrtcGetProgramLogSize"}, missing);
  bind(lib, n.nvrtcGetProgramLog, {"nvrtcGetProgramLog"}, missing);
  bind(lib, n.nvrtcGetPTXSize, {"nvrtcGetPTXSize"}, missing);
  bind(lib, n.nvrtcGetPTX, {"nvrtcGetPTX"}, missing);
  if (!missing.empty()) {
    g_nvrtc_load.error = lib.path + " lacks " + missing;
    return;
  }
  std::string optional;  // machine code output is newer than the rest
  bind(lib, n.nvrtcGetCUBINSize, {"nvrtcGetCUBINSize"}, optional);
  bind(lib, n.nvrtcGetCUBIN, {"nvrtcGetCUBIN"}, optional);
  if (!n.nvrtcGetCUBINSize || !n.nvrtcGetCUBIN) {  // both or neither
    n.nvrtcGetCUBINSize = nullptr;
    n.nvrtcGetCUBIN = nullptr;
  }
  g_nvrtc_load.ok = true;
}

void load_cublas() {
  if (disabled_by_build()) {
    g_cublas_load.error =
        "this build of theanine has CUDA turned off (THEANINE_WITH_CUDA=OFF)";
    return;
  }
  Library lib = open_cuda_library({"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
                                  "cuBLAS not found");
  if (!lib.handle) {
    g_cublas_load.error = lib.error;
    return;
  }
  std::string missing;
  CublasApi& c = g_cublas;
  bind(lib, c.cublasCreate, {"cublasCreate_v2"}, missing);
  bind(lib, c.cublasDestroy, {"cublasDestroy_v2"}, missing);
  bind(lib, c.cublasSetStream, {"cublasSetStream_v2"}, missing);
  bind(lib, c.cublasSetMathMode, {"cublasSetMathMode"}, missing);
  bind(lib, c.cublasGetStatusString, {"cublasGetStatusString"}, missing);
  bind(lib, c.cublasSgemm, {"cublasSgemm_v2"}, missing);
  bind(lib, c.cublasDgemm, {"cublasDgemm_v2"}, missing);
  if (!missing.empty()) {
    g_cublas_load.error = lib.path + " lacks " + missing;
    return;
  }
  std::string optional;  // each on its own
  bind(lib, c.cublasSgemmStridedBatched, {"cublasSgemmStridedBatched"}, optional);
  bind(lib, c.cublasDgemmStridedBatched, {"cublasDgemmStridedBatched"}, optional);
  bind(lib, c.cublasSgemv, {"cublasSgemv_v2"}, optional);
  bind(lib, c.cublasDgemv, {"cublasDgemv_v2"}, optional);
  bind(lib, c.cublasSetWorkspace, {"cublasSetWorkspace_v2"}, optional);
  g_cublas_load.ok = true;
}

bool device_ready() {
  std::call_once(g_device_load.once, init_device);
  return g_device_load.ok;
}
bool nvrtc_ready() {
  std::call_once(g_nvrtc_load.once, load_nvrtc);
  return g_nvrtc_load.ok;
}
bool cublas_ready() {
  std::call_once(g_cublas_load.once, load_cublas);
  return g_cublas_load.ok;
}

// The primary context is current per thread: make it so on first use here.
void make_current() {
  thread_local bool current = false;
  if (current) return;
  check(g_driver.cuCtxSetCurrent(g_context), "cuCtxSetCurrent");
  current = true;
}

// ---- pinned staging for large host copies ------------------------------------------

constexpr size_t kChunk = size_t(4) << 20;

struct Staging {
  std::mutex mu;
  void* buf[2] = {nullptr, nullptr};
  CUevent done[2] = {nullptr, nullptr};  // the last copy through buf[i] finished
  bool used[2] = {false, false};

  void ensure() {
    if (buf[0]) return;
    const DriverApi& d = driver();
    for (int i = 0; i < 2; ++i) {
      check(d.cuMemAllocHost(&buf[i], kChunk), "cuMemAllocHost",
            "allocating staging memory");
      check(d.cuEventCreate(&done[i], CU_EVENT_DEFAULT), "cuEventCreate");
    }
  }
  void wait(int i) {
    if (used[i]) check(g_driver.cuEventSynchronize(done[i]), "cuEventSynchronize");
  }
  void record(int i) {
    check(g_driver.cuEventRecord(done[i], g_stream), "cuEventRecord");
    used[i] = true;
  }
};
Staging& staging() {
  static Staging* s = new Staging();  // outlives static destructors
  return *s;
}

struct Counters {
  std::atomic<uint64_t> launches{0}, blas_calls{0}, to_device{0}, to_host{0},
      on_device{0}, syncs{0}, graph_launches{0};
};
Counters g_counts;
std::atomic<bool> g_capturing{false};

void refuse_during_capture(const char* what) {
  if (g_capturing.load(std::memory_order_relaxed))
    throw CaptureUnsupported(std::string("a CUDA graph capture cannot record ") + what);
}

bool sync_each_launch() {
  static const bool on = [] {
    const char* v = std::getenv("THEANINE_CUDA_SYNC");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

}  // namespace

// ---- public ------------------------------------------------------------------------

const DriverApi& driver() {
  if (!device_ready()) throw Error("CUDA is not available: " + g_device_load.error);
  make_current();
  return g_driver;
}

const NvrtcApi& nvrtc() {
  if (!nvrtc_ready()) throw Error("NVRTC is not available: " + g_nvrtc_load.error);
  return g_nvrtc;
}

const CublasApi& cublas() {
  if (!cublas_ready()) throw Error("cuBLAS is not available: " + g_cublas_load.error);
  return g_cublas;
}

void check(CUresult status, const char* call, const std::string& what) {
  if (status == CUDA_SUCCESS) return;
  throw Error(std::string(call) + " failed: " + driver_error_text(status) +
              (what.empty() ? "" : " while " + what));
}

void check_nvrtc(nvrtcResult status, const char* call, const std::string& what) {
  if (status == NVRTC_SUCCESS) return;
  const char* text =
      g_nvrtc.nvrtcGetErrorString ? g_nvrtc.nvrtcGetErrorString(status) : nullptr;
  throw Error(std::string(call) +
              " failed: " + (text ? text : "NVRTC error " + std::to_string(status)) +
              (what.empty() ? "" : " while " + what));
}

void check_cublas(cublasStatus_t status, const char* call, const std::string& what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const char* text =
      g_cublas.cublasGetStatusString ? g_cublas.cublasGetStatusString(status) : nullptr;
  throw Error(std::string(call) +
              " failed: " + (text ? text : "cuBLAS status " + std::to_string(status)) +
              (what.empty() ? "" : " while " + what));
}

const DeviceInfo& device_info() {
  driver();
  return g_device;
}

CUstream stream() {
  driver();
  return g_stream;
}

void synchronize() {
  refuse_during_capture("a wait for the stream");
  g_counts.syncs.fetch_add(1, std::memory_order_relaxed);
  check(driver().cuStreamSynchronize(g_stream), "cuStreamSynchronize");
}

void copy_to_device(CUdeviceptr dst, const void* src, size_t nbytes) {
  const DriverApi& d = driver();
  if (nbytes == 0) return;
  refuse_during_capture("a copy from host memory");
  g_counts.to_device.fetch_add(1, std::memory_order_relaxed);
  if (nbytes < kStagingThreshold) {
    // From pageable memory the driver stages the bytes before returning.
    check(d.cuMemcpyHtoDAsync(dst, src, nbytes, g_stream), "cuMemcpyHtoDAsync");
    return;
  }
  Staging& s = staging();
  std::lock_guard<std::mutex> lock(s.mu);
  s.ensure();
  const char* from = static_cast<const char*>(src);
  for (size_t off = 0, i = 0; off < nbytes; off += kChunk, i ^= 1) {
    const size_t n = std::min(kChunk, nbytes - off);
    s.wait(static_cast<int>(i));  // the copy that last used this buffer is done
    std::memcpy(s.buf[i], from + off, n);
    check(d.cuMemcpyHtoDAsync(dst + off, s.buf[i], n, g_stream), "cuMemcpyHtoDAsync");
    s.record(static_cast<int>(i));
  }
}

void copy_to_host(void* dst, CUdeviceptr src, size_t nbytes) {
  const DriverApi& d = driver();
  if (nbytes == 0) return;
  refuse_during_capture("a copy of device data to the host");
  g_counts.to_host.fetch_add(1, std::memory_order_relaxed);
  if (nbytes < kStagingThreshold) {
    check(d.cuMemcpyDtoHAsync(dst, src, nbytes, g_stream), "cuMemcpyDtoHAsync");
    synchronize();
    return;
  }
  Staging& s = staging();
  std::lock_guard<std::mutex> lock(s.mu);
  s.ensure();
  char* to = static_cast<char*>(dst);
  const size_t chunks = (nbytes + kChunk - 1) / kChunk;
  auto issue = [&](size_t c) {
    const int i = static_cast<int>(c & 1);
    const size_t off = c * kChunk, n = std::min(kChunk, nbytes - off);
    check(d.cuMemcpyDtoHAsync(s.buf[i], src + off, n, g_stream), "cuMemcpyDtoHAsync");
    s.record(i);
  };
  // Two chunks in flight: while one drains into `dst`, the next is transferred.
  s.wait(0);
  s.wait(1);
  issue(0);
  if (chunks > 1) issue(1);
  for (size_t c = 0; c < chunks; ++c) {
    const int i = static_cast<int>(c & 1);
    const size_t off = c * kChunk, n = std::min(kChunk, nbytes - off);
    s.wait(i);
    std::memcpy(to + off, s.buf[i], n);
    if (c + 2 < chunks) issue(c + 2);
  }
}

void copy_device_to_device(CUdeviceptr dst, CUdeviceptr src, size_t nbytes) {
  if (nbytes == 0) return;
  g_counts.on_device.fetch_add(1, std::memory_order_relaxed);
  check(driver().cuMemcpyDtoDAsync(dst, src, nbytes, g_stream), "cuMemcpyDtoDAsync");
}

void memset_device(CUdeviceptr dst, unsigned char value, size_t nbytes) {
  if (nbytes == 0) return;
  check(driver().cuMemsetD8Async(dst, value, nbytes, g_stream), "cuMemsetD8Async");
}

void copy_to_device_now(CUdeviceptr dst, const void* src, size_t nbytes) {
  if (nbytes == 0) return;
  const DriverApi& d = driver();
  static CUstream side = [&d] {
    CUstream s = nullptr;
    check(d.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    return s;
  }();
  g_counts.to_device.fetch_add(1, std::memory_order_relaxed);
  check(d.cuMemcpyHtoDAsync(dst, src, nbytes, side), "cuMemcpyHtoDAsync");
  check(d.cuStreamSynchronize(side), "cuStreamSynchronize");
}

void launch_kernel(CUfunction fn, unsigned grid, unsigned block, unsigned shared_bytes,
                   void** params, const std::function<std::string()>& describe) {
  const DriverApi& d = driver();
  g_counts.launches.fetch_add(1, std::memory_order_relaxed);
  CUresult r = d.cuLaunchKernel(fn, grid, 1, 1, block, 1, 1, shared_bytes, g_stream,
                                params, nullptr);
  if (r != CUDA_SUCCESS) check(r, "cuLaunchKernel", "launching " + describe());
  if (sync_each_launch() && !capturing()) {
    r = d.cuStreamSynchronize(g_stream);
    if (r != CUDA_SUCCESS) check(r, "cuStreamSynchronize", "running " + describe());
  }
}

bool capturing() { return g_capturing.load(std::memory_order_relaxed); }
void set_capturing(bool on) { g_capturing.store(on); }

WorkCounts work_counts() {
  WorkCounts w;
  w.launches = g_counts.launches.load();
  w.blas_calls = g_counts.blas_calls.load();
  w.copies_to_device = g_counts.to_device.load();
  w.copies_to_host = g_counts.to_host.load();
  w.copies_on_device = g_counts.on_device.load();
  w.synchronizations = g_counts.syncs.load();
  w.graph_launches = g_counts.graph_launches.load();
  return w;
}

void count_work(Work what) {
  (what == Work::BlasCall ? g_counts.blas_calls : g_counts.graph_launches)
      .fetch_add(1, std::memory_order_relaxed);
}

StreamTimer::StreamTimer() {
  const DriverApi& d = driver();
  check(d.cuEventCreate(&begin_, CU_EVENT_DEFAULT), "cuEventCreate");
  check(d.cuEventCreate(&end_, CU_EVENT_DEFAULT), "cuEventCreate");
}

StreamTimer::~StreamTimer() {
  if (begin_) g_driver.cuEventDestroy(begin_);
  if (end_) g_driver.cuEventDestroy(end_);
}

void StreamTimer::start() {
  check(driver().cuEventRecord(begin_, g_stream), "cuEventRecord");
}

double StreamTimer::stop() {
  const DriverApi& d = driver();
  check(d.cuEventRecord(end_, g_stream), "cuEventRecord");
  check(d.cuEventSynchronize(end_), "cuEventSynchronize");
  float ms = 0;
  check(d.cuEventElapsedTime(&ms, begin_, end_), "cuEventElapsedTime");
  return ms;
}

}  // namespace cuda

bool cuda_available() {
  return cuda::device_ready() && cuda::nvrtc_ready() && cuda::cublas_ready();
}

std::string cuda_unavailable_reason() {
  if (!cuda::device_ready()) return cuda::g_device_load.error;
  if (!cuda::nvrtc_ready()) return cuda::g_nvrtc_load.error;
  if (!cuda::cublas_ready()) return cuda::g_cublas_load.error;
  return "";
}

bool nvrtc_available() { return cuda::nvrtc_ready(); }

bool cuda_graphs_available() {
  return cuda_available() && cuda::g_driver.cuStreamBeginCapture != nullptr;
}

std::string nvrtc_unavailable_reason() {
  return cuda::nvrtc_ready() ? "" : cuda::g_nvrtc_load.error;
}

}  // namespace theanine
