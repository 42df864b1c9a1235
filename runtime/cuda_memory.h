#pragma once
// Device memory through a caching allocator, the device twin of
// runtime/allocator.h: a training step asks for the same sizes at every call,
// and cuMemAlloc/cuMemFree are slow and synchronize the device, so released
// blocks are kept in free lists by size class and handed out again. Every
// kernel and copy runs on the one stream of runtime/cuda_driver.h, so a block
// given back while work on it is still queued may be handed out at once: later
// users are ordered after that work on the same stream.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace theanine {

struct CudaAllocatorStats {
  size_t bytes_in_use = 0;  // handed out (by size class) and not returned yet
  size_t peak_bytes_in_use = 0;
  size_t bytes_cached = 0;  // returned blocks kept for reuse
  size_t cache_limit = 0;
  uint64_t allocations = 0;
  uint64_t hits = 0;   // served from the cache
  uint64_t fresh = 0;  // went to cuMemAlloc
};

CudaAllocatorStats cuda_allocator_stats();
// Caps the cached bytes (default 4 GiB, or THEANINE_CUDA_CACHE_MB) and trims.
void set_cuda_allocator_cache_limit(size_t bytes);
// Frees every cached block (cuMemFree).
void release_cuda_allocator_cache();

// A device block of at least `nbytes` bytes, 256-byte aligned; get() is the
// device address (a CUdeviceptr). Destroying the last copy gives the block back
// to the cache. Error (naming the size and the free memory) when the device is
// out of memory even after the cache was released, or CUDA is unavailable.
std::shared_ptr<void> allocate_device(size_t nbytes);
// True when `keepalive` holds a block from allocate_device.
bool cuda_allocator_owns(const std::shared_ptr<void>& keepalive);

// A private pool of device blocks, for a captured CUDA graph
// (runtime/cuda_graph.h): the graph's work replays on the addresses it was
// recorded with, so the blocks it used must never go to anyone else while it
// lives. While a DevicePoolScope is open on a thread, allocate_device there
// draws blocks for the pool (from its own free list first, else the shared
// cache) and blocks given back return to the pool's free list (later work of
// the same capture may reuse them: it replays in the same order). retire()
// hands the pool's blocks to the shared cache; blocks still held go there when
// given back.
class DevicePool {
 public:
  DevicePool() = default;
  ~DevicePool() { retire(); }
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;
  void retire();
  size_t bytes() const;  // taken for the pool, free or not, until retired

 private:
  friend struct DevicePoolAccess;
  mutable std::mutex mu_;
  bool retired_ = false;
  size_t bytes_ = 0;
  std::unordered_map<size_t, std::vector<uint64_t>> free_;
};

class DevicePoolScope {
 public:
  // A null pool suspends the enclosing scope (allocations go to the shared cache).
  explicit DevicePoolScope(std::shared_ptr<DevicePool> pool);
  ~DevicePoolScope();
  DevicePoolScope(const DevicePoolScope&) = delete;
  DevicePoolScope& operator=(const DevicePoolScope&) = delete;

 private:
  std::shared_ptr<DevicePool> previous_;
};

// The device address of a block, for the driver calls.
inline uint64_t device_address(const std::shared_ptr<void>& block) {
  return reinterpret_cast<uint64_t>(block.get());
}

}  // namespace theanine
