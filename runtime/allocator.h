#pragma once
// The host caching allocator behind NDArray::empty. A training step allocates the
// same sizes at every call, and the system allocator hands large blocks back to
// the kernel (fresh pages fault in on every use), so released blocks are kept in
// free lists by size class and handed out again: to later nodes of the same call
// (the executor releases intermediates after their last use) and to later calls.
// Only memory this allocator made is ever recycled; borrowed memory (a NumPy
// array's) lives and dies with its own keepalive.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace theanine {

struct AllocatorStats {
  size_t bytes_in_use = 0;       // handed out (by size class) and not returned yet
  size_t peak_bytes_in_use = 0;  // the most in use since reset_allocator_peak()
  size_t bytes_cached = 0;       // returned blocks kept for reuse
  size_t cache_limit = 0;        // the cap on bytes_cached
  uint64_t allocations = 0;      // every request
  uint64_t hits = 0;             // requests served from the cache
  uint64_t fresh = 0;            // requests that went to the system allocator
};

AllocatorStats allocator_stats();
// Restarts peak tracking from the bytes in use now.
void reset_allocator_peak();
// Caps the cached bytes (blocks given back beyond it are freed) and trims the
// cache to the new cap. The default is 1 GiB, or THEANINE_ALLOCATOR_CACHE_MB.
void set_allocator_cache_limit(size_t bytes);
// Frees every cached block.
void release_allocator_cache();

// A 64-byte aligned block of at least `nbytes` (so compiled kernels may use
// aligned vector loads). Destroying the last copy of the pointer gives the block
// back to the cache. Throws Error when memory is exhausted.
std::shared_ptr<void> allocate_host(size_t nbytes);
// True when `keepalive` holds a block from allocate_host: memory we own, which
// may be overwritten once nobody else holds it. False for borrowed memory.
bool allocator_owns(const std::shared_ptr<void>& keepalive);

// The size class a caching allocator files a request of n bytes under, so that
// nearly equal sizes share free lists: multiples of `grain` up to `linear_up_to`
// bytes, then 8 classes per power of two (at most 12.5% slack). Shared by the
// host allocator (64-byte grain up to 4 KiB) and the CUDA one (512 up to 8 KiB).
size_t allocator_size_class(size_t n, size_t grain, size_t linear_up_to);
// A byte count from an environment variable holding MiB, or `fallback` when it
// is unset or not a number.
size_t cache_limit_from_env(const char* variable, size_t fallback);

}  // namespace theanine
