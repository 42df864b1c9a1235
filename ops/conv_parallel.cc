#include "ops/conv_parallel.h"

#include <algorithm>

#include "runtime/thread_pool.h"

#ifdef THEANINE_HAVE_BLAS
#include <cblas.h>
#endif

namespace theanine::detail {

namespace {
// Below this much work (in cheap memory operations) a thread costs more than it
// saves.
constexpr double kGrain = 100000;
}  // namespace

int parallel_range_count(int64_t n, double cost_per_item) {
  if (n <= 1) return 1;
  const double work = static_cast<double>(n) * cost_per_item;
  const int64_t by_work = static_cast<int64_t>(work / kGrain);
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>({num_threads(), n, by_work})));
}

void parallel_ranges(int64_t n, double cost_per_item,
                     const std::function<void(int64_t, int64_t, int)>& body) {
  if (n <= 0) return;
  const int ranges = parallel_range_count(n, cost_per_item);
  if (ranges == 1) {
    body(0, n, 0);
    return;
  }
  // No more ranges than threads, so the pool hands each range to one call.
  parallel_for(
      ranges, INT64_MAX,
      [&](int64_t first, int64_t last) {
        for (int64_t k = first; k < last; ++k)
          body(n * k / ranges, n * (k + 1) / ranges, static_cast<int>(k));
      },
      /*grain=*/1);
}

SingleThreadedBlas::SingleThreadedBlas() {
#ifdef THEANINE_HAVE_BLAS
  saved_ = openblas_get_num_threads();
  if (saved_ != 1) openblas_set_num_threads(1);
#endif
}

SingleThreadedBlas::~SingleThreadedBlas() {
#ifdef THEANINE_HAVE_BLAS
  if (saved_ != 1) openblas_set_num_threads(saved_);
#endif
}

}  // namespace theanine::detail
