// The CUDA runtime loaded by dlopen: absent libraries leave everything else
// working with clear errors; where a GPU is present (or the emulator of
// tests/cuda_emu stands in for one), device memory through the caching
// allocator, copies (pinned staging for large ones), stream timing, cuBLAS GEMM
// against a naive loop, and stream capture replayed as a graph.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "runtime/cuda_blas.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"
#include "tests/cpp/cuda_skip.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

TEST(CudaRuntime, AvailabilityAndItsReasonAgree) {
  const bool on = cuda_available();
  EXPECT_EQ(on, cuda_unavailable_reason().empty()) << cuda_unavailable_reason();
  EXPECT_EQ(nvrtc_available(), nvrtc_unavailable_reason().empty());
  if (on) return;
  // Without a device every entry point says why instead of crashing.
  testing::expect_error<Error>([] { cuda::driver(); }, {"CUDA is not available"});
  testing::expect_error<Error>([] { allocate_device(64); }, {"CUDA is not available"});
  testing::expect_error<Error>([] { cuda::device_info(); }, {"CUDA is not available"});
}

TEST(CudaRuntime, NvrtcTableIsCompleteWhereNvrtcIsFound) {
  SKIP_WITHOUT_NVRTC();
  const cuda::NvrtcApi& api = cuda::nvrtc();
  int major = 0, minor = 0;
  ASSERT_EQ(api.nvrtcVersion(&major, &minor), cuda::NVRTC_SUCCESS);
  EXPECT_GE(major, 12);
  int n = 0;
  ASSERT_EQ(api.nvrtcGetNumSupportedArchs(&n), cuda::NVRTC_SUCCESS);
  std::vector<int> archs(n);
  api.nvrtcGetSupportedArchs(archs.data());
  EXPECT_NE(std::find(archs.begin(), archs.end(), 90), archs.end()) << "no sm_90";
}

TEST(CudaRuntime, AFailedCallNamesTheCallAndTheError) {
  // CUDA_ERROR_INVALID_VALUE is 1; its name comes from the driver when loaded.
  testing::expect_error<Error>([] { cuda::check(1, "cuSomething", "doing it"); },
                               {"cuSomething failed", "while doing it"});
  if (cuda_available())
    testing::expect_error<Error>([] { cuda::check(1, "cuSomething"); },
                                 {"CUDA_ERROR_INVALID_VALUE"});
  EXPECT_NO_THROW(cuda::check(cuda::CUDA_SUCCESS, "cuSomething"));
}

TEST(CudaRuntime, GemmArgumentsAreCheckedBeforeAnyDeviceWork) {
  testing::expect_error<TypeError>(
      [] { cuda_gemm(DType::Int32, false, false, 2, 2, 2, 1, 0, 2, 0, 2, 0, 0, 2); },
      {"float32 or float64", "int32"});
  testing::expect_error<ValueError>(
      [] { cuda_gemm(DType::Float32, false, false, 4, 3, 5, 1, 0, 4, 0, 3, 0, 0, 3); },
      {"lda = 4", "row of 5"});
  testing::expect_error<ValueError>(
      [] { cuda_gemm(DType::Float32, false, true, 4, 3, 5, 1, 0, 5, 0, 3, 0, 0, 3); },
      {"ldb = 3", "row of 5"});
  testing::expect_error<ValueError>(
      [] {
        cuda_gemm(DType::Float64, false, false, int64_t(1) << 32, 1, 1, 1, 0, 1, 0, 1, 0,
                  0, 1);
      },
      {"m = 4294967296", "32-bit"});
}

// ---- on a GPU
// ----------------------------------------------------------------------------

TEST(CudaGpuRuntime, DeviceInfoDescribesARealDevice) {
  SKIP_WITHOUT_GPU();
  const cuda::DeviceInfo& d = cuda::device_info();
  EXPECT_FALSE(d.name.empty());
  EXPECT_GE(d.arch(), 50);
  EXPECT_GT(d.multiprocessors, 0);
  EXPECT_GE(d.max_threads_per_block, 256);
  EXPECT_GT(d.total_memory, size_t(1) << 30);
  std::printf("[ device   ] %s, sm_%d, %d SMs, %.1f GiB, driver %d\n", d.name.c_str(),
              d.arch(), d.multiprocessors, d.total_memory / double(1 << 30),
              d.driver_version);
}

TEST(CudaGpuRuntime, CopiesRoundTripSmallAndStagedSizes) {
  SKIP_WITHOUT_GPU();
  std::mt19937 rng(3);
  // Below the staging threshold, one chunk and a bit, several chunks and an odd tail.
  for (size_t n : {size_t(1), size_t(4097), cuda::kStagingThreshold + 7,
                   size_t(4) * (1 << 20) + 1, size_t(13) * (1 << 20) + 3}) {
    std::vector<unsigned char> src(n), back(n, 0);
    for (auto& b : src) b = static_cast<unsigned char>(rng());
    auto a = allocate_device(n), b = allocate_device(n);
    cuda::copy_to_device(device_address(a), src.data(), n);
    cuda::copy_device_to_device(device_address(b), device_address(a), n);
    cuda::copy_to_host(back.data(), device_address(b), n);
    EXPECT_EQ(std::memcmp(src.data(), back.data(), n), 0) << n << " bytes";
    cuda::memset_device(device_address(b), 0xab, n);
    cuda::copy_to_host(back.data(), device_address(b), n);
    EXPECT_EQ(back[0], 0xab);
    EXPECT_EQ(back[n - 1], 0xab);
  }
}

TEST(CudaGpuRuntime, ReleasedBlocksAreHandedOutAgain) {
  SKIP_WITHOUT_GPU();
  const size_t n = 3 << 20;
  uint64_t first;
  {
    auto a = allocate_device(n);
    first = device_address(a);
    EXPECT_EQ(first % 256, 0u);
    EXPECT_TRUE(cuda_allocator_owns(a));
  }
  CudaAllocatorStats before = cuda_allocator_stats();
  auto again = allocate_device(n - 100);  // the same size class
  CudaAllocatorStats after = cuda_allocator_stats();
  EXPECT_EQ(device_address(again), first);
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_GE(after.bytes_in_use, n - 100);
  EXPECT_FALSE(cuda_allocator_owns(std::shared_ptr<void>(nullptr, [](void*) {})));
}

TEST(CudaGpuRuntime, AnImpossibleAllocationIsAClearError) {
  SKIP_WITHOUT_GPU();
  testing::expect_error<Error>([] { allocate_device(size_t(1) << 45); },
                               {"out of GPU memory", "MiB free"});
}

TEST(CudaGpuRuntime, StreamTimerMeasuresQueuedWork) {
  SKIP_WITHOUT_GPU();
  auto a = allocate_device(64 << 20);
  cuda::StreamTimer t;
  t.start();
  for (int i = 0; i < 4; ++i) cuda::memset_device(device_address(a), i, 64 << 20);
  double ms = t.stop();
  EXPECT_GT(ms, 0.0);
  EXPECT_LT(ms, 1000.0);
}

template <class T>
void check_gemm(DType dt, bool ta, bool tb, double tol) {
  const int64_t m = 37, n = 23, k = 51;
  const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1,
                ldc = n + 2;  // padded rows
  const int64_t ra = ta ? k : m, rb = tb ? n : k;
  std::mt19937 rng(ta * 2 + tb);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> A(ra * lda), B(rb * ldb), C(m * ldc), out(m * ldc);
  for (auto& v : A) v = static_cast<T>(u(rng));
  for (auto& v : B) v = static_cast<T>(u(rng));
  for (auto& v : C) v = static_cast<T>(u(rng));
  auto at = [&](const std::vector<T>& X, int64_t ld, bool t, int64_t i, int64_t j) {
    return static_cast<double>(t ? X[j * ld + i] : X[i * ld + j]);
  };
  auto da = allocate_device(A.size() * sizeof(T)),
       db = allocate_device(B.size() * sizeof(T)),
       dc = allocate_device(C.size() * sizeof(T));
  cuda::copy_to_device(device_address(da), A.data(), A.size() * sizeof(T));
  cuda::copy_to_device(device_address(db), B.data(), B.size() * sizeof(T));
  cuda::copy_to_device(device_address(dc), C.data(), C.size() * sizeof(T));
  cuda_gemm(dt, ta, tb, m, n, k, 0.5, device_address(da), lda, device_address(db), ldb,
            2.0, device_address(dc), ldc);
  cuda::copy_to_host(out.data(), device_address(dc), out.size() * sizeof(T));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      if (j >= n) {  // the padding is not written
        EXPECT_EQ(out[i * ldc + j], C[i * ldc + j]);
        continue;
      }
      double want = 2.0 * C[i * ldc + j];
      double dot = 0;
      for (int64_t p = 0; p < k; ++p) dot += at(A, lda, ta, i, p) * at(B, ldb, tb, p, j);
      want += 0.5 * dot;
      EXPECT_NEAR(out[i * ldc + j], want, tol)
          << "ta " << ta << " tb " << tb << " at " << i << "," << j;
    }
}

TEST(CudaGpuRuntime, GemmMatchesANaiveLoopForEveryTransposeAndBothFloatDtypes) {
  SKIP_WITHOUT_GPU();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm<float>(DType::Float32, ta, tb, 2e-5);
      check_gemm<double>(DType::Float64, ta, tb, 1e-12);
    }
  // TF32 is an opt-in with its own, looser accuracy.
  set_cuda_gemm_tf32(true);
  check_gemm<float>(DType::Float32, false, true, 2e-2);
  set_cuda_gemm_tf32(false);
}

TEST(CudaGpuRuntime, OptionalEntryPointsAreBoundWhereTheLibrariesHaveThem) {
  SKIP_WITHOUT_GPU();
  const cuda::DriverApi& d = cuda::driver();
  // Graphs: all or nothing, and what cuda_graphs_available() says.
  const bool graphs = d.cuStreamBeginCapture != nullptr;
  EXPECT_EQ(graphs, cuda_graphs_available());
  EXPECT_EQ(graphs, d.cuStreamEndCapture && d.cuGraphInstantiate && d.cuGraphLaunch &&
                        d.cuGraphExecDestroy && d.cuGraphDestroy);
  // CUDA 12 and later have them all (the versions theanine looks for).
  EXPECT_TRUE(graphs);
  const cuda::CublasApi& b = cuda::cublas();
  EXPECT_NE(b.cublasSgemmStridedBatched, nullptr);
  EXPECT_NE(b.cublasDgemmStridedBatched, nullptr);
  EXPECT_NE(b.cublasSgemv, nullptr);
  EXPECT_NE(b.cublasDgemv, nullptr);
}

TEST(CudaGpuRuntime, ACapturedStreamReplaysItsWorkAsAGraph) {
  SKIP_WITHOUT_GPU();
  if (!cuda_graphs_available()) GTEST_SKIP() << "this driver has no graphs";
  const cuda::DriverApi& d = cuda::driver();
  cuda::CUstream s = nullptr;
  cuda::check(d.cuStreamCreate(&s, cuda::CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  const size_t n = 4096;
  auto a = allocate_device(n), b = allocate_device(n);
  cuda::memset_device(device_address(a), 0, n);
  cuda::memset_device(device_address(b), 0, n);
  cuda::synchronize();
  // Captured, not run: a memset of a, then a copy of a into b.
  cuda::check(d.cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_GLOBAL),
              "cuStreamBeginCapture");
  cuda::check(d.cuMemsetD8Async(device_address(a), 0x5a, n, s), "cuMemsetD8Async");
  cuda::check(d.cuMemcpyDtoDAsync(device_address(b), device_address(a), n, s),
              "cuMemcpyDtoDAsync");
  cuda::CUgraph graph = nullptr;
  cuda::check(d.cuStreamEndCapture(s, &graph), "cuStreamEndCapture");
  std::vector<unsigned char> host(n, 1);
  cuda::copy_to_host(host.data(), device_address(b), n);
  EXPECT_EQ(host[0], 0);  // nothing ran yet
  cuda::CUgraphExec exec = nullptr;
  cuda::check(d.cuGraphInstantiate(&exec, graph, 0), "cuGraphInstantiate");
  for (int round = 0; round < 2; ++round) {
    cuda::memset_device(device_address(b), 0, n);
    cuda::synchronize();
    cuda::check(d.cuGraphLaunch(exec, s), "cuGraphLaunch");
    cuda::check(d.cuStreamSynchronize(s), "cuStreamSynchronize");
    cuda::copy_to_host(host.data(), device_address(b), n);
    EXPECT_EQ(host[0], 0x5a) << round;
    EXPECT_EQ(host[n - 1], 0x5a) << round;
  }
  // Waiting for a capturing stream is refused and breaks the capture.
  cuda::check(d.cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_GLOBAL),
              "cuStreamBeginCapture");
  EXPECT_NE(d.cuStreamSynchronize(s), cuda::CUDA_SUCCESS);
  cuda::CUgraph broken = nullptr;
  EXPECT_NE(d.cuStreamEndCapture(s, &broken), cuda::CUDA_SUCCESS);
  EXPECT_EQ(broken, nullptr);
  EXPECT_EQ(d.cuGraphExecDestroy(exec), cuda::CUDA_SUCCESS);
  EXPECT_EQ(d.cuGraphDestroy(graph), cuda::CUDA_SUCCESS);
  EXPECT_EQ(d.cuStreamDestroy(s), cuda::CUDA_SUCCESS);
}

}  // namespace
}  // namespace theanine
