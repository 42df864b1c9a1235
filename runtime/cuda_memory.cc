#include "runtime/cuda_memory.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/allocator.h"
#include "runtime/cuda_driver.h"
#include "runtime/error.h"

namespace theanine {

namespace {

constexpr size_t kGrain = 512;
constexpr size_t kDefaultCacheLimit = size_t(4) << 30;
constexpr cuda::CUresult kOutOfMemory = 2;  // CUDA_ERROR_OUT_OF_MEMORY

size_t size_class(size_t n) { return allocator_size_class(n, kGrain, 8192); }

size_t default_cache_limit() {
  return cache_limit_from_env("THEANINE_CUDA_CACHE_MB", kDefaultCacheLimit);
}

std::string mib(size_t bytes) {
  return std::to_string((bytes + (size_t(1) << 19)) >> 20) + " MiB";
}

class DeviceCache {
 public:
  DeviceCache() { stats_.cache_limit = default_cache_limit(); }

  cuda::CUdeviceptr take(size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.allocations;
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        cuda::CUdeviceptr p = it->second.back();
        it->second.pop_back();
        stats_.bytes_cached -= cls;
        ++stats_.hits;
        note_in_use(cls);
        return p;
      }
      ++stats_.fresh;
    }
    const cuda::DriverApi& d = cuda::driver();
    cuda::CUdeviceptr p = 0;
    cuda::CUresult r = d.cuMemAlloc(&p, cls);
    if (r == kOutOfMemory) {
      // Cached blocks of other sizes may be what the device is short of.
      release_all();
      r = d.cuMemAlloc(&p, cls);
    }
    if (r == kOutOfMemory) {
      size_t free_bytes = 0, total = 0;
      d.cuMemGetInfo(&free_bytes, &total);
      throw Error("out of GPU memory allocating " + mib(cls) + " (" + mib(free_bytes) +
                  " free of " + mib(total) + ")");
    }
    cuda::check(r, "cuMemAlloc", "allocating " + std::to_string(cls) + " bytes");
    std::lock_guard<std::mutex> lock(mu_);
    note_in_use(cls);
    return p;
  }

  void give_back(cuda::CUdeviceptr p, size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes_in_use -= cls;
      if (stats_.bytes_cached + cls <= stats_.cache_limit) {
        free_[cls].push_back(p);
        stats_.bytes_cached += cls;
        return;
      }
    }
    cuda::driver().cuMemFree(p);  // nothing to report to a destructor
  }

  CudaAllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void set_limit(size_t bytes) {
    std::vector<cuda::CUdeviceptr> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.cache_limit = bytes;
      for (auto& [cls, blocks] : free_) {
        while (stats_.bytes_cached > bytes && !blocks.empty()) {
          dropped.push_back(blocks.back());
          blocks.pop_back();
          stats_.bytes_cached -= cls;
        }
      }
    }
    free_blocks(dropped);
  }

  void release_all() {
    std::vector<cuda::CUdeviceptr> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [cls, blocks] : free_)
        dropped.insert(dropped.end(), blocks.begin(), blocks.end());
      free_.clear();
      stats_.bytes_cached = 0;
    }
    free_blocks(dropped);
  }

 private:
  static void free_blocks(const std::vector<cuda::CUdeviceptr>& blocks) {
    if (blocks.empty()) return;
    const cuda::DriverApi& d = cuda::driver();
    for (cuda::CUdeviceptr p : blocks) cuda::check(d.cuMemFree(p), "cuMemFree");
  }
  void note_in_use(size_t cls) {
    stats_.bytes_in_use += cls;
    stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<cuda::CUdeviceptr>> free_;
  CudaAllocatorStats stats_;
};

// Never destroyed: blocks held by other statics come back during exit.
DeviceCache& the_cache() {
  static DeviceCache* c = new DeviceCache();
  return *c;
}

thread_local std::shared_ptr<DevicePool> t_pool;

}  // namespace

struct DevicePoolAccess {
  static cuda::CUdeviceptr take(DevicePool& pool, size_t cls) {
    {
      std::lock_guard<std::mutex> lock(pool.mu_);
      auto it = pool.free_.find(cls);
      if (it != pool.free_.end() && !it->second.empty()) {
        cuda::CUdeviceptr p = it->second.back();
        it->second.pop_back();
        return p;
      }
    }
    cuda::CUdeviceptr p = the_cache().take(cls);
    std::lock_guard<std::mutex> lock(pool.mu_);
    pool.bytes_ += cls;
    return p;
  }
  // False when the pool is retired: the block goes to the shared cache.
  static bool give_back(DevicePool& pool, cuda::CUdeviceptr p, size_t cls) {
    std::lock_guard<std::mutex> lock(pool.mu_);
    if (pool.retired_) return false;
    pool.free_[cls].push_back(p);
    return true;
  }
};

namespace {

struct DeviceBlockDeleter {
  size_t cls;
  std::shared_ptr<DevicePool> pool;
  void operator()(void* p) const {
    const auto ptr = reinterpret_cast<cuda::CUdeviceptr>(p);
    if (pool && DevicePoolAccess::give_back(*pool, ptr, cls)) return;
    the_cache().give_back(ptr, cls);
  }
};

}  // namespace

void DevicePool::retire() {
  std::unordered_map<size_t, std::vector<uint64_t>> blocks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (retired_) return;
    retired_ = true;
    blocks.swap(free_);
    bytes_ = 0;
  }
  for (auto& [cls, list] : blocks)
    for (uint64_t p : list) the_cache().give_back(p, cls);
}

size_t DevicePool::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

DevicePoolScope::DevicePoolScope(std::shared_ptr<DevicePool> pool)
    : previous_(std::exchange(t_pool, std::move(pool))) {}
DevicePoolScope::~DevicePoolScope() { t_pool = std::move(previous_); }

CudaAllocatorStats cuda_allocator_stats() { return the_cache().stats(); }
void set_cuda_allocator_cache_limit(size_t bytes) { the_cache().set_limit(bytes); }
void release_cuda_allocator_cache() { the_cache().release_all(); }

std::shared_ptr<void> allocate_device(size_t nbytes) {
  if (nbytes > (size_t(1) << 46))
    throw Error("out of GPU memory allocating " + std::to_string(nbytes) + " bytes");
  const size_t cls = size_class(nbytes);
  std::shared_ptr<DevicePool> pool = t_pool;
  cuda::CUdeviceptr p = pool ? DevicePoolAccess::take(*pool, cls) : the_cache().take(cls);
  DeviceBlockDeleter deleter{cls, std::move(pool)};
  try {
    return std::shared_ptr<void>(reinterpret_cast<void*>(p), deleter);
  } catch (...) {
    deleter(reinterpret_cast<void*>(p));
    throw;
  }
}

bool cuda_allocator_owns(const std::shared_ptr<void>& keepalive) {
  return std::get_deleter<DeviceBlockDeleter>(keepalive) != nullptr;
}

}  // namespace theanine
