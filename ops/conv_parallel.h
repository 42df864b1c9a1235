#pragma once
// How the convolution and pooling kernels split their outer loops over the
// process's kernel threads (runtime/thread_pool.h): into ranges that each know
// their index, so every range can own scratch memory and partial sums.
#include <cstdint>
#include <functional>

namespace theanine::detail {

// The number of ranges parallel_ranges uses for n items of `cost_per_item`
// cheap memory operations each: one below about 100k operations in all, else up
// to the pool's thread count (and at most n).
int parallel_range_count(int64_t n, double cost_per_item);

// Calls body(begin, end, range) over [0, n) split into parallel_range_count()
// contiguous ranges numbered from 0, each on its own thread of the pool (range
// 0 on the caller's when there is one range). Exceptions are re-thrown.
void parallel_ranges(
    int64_t n, double cost_per_item,
    const std::function<void(int64_t begin, int64_t end, int range)>& body);

// While alive, BLAS calls made from this process run on one thread each (the
// kernels call BLAS from several pool threads at once and must not have each
// call spread over every core again). A no-op without OpenBLAS.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_ = 0;
};

}  // namespace theanine::detail
