// The device, its context and its memory: cuInit, cuDevice*, cuCtx*, cuMem*
// (allocation and information), and the error names.
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/cuda_emu/emu.h"

namespace theanine::cuda_emu {

namespace {

using CUdevice = int;
using CUcontext = CUctx_st*;

constexpr size_t kAlignment = 256;
constexpr int kDriverVersion = 13000;
constexpr const char* kDeviceName = "theanine CUDA emulator";

CUctx_st g_primary_context;
thread_local bool t_context_current = false;

size_t configured_total_bytes() {
  size_t mb = 4096;
  if (const char* v = std::getenv("THEANINE_CUDA_EMU_MEMORY_MB"); v && *v) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (end && *end == '\0' && n > 0) mb = static_cast<size_t>(n);
  }
  return mb << 20;
}

// The attributes theanine reads, and the limits a launch is checked against.
bool attribute_value(int attr, int& value) {
  switch (attr) {
    case 1:
      value = 1024;
      return true;  // MAX_THREADS_PER_BLOCK
    case 2:
      value = 1024;
      return true;  // MAX_BLOCK_DIM_X
    case 3:
      value = 1024;
      return true;  // MAX_BLOCK_DIM_Y
    case 4:
      value = 64;
      return true;  // MAX_BLOCK_DIM_Z
    case 5:
      value = 2147483647;
      return true;  // MAX_GRID_DIM_X
    case 6:
      value = 65535;
      return true;  // MAX_GRID_DIM_Y
    case 7:
      value = 65535;
      return true;  // MAX_GRID_DIM_Z
    case 8:
      value = 48 << 10;
      return true;  // MAX_SHARED_MEMORY_PER_BLOCK
    case 9:
      value = 64 << 10;
      return true;  // TOTAL_CONSTANT_MEMORY
    case 10:
      value = 32;
      return true;  // WARP_SIZE
    case 12:
      value = 65536;
      return true;  // MAX_REGISTERS_PER_BLOCK
    case 16:
      value = 4;
      return true;  // MULTIPROCESSOR_COUNT
    case 39:
      value = 2048;
      return true;  // MAX_THREADS_PER_MULTIPROCESSOR
    case 41:
      value = 1;
      return true;  // UNIFIED_ADDRESSING
    case 75:
      value = 9;
      return true;  // COMPUTE_CAPABILITY_MAJOR
    case 76:
      value = 0;
      return true;  // COMPUTE_CAPABILITY_MINOR
    case 81:
      value = 228 << 10;
      return true;  // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
    case 97:
      value = 227 << 10;
      return true;  // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    default:
      return false;
  }
}

struct ErrorText {
  CUresult code;
  const char* name;
  const char* text;
};
constexpr ErrorText kErrors[] = {
    {kSuccess, "CUDA_SUCCESS", "no error"},
    {kInvalidValue, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {kNotInitialized, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {kNoDevice, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {kInvalidDevice, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {kInvalidImage, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {kInvalidContext, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {kInvalidHandle, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {kIllegalState, "CUDA_ERROR_ILLEGAL_STATE",
     "the operation cannot be performed in the present state"},
    {kNotFound, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {kNotReady, "CUDA_ERROR_NOT_READY", "device not ready"},
    {kIllegalAddress, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
    {kLaunchFailed, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {kNotSupported, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {kCaptureUnsupported, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
     "operation not permitted when stream is capturing"},
    {kCaptureInvalidated, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
     "operation failed due to a previous error during capture"},
    {kCaptureImplicit, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT",
     "operation would make the legacy stream depend on a capturing blocking stream"},
    {kCaptureWrongThread, "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD",
     "attempt to terminate a thread-local capture sequence from another thread"},
    {kUnknown, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const ErrorText* find_error(CUresult r) {
  for (const ErrorText& e : kErrors)
    if (e.code == r) return &e;
  return nullptr;
}

CUresult require_init() {
  std::lock_guard<std::mutex> lock(Device::get().mu);
  return Device::get().initialized ? kSuccess : kNotInitialized;
}

CUresult check_device(CUdevice dev) {
  if (CUresult r = require_init()) return r;
  return dev == 0 ? kSuccess : kInvalidDevice;
}

}  // namespace

Device& Device::get() {
  static Device* d = new Device();  // outlives the users' static destructors
  return *d;
}

CUresult require_context() {
  if (CUresult r = require_init()) return r;
  return t_context_current ? kSuccess : kInvalidContext;
}

void set_context_current(bool on) { t_context_current = on; }

bool is_device_range_locked(uint64_t ptr, size_t n) {
  const auto& blocks = Device::get().device_blocks;
  auto it = blocks.upper_bound(static_cast<uintptr_t>(ptr));
  if (it == blocks.begin()) return false;
  --it;
  return ptr >= it->first && ptr - it->first <= it->second &&
         n <= it->second - (ptr - it->first);
}

bool is_device_range(uint64_t ptr, size_t n) {
  std::lock_guard<std::mutex> lock(Device::get().mu);
  return is_device_range_locked(ptr, n);
}

bool is_pinned(const void* p) {
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.host_blocks.upper_bound(reinterpret_cast<uintptr_t>(p));
  if (it == d.host_blocks.begin()) return false;
  --it;
  return reinterpret_cast<uintptr_t>(p) - it->first < it->second;
}

// ---- initialization, the device, the context ---------------------------------------

TH_EMU_EXPORT CUresult cuInit(unsigned flags) {
  if (flags != 0) return kInvalidValue;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  if (!d.initialized) {
    d.total_bytes = configured_total_bytes();
    d.initialized = true;
  }
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuDriverGetVersion(int* version) {
  if (!version) return kInvalidValue;
  *version = kDriverVersion;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuGetErrorName(CUresult error, const char** name) {
  if (!name) return kInvalidValue;
  const ErrorText* e = find_error(error);
  *name = e ? e->name : nullptr;
  return e ? kSuccess : kInvalidValue;
}

TH_EMU_EXPORT CUresult cuGetErrorString(CUresult error, const char** text) {
  if (!text) return kInvalidValue;
  const ErrorText* e = find_error(error);
  *text = e ? e->text : nullptr;
  return e ? kSuccess : kInvalidValue;
}

TH_EMU_EXPORT CUresult cuDeviceGetCount(int* count) {
  if (!count) return kInvalidValue;
  if (CUresult r = require_init()) return r;
  *count = 1;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  if (!device) return kInvalidValue;
  if (CUresult r = require_init()) return r;
  if (ordinal != 0) return kInvalidDevice;
  *device = 0;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  if (!name || len <= 0) return kInvalidValue;
  if (CUresult r = check_device(dev)) return r;
  std::strncpy(name, kDeviceName, static_cast<size_t>(len));
  name[len - 1] = '\0';
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuDeviceGetAttribute(int* value, int attr, CUdevice dev) {
  if (!value) return kInvalidValue;
  if (CUresult r = check_device(dev)) return r;
  return attribute_value(attr, *value) ? kSuccess : kInvalidValue;
}

TH_EMU_EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
  if (!bytes) return kInvalidValue;
  if (CUresult r = check_device(dev)) return r;
  std::lock_guard<std::mutex> lock(Device::get().mu);
  *bytes = Device::get().total_bytes;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice dev) {
  if (!ctx) return kInvalidValue;
  if (CUresult r = check_device(dev)) return r;
  *ctx = &g_primary_context;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  return check_device(dev);
}

TH_EMU_EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
  if (CUresult r = require_init()) return r;
  if (ctx && ctx != &g_primary_context) return kInvalidContext;
  set_context_current(ctx != nullptr);
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuCtxGetCurrent(CUcontext* ctx) {
  if (!ctx) return kInvalidValue;
  if (CUresult r = require_init()) return r;
  *ctx = t_context_current ? &g_primary_context : nullptr;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuCtxSynchronize() {
  if (CUresult r = require_context()) return r;
  return check_unsafe_call();  // all work is done already
}

// ---- memory
// -----------------------------------------------------------------------------

TH_EMU_EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  *total_bytes = d.total_bytes;
  *free_bytes = d.total_bytes - d.used_bytes;
  return kSuccess;
}

// Fresh blocks are filled with 0xff bytes (NaN as floats, -1 as integers), so a
// kernel that reads memory nobody wrote shows in its results.
TH_EMU_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* ptr, size_t bytes) {
  if (!ptr) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  if (bytes == 0) return kInvalidValue;
  if (CUresult r = check_unsafe_call()) return r;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded < bytes) return kOutOfMemory;
  Device& d = Device::get();
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (rounded > d.total_bytes - d.used_bytes) return kOutOfMemory;
    d.used_bytes += rounded;  // reserved before the allocation, which may take a while
  }
  void* p = std::aligned_alloc(kAlignment, rounded);
  std::lock_guard<std::mutex> lock(d.mu);
  if (!p) {
    d.used_bytes -= rounded;
    return kOutOfMemory;
  }
  std::memset(p, 0xff, rounded);
  d.device_blocks[reinterpret_cast<uintptr_t>(p)] = rounded;
  *ptr = reinterpret_cast<CUdeviceptr>(p);
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuMemFree_v2(CUdeviceptr ptr) {
  if (CUresult r = require_context()) return r;
  if (ptr == 0) return kSuccess;
  if (CUresult r = check_unsafe_call()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.device_blocks.find(static_cast<uintptr_t>(ptr));
  if (it == d.device_blocks.end()) return kInvalidValue;
  d.used_bytes -= it->second;
  std::free(reinterpret_cast<void*>(it->first));
  d.device_blocks.erase(it);
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuMemAllocHost_v2(void** ptr, size_t bytes) {
  if (!ptr) return kInvalidValue;
  if (CUresult r = require_context()) return r;
  if (bytes == 0) return kInvalidValue;
  if (CUresult r = check_unsafe_call()) return r;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) return kOutOfMemory;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  d.host_blocks[reinterpret_cast<uintptr_t>(p)] = rounded;
  *ptr = p;
  return kSuccess;
}

TH_EMU_EXPORT CUresult cuMemFreeHost(void* ptr) {
  if (CUresult r = require_context()) return r;
  if (CUresult r = check_unsafe_call()) return r;
  Device& d = Device::get();
  std::lock_guard<std::mutex> lock(d.mu);
  auto it = d.host_blocks.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == d.host_blocks.end()) return kInvalidValue;
  std::free(ptr);
  d.host_blocks.erase(it);
  return kSuccess;
}

}  // namespace theanine::cuda_emu
