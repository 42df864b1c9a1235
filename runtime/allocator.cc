#include "runtime/allocator.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/error.h"

namespace theanine {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kDefaultCacheLimit = size_t(1) << 30;

size_t size_class(size_t n) { return allocator_size_class(n, kAlign, 4096); }

size_t default_cache_limit() {
  return cache_limit_from_env("THEANINE_ALLOCATOR_CACHE_MB", kDefaultCacheLimit);
}

class CachingAllocator {
 public:
  void* take(size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.allocations;
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.bytes_cached -= cls;
        ++stats_.hits;
        note_in_use(cls);
        return p;
      }
      ++stats_.fresh;
    }
    void* p = std::aligned_alloc(kAlign, cls);
    if (!p) {
      // Cached blocks of other classes may be what the system is short of.
      release_all();
      p = std::aligned_alloc(kAlign, cls);
    }
    if (!p) {
      std::lock_guard<std::mutex> lock(mu_);
      --stats_.allocations;
      --stats_.fresh;
      return nullptr;
    }
    std::lock_guard<std::mutex> lock(mu_);
    note_in_use(cls);
    return p;
  }

  void give_back(void* p, size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.bytes_in_use -= cls;
      if (stats_.bytes_cached + cls <= stats_.cache_limit) {
        free_[cls].push_back(p);
        stats_.bytes_cached += cls;
        return;
      }
    }
    std::free(p);
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }

  void set_limit(size_t bytes) {
    std::vector<void*> dropped;
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
    for (void* p : dropped) std::free(p);
  }

  void release_all() {
    std::unordered_map<size_t, std::vector<void*>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      dropped.swap(free_);
      stats_.bytes_cached = 0;
    }
    for (auto& [cls, blocks] : dropped)
      for (void* p : blocks) std::free(p);
  }

  CachingAllocator() { stats_.cache_limit = default_cache_limit(); }

 private:
  void note_in_use(size_t cls) {
    stats_.bytes_in_use += cls;
    stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

// Never destroyed: arrays held by other statics (shared variables, Python
// objects) give their blocks back during exit, after ordinary statics are gone.
CachingAllocator& the_allocator() {
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

// The deleter of every block we hand out; its type marks memory we own.
struct BlockDeleter {
  size_t cls;
  void operator()(void* p) const { the_allocator().give_back(p, cls); }
};

}  // namespace

AllocatorStats allocator_stats() { return the_allocator().stats(); }
void reset_allocator_peak() { the_allocator().reset_peak(); }
void set_allocator_cache_limit(size_t bytes) { the_allocator().set_limit(bytes); }
void release_allocator_cache() { the_allocator().release_all(); }

std::shared_ptr<void> allocate_host(size_t nbytes) {
  if (nbytes > (size_t(1) << 62))
    throw Error("out of memory allocating " + std::to_string(nbytes) + " bytes");
  const size_t cls = size_class(nbytes);
  void* p = the_allocator().take(cls);
  if (!p) throw Error("out of memory allocating " + std::to_string(nbytes) + " bytes");
  try {
    return std::shared_ptr<void>(p, BlockDeleter{cls});
  } catch (...) {
    the_allocator().give_back(p, cls);
    throw;
  }
}

bool allocator_owns(const std::shared_ptr<void>& keepalive) {
  return std::get_deleter<BlockDeleter>(keepalive) != nullptr;
}

size_t allocator_size_class(size_t n, size_t grain, size_t linear_up_to) {
  if (n <= grain) return grain;
  if (n <= linear_up_to) return (n + grain - 1) / grain * grain;
  size_t step = std::bit_floor(n) / 8;
  return (n + step - 1) / step * step;
}

size_t cache_limit_from_env(const char* variable, size_t fallback) {
  if (const char* mb = std::getenv(variable)) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (end != mb && *end == '\0') return static_cast<size_t>(v) << 20;
  }
  return fallback;
}

}  // namespace theanine
