// The kernel thread pool: every index covered once, back-to-back jobs of
// different sizes (a worker waking late must not run a finished job's task),
// exceptions passed to the caller.
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace theanine {
namespace {

TEST(ThreadPool, ManyBackToBackJobsCoverEveryIndexOnce) {
  const int before = num_threads();
  set_num_threads(4);
  for (int job = 0; job < 3000; ++job) {
    const int64_t n = 1 + job % 7;
    std::vector<std::atomic<int>> hits(n);
    parallel_for(n, 1 << 20, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "job " << job;
  }
  set_num_threads(before);
}

TEST(ThreadPool, SmallWorkRunsInTheCallerAndExceptionsReachIt) {
  int calls = 0;
  parallel_for(10, 5, [&](int64_t b, int64_t e) {
    ++calls;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 10);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(parallel_for(8, 1 << 20,
                            [&](int64_t b, int64_t) {
                              if (b > 0) throw std::runtime_error("chunk failed");
                            }),
               std::runtime_error);
}

TEST(ThreadPool, NestedParallelForRunsInPlaceInsteadOfDeadlocking) {
  std::atomic<int64_t> total{0};
  parallel_for(4, 1 << 20, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      parallel_for(100, 1 << 20, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 400);
}

}  // namespace
}  // namespace theanine
