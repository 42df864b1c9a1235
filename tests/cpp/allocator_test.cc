#include "runtime/allocator.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "codegen/function.h"
#include "ops/blas.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/operators.h"
#include "ops/reduce.h"
#include "runtime/ndarray.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

using namespace testing;

NDArray filled(const Shape& shape, double v) {
  NDArray a = NDArray::empty(DType::Float64, shape);
  for (int64_t i = 0; i < a.size(); ++i) a.set_item_double(i, v + 0.001 * (i % 7));
  return a;
}

TEST(Allocator, ReleasedBufferIsReusedForTheSameSizeClass) {
  const void* first;
  {
    NDArray a = NDArray::empty(DType::Float32, {1000});
    first = a.raw();
  }
  AllocatorStats before = allocator_stats();
  NDArray b = NDArray::empty(DType::Float32, {1001});  // 4004 bytes: same class
  AllocatorStats after = allocator_stats();
  EXPECT_EQ(b.raw(), first);
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_EQ(after.fresh, before.fresh);
  EXPECT_EQ(after.bytes_cached + 4032, before.bytes_cached);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use + 4032);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.raw()) % 64, 0u);
  EXPECT_TRUE(allocator_owns(b.buffer()->keepalive));
}

TEST(Allocator, BorrowedMemoryIsNeverRecycled) {
  std::vector<float> storage(256, 1.0f);
  AllocatorStats before = allocator_stats();
  {
    NDArray a = NDArray::borrow(storage.data(), DType::Float32, {256}, {1}, nullptr,
                                storage.size() * sizeof(float));
    EXPECT_FALSE(allocator_owns(a.buffer()->keepalive));
  }
  AllocatorStats after = allocator_stats();
  EXPECT_EQ(after.bytes_cached, before.bytes_cached);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  NDArray fresh = NDArray::empty(DType::Float32, {256});
  EXPECT_NE(fresh.raw(), static_cast<void*>(storage.data()));
}

TEST(Allocator, CacheIsCapped) {
  const size_t limit = allocator_stats().cache_limit;
  set_allocator_cache_limit(64 << 10);
  EXPECT_LE(allocator_stats().bytes_cached, size_t(64 << 10));
  {
    std::vector<NDArray> arrays;
    for (int i = 0; i < 8; ++i) arrays.push_back(NDArray::empty(DType::Float64, {4096}));
  }  // 8 x 32 KiB given back: at most two stay cached
  EXPECT_LE(allocator_stats().bytes_cached, size_t(64 << 10));
  release_allocator_cache();
  EXPECT_EQ(allocator_stats().bytes_cached, 0u);
  set_allocator_cache_limit(limit);
}

TEST(Allocator, ConcurrentUseKeepsTheBooksBalanced) {
  const size_t in_use = allocator_stats().bytes_in_use;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 2000; ++i) {
        NDArray a = NDArray::empty(DType::Float32, {(i * 37 + t) % 3000});
        NDArray b = NDArray::empty(DType::Int64, {i % 50});
        if (a.size()) a.data<float>()[0] = 1.0f;
      }
    });
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(allocator_stats().bytes_in_use, in_use);
}

// Peak bytes during a call of a chain of `depth` elementwise nodes.
size_t chain_peak(int depth, const std::string& mode) {
  Var x = input(DType::Float64, {-1}, "x");
  Var y = x;
  for (int i = 0; i < depth; ++i) y = i % 2 ? sin(y) : cos(y);
  FunctionOptions o;
  o.mode = mode;
  Function f = function({x}, {y}, {}, o);
  NDArray xv = filled({1 << 16}, 0.5);  // 512 KiB
  f({xv});                              // warm the cache
  const size_t base = allocator_stats().bytes_in_use;
  reset_allocator_peak();
  NDArray r = f({xv}).at(0);
  return allocator_stats().peak_bytes_in_use - base;
}

TEST(Allocator, PeakOfADeepElementwiseChainDoesNotGrowWithDepth) {
  const size_t buffer = size_t(1) << 19;
  for (const char* mode : {"NO_OPTIMIZATION", "FAST_RUN"}) {
    size_t shallow = chain_peak(4, mode), deep = chain_peak(64, mode);
    EXPECT_LE(deep, 2 * buffer + 4096) << mode;
    EXPECT_LE(deep, shallow + 4096) << mode;
  }
}

TEST(Allocator, TrainingStepStopsAllocatingAfterTheFirstCall) {
  Var x = input(DType::Float64, {-1, 20}, "x");
  Var t = input(DType::Float64, {-1, 5}, "t");
  Var w1 = make_shared(filled({20, 16}, 0.01), "w1");
  Var b1 = make_shared(filled({16}, 0.0), "b1");
  Var w2 = make_shared(filled({16, 5}, -0.01), "w2");
  Var h = tanh(dot(x, w1) + b1);
  Var y = dot(h, w2);
  Var cost = mean(sqr(y - t));
  std::vector<Var> g = grad(cost, {w1, b1, w2});
  Updates updates;
  std::vector<Var> params{w1, b1, w2};
  for (size_t i = 0; i < params.size(); ++i)
    updates.push_back({params[i], params[i] - g[i] * 0.1});
  Function step = function({x, t}, {cost}, updates);
  NDArray xv = filled({32, 20}, 0.3), tv = filled({32, 5}, 0.2);
  step({xv, tv});
  step({xv, tv});
  AllocatorStats before = allocator_stats();
  for (int i = 0; i < 5; ++i) step({xv, tv});
  AllocatorStats after = allocator_stats();
  EXPECT_GT(after.allocations, before.allocations);
  EXPECT_EQ(after.fresh, before.fresh)
      << (after.allocations - before.allocations) << " allocations";
  // Updates go to recycled buffers (never the parameters' own: atomicity).
  EXPECT_EQ(step.rewrite_stats().count("inplace_update"), 0u);
}

}  // namespace
}  // namespace theanine
