#pragma once
// The process-wide pool compiled kernels split their outer loop across.
//
// Workers block on a condition variable between jobs (after a short spin), so
// while OpenBLAS runs a GEMM — never at the same time as a kernel, since a
// Program runs its instructions in order — they hold no core. The pool and
// OpenBLAS use the same thread count (THEANINE_NUM_THREADS, else
// OMP_NUM_THREADS, else the number of cores), so neither oversubscribes.
#include <cstdint>
#include <functional>

namespace theanine {

// Threads kernels use, the caller included.
int num_threads();
// Sets the thread count of the pool and of every listener (>= 1).
void set_num_threads(int n);
// Called now with the current count and again whenever it changes: how the
// BLAS library (ops/, which links it) follows the pool's count.
void add_thread_count_listener(void (*listener)(int));

// Calls fn(begin, end) on disjoint chunks covering [0, n), in parallel when
// `work` (an estimate of elements touched) is at least `grain`; the calling
// thread takes a chunk too. Exceptions from fn are rethrown in the caller.
void parallel_for(int64_t n, int64_t work,
                  const std::function<void(int64_t, int64_t)>& fn,
                  int64_t grain = 1 << 15);

}  // namespace theanine
