// The CUDA emulator itself, for what theanine's CUDA tests do not reach: memory
// accounting and its errors, kernels with several parameters of several kinds,
// 2-D and 3-D geometry, dynamic shared memory, barriers and warp operations, a
// barrier that cannot complete, graph capture and replay with CUDA's capture
// rules, cuBLAS's batched GEMM and GEMV, TF32, and the text steps of the module
// build. Run through run_emulated.sh (ctest -L cuda_emu); everything goes
// through theanine's tables (runtime/cuda_driver.h), so the binding is tested too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runtime/cuda_driver.h"
#include "tests/cpp/cuda_skip.h"
#include "tests/cuda_emu/module_source.h"

namespace theanine {
namespace {

using cuda::CUdeviceptr;
using cuda::CUresult;

constexpr CUresult kInvalidValue = 1, kOutOfMemory = 2, kNotFound = 500,
                   kLaunchFailed = 719, kCaptureUnsupported = 900,
                   kCaptureInvalidated = 901;

// ---- the module build's text steps (no compiler)
// -----------------------------------------

TEST(CudaEmuSource, KernelsAreFoundAfterPreprocessingWithTheirLinkageAndNamespace) {
  const std::string ii = R"(
# 1 "x.cu"
struct S { int a; };
extern "C" __attribute__((th_emu_global)) void plain(S s, float* p) { p[0] = s.a; }
extern "C" __attribute__((th_emu_global)) void declared_only(int);
__attribute__((th_emu_global)) void cpp_linkage(int) {}
extern "C" {
__attribute__((th_emu_global)) void in_block(int n) { if (n) { } }
}
namespace outer { namespace inner {
extern "C" __attribute__((th_emu_global)) void __attribute__((noinline)) nested(int) {}
} }
namespace { extern "C" __attribute__((th_emu_global)) void hidden(int) {} }
const char* s = "extern \"C\" __attribute__((th_emu_global)) void in_string() {}";
// extern "C" __attribute__((th_emu_global)) void in_comment() {}
)";
  EXPECT_EQ(
      cuda_emu::find_kernels(ii),
      (std::vector<std::string>{"::plain", "::in_block", "::outer::inner::nested"}));
  const std::string launchers = cuda_emu::launcher_source({"::outer::inner::nested"});
  EXPECT_NE(launchers.find("nested__th_emu_bind(void** params) { return "
                           "th_emu::bind(&::outer::inner::nested, params); }"),
            std::string::npos)
      << launchers;
}

TEST(CudaEmuSource, DynamicSharedDeclarationsBecomePointersOnTheSameLines) {
  const std::string src =
      "extern __shared__ __align__(16) unsigned char raw[];\n"
      "__global__ void k() {\n"
      "  extern   __shared__\n   float tile [ ];\n"
      "  __shared__ int fixed[4];\n"
      "}\n";
  const std::string out = cuda_emu::rewrite_dynamic_shared(src);
  EXPECT_NE(
      out.find("static thread_local unsigned char* const raw = static_cast<unsigned "
               "char*>(th_emu_dynamic_shared());"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("static thread_local float* const tile = "
                     "static_cast<float*>(th_emu_dynamic_shared());\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("__shared__ int fixed[4];"),
            std::string::npos);  // static: untouched
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'),
            std::count(src.begin(), src.end(), '\n'));
}

TEST(CudaEmuSource, DiagnosticsTakeNvrtcsForm) {
  EXPECT_EQ(cuda_emu::nvrtc_style_log("prog k.cu:2:14: error: 'x' was not declared\n"
                                      "In file included from a.h:3:\n"),
            "prog k.cu(2): error: 'x' was not declared\nIn file included from a.h:3:\n");
}

// ---- the device
// ---------------------------------------------------------------------------

class CudaEmu : public ::testing::Test {
 protected:
  void SetUp() override {
    THEANINE_CUDA_SKIP_UNLESS(cuda_available(),
                              "no CUDA device: " + cuda_unavailable_reason());
    ASSERT_EQ(cuda::device_info().name, "theanine CUDA emulator")
        << "run with THEANINE_CUDA_EMULATOR naming libtheanine_cuda_emu.so";
  }
  const cuda::DriverApi& d() { return cuda::driver(); }

  // Device memory, freed by the test's end.
  CUdeviceptr alloc(size_t n) {
    CUdeviceptr p = 0;
    EXPECT_EQ(d().cuMemAlloc(&p, n), cuda::CUDA_SUCCESS);
    blocks_.push_back(p);
    return p;
  }
  void TearDown() override {
    for (CUdeviceptr p : blocks_) d().cuMemFree(p);
  }
  template <class T>
  std::vector<T> read(CUdeviceptr p, size_t n) {
    std::vector<T> v(n);
    cuda::check(d().cuMemcpyDtoHAsync(v.data(), p, n * sizeof(T), nullptr), "DtoH");
    return v;
  }
  template <class T>
  CUdeviceptr upload(const std::vector<T>& v) {
    CUdeviceptr p = alloc(v.size() * sizeof(T));
    cuda::check(d().cuMemcpyHtoDAsync(p, v.data(), v.size() * sizeof(T), nullptr),
                "HtoD");
    return p;
  }

  std::vector<CUdeviceptr> blocks_;
};

TEST_F(CudaEmu, DescribesItselfAsTheBriefSays) {
  const cuda::DeviceInfo& info = cuda::device_info();
  EXPECT_EQ(info.arch(), 90);
  EXPECT_EQ(info.multiprocessors, 4);
  EXPECT_EQ(info.max_threads_per_block, 1024);
  EXPECT_EQ(info.driver_version, 13000);
  int major = 0, minor = 0;
  cuda::nvrtc().nvrtcVersion(&major, &minor);
  EXPECT_EQ(major, 99);  // no real NVRTC: disk cache keys never collide
  EXPECT_TRUE(cuda_graphs_available());
  const cuda::CublasApi& b = cuda::cublas();
  EXPECT_TRUE(b.cublasSgemmStridedBatched && b.cublasDgemmStridedBatched &&
              b.cublasSgemv && b.cublasDgemv);
}

TEST_F(CudaEmu, MemoryIsAccountedAndItsErrorsAreCudas) {
  size_t free0 = 0, total = 0;
  ASSERT_EQ(d().cuMemGetInfo(&free0, &total), cuda::CUDA_SUCCESS);
  EXPECT_EQ(total, cuda::device_info().total_memory);
  const CUdeviceptr a = alloc(1000);  // rounded to 256
  EXPECT_EQ(a % 256, 0u);
  size_t free1 = 0;
  d().cuMemGetInfo(&free1, &total);
  EXPECT_EQ(free0 - free1, 1024u);
  // Beyond what is free: out of memory, and nothing changes.
  CUdeviceptr big = 0;
  EXPECT_EQ(d().cuMemAlloc(&big, free1 + 1), kOutOfMemory);
  size_t free2 = 0;
  d().cuMemGetInfo(&free2, &total);
  EXPECT_EQ(free2, free1);
  // Fresh memory reads as 0xff bytes: NaN as float.
  EXPECT_TRUE(std::isnan(read<float>(a, 1)[0]));
  // Freeing what cuMemAlloc did not return.
  int on_stack = 0;
  EXPECT_EQ(d().cuMemFree(a + 256), kInvalidValue);
  EXPECT_EQ(d().cuMemFree(reinterpret_cast<CUdeviceptr>(&on_stack)), kInvalidValue);
  CUdeviceptr b = 0;
  ASSERT_EQ(d().cuMemAlloc(&b, 64), cuda::CUDA_SUCCESS);
  EXPECT_EQ(d().cuMemFree(b), cuda::CUDA_SUCCESS);
  EXPECT_EQ(d().cuMemFree(b), kInvalidValue);  // twice
  // Copies and memsets stay inside one allocation.
  std::vector<char> host(2048);
  EXPECT_EQ(d().cuMemcpyHtoDAsync(a, host.data(), 1025, nullptr), kInvalidValue);
  EXPECT_EQ(d().cuMemsetD8Async(a + 1000, 0, 100, nullptr), kInvalidValue);
  EXPECT_EQ(d().cuMemcpyHtoDAsync(a + 24, host.data(), 1000, nullptr),
            cuda::CUDA_SUCCESS);
}

// ---- kernels
// --------------------------------------------------------------------------------

// One module for every kernel below: a host compile costs about a second.
const char* kKernels = R"(
struct Pair { int i; double d; };
#define SQUARE(x) ((x) * (x))

// Several parameters of several kinds, a 3-D grid of 2-D blocks.
extern "C" __global__ void mixed(int n, float a, const float* __restrict__ x, double* y,
                                 Pair p, char tag) {
  const unsigned bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned t = threadIdx.x + blockDim.x * threadIdx.y;
  const unsigned i = bx * blockDim.x * blockDim.y + t;
  if (i < unsigned(n)) y[i] = a * x[i] + p.d * p.i + tag + SQUARE(threadIdx.y);
}

// Dynamic shared memory, declared in the kernel and at namespace scope: each
// block reverses its slice through it.
extern __shared__ float ns_tile[];
extern "C" __global__ void reverse_blocks(const float* in, float* out, int use_namespace_tile) {
  extern __shared__ __align__(16) unsigned char raw[];
  float* tile = use_namespace_tile ? ns_tile : reinterpret_cast<float*>(raw);
  const unsigned base = blockIdx.x * blockDim.x;
  tile[threadIdx.x] = in[base + threadIdx.x];
  __syncthreads();
  out[base + threadIdx.x] = tile[blockDim.x - 1 - threadIdx.x];
}

// A block sum through warp shuffles and static shared memory, plus the votes;
// and a butterfly (xor) sum every lane ends with, whose partners of the last
// step finish before they are read from.
extern "C" __global__ void block_sums(const int* in, int* sums, int* counts, unsigned* ballots,
                                      int* butterfly, int* all_positive) {
  __shared__ int partial[32];
  const unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  int v = in[i], x = in[i];
  for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
  for (int d = 1; d < 32; d *= 2) x += __shfl_xor_sync(0xffffffffu, x, d);
  butterfly[i] = x;
  all_positive[i] = __all_sync(0xffffffffu, in[i] > -90);
  if (t % 32 == 0) partial[t / 32] = v;
  const int positive = __syncthreads_count(in[i] > 0);
  const unsigned ballot = __ballot_sync(0xffffffffu, in[i] > 0);
  if (t % 32 == 0) ballots[i / 32] = ballot;
  if (t == 0) {
    int s = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) s += partial[w];
    sums[blockIdx.x] = s;
    counts[blockIdx.x] = positive;
  }
}

// Half a warp waits in __syncthreads, the other half in a warp barrier: a hang
// on a GPU, an error here.
extern "C" __global__ void deadlock(int* p) {
  if (threadIdx.x < 16) __syncthreads(); else __syncwarp();
  p[threadIdx.x] = 1;
}

// Atomics from many blocks at once (they may run on several OS threads).
extern "C" __global__ void histogram(const int* in, int n, int* bins, float* total) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    atomicAdd(&bins[in[i] & 15], 1);
    atomicAdd(total, 0.5f);
  }
}

// y = y * 2 + k, for the graph test.
extern "C" __global__ void scale_add(float* y, int n, float k) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    y[i] = y[i] * 2 + k;
}

#define MAKE_KERNEL(name) extern "C" __global__ void name(int* p) { p[0] = 7; }
MAKE_KERNEL(made_by_a_macro)
#if 0
extern "C" __global__ void compiled_out(int* p) { p[0] = 1; }
#endif
)";

class CudaEmuKernels : public CudaEmu {
 protected:
  void SetUp() override {
    CudaEmu::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    if (!module_) module_ = compile_and_load(kKernels, "emu_kernels.cu");
    ASSERT_NE(module_, nullptr);
  }

  static cuda::CUmodule compile_and_load(const std::string& src,
                                         const std::string& name) {
    const cuda::NvrtcApi& n = cuda::nvrtc();
    cuda::nvrtcProgram prog = nullptr;
    cuda::check_nvrtc(
        n.nvrtcCreateProgram(&prog, src.c_str(), name.c_str(), 0, nullptr, nullptr),
        "nvrtcCreateProgram");
    const char* opts[] = {"--gpu-architecture=sm_90", "--std=c++17", "--fmad=false"};
    const cuda::nvrtcResult r = n.nvrtcCompileProgram(prog, 3, opts);
    size_t log_size = 0;
    n.nvrtcGetProgramLogSize(prog, &log_size);
    std::string log(log_size, '\0');
    n.nvrtcGetProgramLog(prog, log.data());
    EXPECT_EQ(r, cuda::NVRTC_SUCCESS) << log;
    size_t size = 0;
    n.nvrtcGetCUBINSize(prog, &size);
    std::string image(size, '\0');
    n.nvrtcGetCUBIN(prog, image.data());
    n.nvrtcDestroyProgram(&prog);
    cuda::CUmodule m = nullptr;
    if (r == cuda::NVRTC_SUCCESS)
      cuda::check(cuda::driver().cuModuleLoadData(&m, image.data()), "cuModuleLoadData");
    return m;
  }

  cuda::CUfunction fn(const char* name) {
    cuda::CUfunction f = nullptr;
    cuda::check(d().cuModuleGetFunction(&f, module_, name), "cuModuleGetFunction", name);
    return f;
  }

  CUresult launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                  unsigned by, unsigned shared, std::vector<void*> args,
                  cuda::CUstream s = nullptr) {
    return d().cuLaunchKernel(fn(name), gx, gy, gz, bx, by, 1, shared,
                              s ? s : cuda::stream(), args.data(), nullptr);
  }

  static cuda::CUmodule module_;
};
cuda::CUmodule CudaEmuKernels::module_ = nullptr;

TEST_F(CudaEmuKernels, ParametersOfEveryKindAndA3DGrid) {
  struct Pair {
    int i;
    double d;
  };
  const int n = 3 * 2 * 2 * 32 * 4 - 50;  // the last block is partly idle
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = 0.25f * float(i) - 7;
  CUdeviceptr dx = upload(x), dy = alloc(n * sizeof(double));
  float a = 1.5f;
  Pair p{3, 0.125};
  char tag = 5;
  int nn = n;
  ASSERT_EQ(launch("mixed", 3, 2, 2, 32, 4, 0, {&nn, &a, &dx, &dy, &p, &tag}),
            cuda::CUDA_SUCCESS);
  std::vector<double> y = read<double>(dy, n);
  for (int i = 0; i < n; ++i) {
    const int ty = (i % 128) / 32;  // threadIdx.y of element i
    ASSERT_EQ(y[i], double(a * x[i]) + 0.125 * 3 + 5 + ty * ty) << i;
  }
}

TEST_F(CudaEmuKernels, DynamicSharedMemoryInAKernelAndAtNamespaceScope) {
  const unsigned block = 96, blocks = 5;
  std::vector<float> in(block * blocks);
  for (size_t i = 0; i < in.size(); ++i) in[i] = float(i);
  CUdeviceptr din = upload(in), dout = alloc(in.size() * sizeof(float));
  for (int ns : {0, 1}) {
    ASSERT_EQ(launch("reverse_blocks", blocks, 1, 1, block, 1, block * sizeof(float),
                     {&din, &dout, &ns}),
              cuda::CUDA_SUCCESS);
    std::vector<float> out = read<float>(dout, in.size());
    for (unsigned b = 0; b < blocks; ++b)
      for (unsigned t = 0; t < block; ++t)
        ASSERT_EQ(out[b * block + t], in[b * block + block - 1 - t])
            << ns << " " << b << " " << t;
  }
  // More than the 48 KiB a kernel gets without opting in.
  int ns = 0;
  EXPECT_EQ(launch("reverse_blocks", 1, 1, 1, 32, 1, 49 << 10, {&din, &dout, &ns}),
            kInvalidValue);
}

TEST_F(CudaEmuKernels, WarpShufflesBarriersAndVotes) {
  const unsigned block = 256, blocks = 7;
  std::mt19937 rng(11);
  std::vector<int> in(block * blocks);
  for (int& v : in) v = int(rng() % 201) - 100;
  CUdeviceptr din = upload(in), sums = alloc(blocks * 4), counts = alloc(blocks * 4),
              ballots = alloc(in.size() / 32 * 4), butterfly = alloc(in.size() * 4),
              all = alloc(in.size() * 4);
  ASSERT_EQ(launch("block_sums", blocks, 1, 1, block, 1, 0,
                   {&din, &sums, &counts, &ballots, &butterfly, &all}),
            cuda::CUDA_SUCCESS);
  std::vector<int> s = read<int>(sums, blocks), c = read<int>(counts, blocks);
  std::vector<unsigned> bl = read<unsigned>(ballots, in.size() / 32);
  std::vector<int> bf = read<int>(butterfly, in.size()), al = read<int>(all, in.size());
  for (size_t w = 0; w < in.size() / 32; ++w) {
    int want = 0, all_above = 1;
    for (unsigned l = 0; l < 32; ++l) {
      want += in[w * 32 + l];
      all_above &= in[w * 32 + l] > -90;
    }
    for (unsigned l = 0; l < 32; ++l) {
      ASSERT_EQ(bf[w * 32 + l], want) << "warp " << w << " lane " << l;
      ASSERT_EQ(al[w * 32 + l], all_above) << "warp " << w << " lane " << l;
    }
  }
  for (unsigned b = 0; b < blocks; ++b) {
    int want = 0, positive = 0;
    for (unsigned t = 0; t < block; ++t) {
      want += in[b * block + t];
      positive += in[b * block + t] > 0;
    }
    EXPECT_EQ(s[b], want) << b;
    EXPECT_EQ(c[b], positive) << b;
  }
  for (size_t w = 0; w < bl.size(); ++w) {
    unsigned want = 0;
    for (unsigned l = 0; l < 32; ++l) want |= unsigned(in[w * 32 + l] > 0) << l;
    EXPECT_EQ(bl[w], want) << w;
  }
}

TEST_F(CudaEmuKernels, AtomicsFromManyBlocksAddUp) {
  const int n = 100000;
  std::vector<int> in(n);
  std::vector<int> want(16, 0);
  for (int i = 0; i < n; ++i) {
    in[i] = i * 7 + 3;
    ++want[in[i] & 15];
  }
  CUdeviceptr din = upload(in), bins = upload(std::vector<int>(16, 0)),
              total = upload(std::vector<float>{0.0f});
  int nn = n;
  ASSERT_EQ(launch("histogram", 64, 1, 1, 128, 1, 0, {&din, &nn, &bins, &total}),
            cuda::CUDA_SUCCESS);
  EXPECT_EQ(read<int>(bins, 16), want);
  EXPECT_EQ(read<float>(total, 1)[0], 0.5f * n);
}

TEST_F(CudaEmuKernels, ABarrierThatCannotCompleteFailsTheLaunch) {
  CUdeviceptr p = alloc(32 * 4);
  EXPECT_EQ(launch("deadlock", 1, 1, 1, 32, 1, 0, {&p}), kLaunchFailed);
}

TEST_F(CudaEmuKernels, KernelsAreFoundAfterThePreprocessor) {
  cuda::CUfunction f = nullptr;
  EXPECT_EQ(d().cuModuleGetFunction(&f, module_, "compiled_out"), kNotFound);
  CUdeviceptr p = alloc(4);
  ASSERT_EQ(launch("made_by_a_macro", 1, 1, 1, 1, 1, 0, {&p}), cuda::CUDA_SUCCESS);
  EXPECT_EQ(read<int>(p, 1)[0], 7);
}

TEST_F(CudaEmuKernels, ACapturedGraphReplaysWithTheArgumentsOfTheCapture) {
  ASSERT_TRUE(cuda_graphs_available());
  const int n = 1000;
  cuda::CUstream s = nullptr;
  ASSERT_EQ(d().cuStreamCreate(&s, cuda::CU_STREAM_NON_BLOCKING), cuda::CUDA_SUCCESS);
  // Host ends in pinned memory: a graph's copies read and write them at each replay.
  float *in = nullptr, *out = nullptr;
  ASSERT_EQ(d().cuMemAllocHost(reinterpret_cast<void**>(&in), n * 4), cuda::CUDA_SUCCESS);
  ASSERT_EQ(d().cuMemAllocHost(reinterpret_cast<void**>(&out), n * 4),
            cuda::CUDA_SUCCESS);
  for (int i = 0; i < n; ++i) in[i] = float(i);
  std::fill(out, out + n, -1.0f);
  CUdeviceptr y = alloc(n * 4);
  ASSERT_EQ(d().cuMemsetD8Async(y, 0, n * 4, s), cuda::CUDA_SUCCESS);

  ASSERT_EQ(d().cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_GLOBAL),
            cuda::CUDA_SUCCESS);
  ASSERT_EQ(d().cuMemcpyHtoDAsync(y, in, n * 4, s), cuda::CUDA_SUCCESS);
  int nn = n;
  float k = 3;
  ASSERT_EQ(launch("scale_add", 2, 1, 1, 128, 1, 0, {&y, &nn, &k}, s),
            cuda::CUDA_SUCCESS);
  k = 1000;  // the capture copied the arguments
  ASSERT_EQ(d().cuMemcpyDtoHAsync(out, y, n * 4, s), cuda::CUDA_SUCCESS);
  cuda::CUgraph graph = nullptr;
  ASSERT_EQ(d().cuStreamEndCapture(s, &graph), cuda::CUDA_SUCCESS);
  // Nothing ran yet.
  EXPECT_EQ(out[5], -1.0f);
  EXPECT_EQ(read<float>(y, 1)[0], 0.0f);

  cuda::CUgraphExec exec = nullptr;
  ASSERT_EQ(d().cuGraphInstantiate(&exec, graph, 0), cuda::CUDA_SUCCESS);
  ASSERT_EQ(d().cuGraphDestroy(graph), cuda::CUDA_SUCCESS);  // the exec stands alone
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < n; ++i) in[i] = float(i + round);
    ASSERT_EQ(d().cuGraphLaunch(exec, s), cuda::CUDA_SUCCESS);
    ASSERT_EQ(d().cuStreamSynchronize(s), cuda::CUDA_SUCCESS);
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(out[i], float(i + round) * 2 + 3) << round << " " << i;
  }
  EXPECT_EQ(d().cuGraphExecDestroy(exec), cuda::CUDA_SUCCESS);
  d().cuMemFreeHost(in);
  d().cuMemFreeHost(out);
}

TEST_F(CudaEmuKernels, CaptureKeepsCudasRules) {
  cuda::CUstream s = nullptr;
  ASSERT_EQ(d().cuStreamCreate(&s, cuda::CU_STREAM_NON_BLOCKING), cuda::CUDA_SUCCESS);
  cuda::CUgraph graph = nullptr;
  // Not on the legacy stream.
  EXPECT_EQ(d().cuStreamBeginCapture(nullptr, 0), kCaptureUnsupported);
  // Waiting for the capturing stream breaks the capture.
  ASSERT_EQ(d().cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_GLOBAL),
            cuda::CUDA_SUCCESS);
  EXPECT_EQ(d().cuStreamSynchronize(s), kCaptureUnsupported);
  EXPECT_EQ(d().cuStreamEndCapture(s, &graph), kCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  // So does allocating in global mode; in relaxed mode it is allowed.
  CUdeviceptr p = 0;
  ASSERT_EQ(d().cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_GLOBAL),
            cuda::CUDA_SUCCESS);
  EXPECT_EQ(d().cuMemAlloc(&p, 256), kCaptureUnsupported);
  EXPECT_EQ(d().cuStreamEndCapture(s, &graph), kCaptureInvalidated);
  ASSERT_EQ(d().cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_RELAXED),
            cuda::CUDA_SUCCESS);
  ASSERT_EQ(d().cuMemAlloc(&p, 256), cuda::CUDA_SUCCESS);
  blocks_.push_back(p);
  // Copies with pageable host memory cannot be captured.
  std::vector<float> pageable(64);
  EXPECT_EQ(d().cuMemcpyHtoDAsync(p, pageable.data(), 256, s), kCaptureUnsupported);
  EXPECT_EQ(d().cuStreamEndCapture(s, &graph), kCaptureInvalidated);
  // A clean capture of nothing is an empty graph.
  ASSERT_EQ(d().cuStreamBeginCapture(s, cuda::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
            cuda::CUDA_SUCCESS);
  ASSERT_EQ(d().cuStreamEndCapture(s, &graph), cuda::CUDA_SUCCESS);
  EXPECT_NE(graph, nullptr);
  EXPECT_EQ(d().cuGraphDestroy(graph), cuda::CUDA_SUCCESS);
}

TEST_F(CudaEmuKernels, ACompileErrorIsNvrtcsWithTheLineOfTheSource) {
  const cuda::NvrtcApi& n = cuda::nvrtc();
  cuda::nvrtcProgram prog = nullptr;
  const char* src = "extern \"C\" __global__ void k(float* p) {\n  p[0] = nope;\n}\n";
  ASSERT_EQ(n.nvrtcCreateProgram(&prog, src, "bad.cu", 0, nullptr, nullptr),
            cuda::NVRTC_SUCCESS);
  EXPECT_EQ(n.nvrtcCompileProgram(prog, 0, nullptr), 6);  // NVRTC_ERROR_COMPILATION
  size_t size = 0;
  n.nvrtcGetProgramLogSize(prog, &size);
  std::string log(size, '\0');
  n.nvrtcGetProgramLog(prog, log.data());
  EXPECT_NE(log.find("bad.cu(2): error"), std::string::npos) << log;
  EXPECT_NE(log.find("nope"), std::string::npos) << log;
  n.nvrtcDestroyProgram(&prog);
}

// ---- cuBLAS beyond GEMM
// ------------------------------------------------------------------

class CudaEmuBlas : public CudaEmu {
 protected:
  void SetUp() override {
    CudaEmu::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    cuda::check_cublas(cuda::cublas().cublasCreate(&h_), "cublasCreate");
  }
  void TearDown() override {
    if (h_) cuda::cublas().cublasDestroy(h_);
    CudaEmu::TearDown();
  }
  cuda::cublasHandle_t h_ = nullptr;
};

TEST_F(CudaEmuBlas, StridedBatchedGemmIsEachGemmColumnMajor) {
  const int m = 5, n = 4, k = 3, batch = 3, lda = 6, ldb = 3, ldc = 5;
  const long long sa = lda * k + 2, sb = ldb * n, sc = ldc * n + 1;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> A(sa * batch), B(sb * batch), C(sc * batch);
  for (auto* v : {&A, &B, &C})
    for (double& x : *v) x = u(rng);
  CUdeviceptr da = upload(A), db = upload(B), dc = upload(C);
  const double alpha = 0.5, beta = -2;
  ASSERT_EQ(cuda::cublas().cublasDgemmStridedBatched(
                h_, cuda::CUBLAS_OP_N, cuda::CUBLAS_OP_N, m, n, k, &alpha,
                reinterpret_cast<const double*>(da), lda, sa,
                reinterpret_cast<const double*>(db), ldb, sb, &beta,
                reinterpret_cast<double*>(dc), ldc, sc, batch),
            cuda::CUBLAS_STATUS_SUCCESS);
  std::vector<double> got = read<double>(dc, C.size());
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double dot = 0;
        for (int p = 0; p < k; ++p)
          dot += A[b * sa + i + p * lda] * B[b * sb + p + j * ldb];
        const size_t at = b * sc + i + j * ldc;
        EXPECT_NEAR(got[at], alpha * dot + beta * C[at], 1e-14)
            << b << " " << i << " " << j;
      }
  // A stride that runs past the allocation fails instead of faulting.
  EXPECT_NE(cuda::cublas().cublasDgemmStridedBatched(
                h_, cuda::CUBLAS_OP_N, cuda::CUBLAS_OP_N, m, n, k, &alpha,
                reinterpret_cast<const double*>(da), lda, sa * 2,
                reinterpret_cast<const double*>(db), ldb, sb, &beta,
                reinterpret_cast<double*>(dc), ldc, sc, batch),
            cuda::CUBLAS_STATUS_SUCCESS);
}

TEST_F(CudaEmuBlas, GemvBothWaysWithStridesAndANegativeIncrement) {
  const int m = 7, n = 5, lda = 9;
  std::vector<float> A(lda * n), x(3 * std::max(m, n)), y(2 * std::max(m, n));
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(i % 11) - 5;
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) * 0.5f - 1;
  for (size_t i = 0; i < y.size(); ++i) y[i] = float(i);
  for (int op : {cuda::CUBLAS_OP_N, cuda::CUBLAS_OP_T}) {
    const int xs = op ? m : n, ys = op ? n : m, incx = 3, incy = -2;
    CUdeviceptr da = upload(A), dx = upload(x), dy = upload(y);
    const float alpha = 2, beta = 0.5f;
    ASSERT_EQ(
        cuda::cublas().cublasSgemv(h_, op, m, n, &alpha, reinterpret_cast<float*>(da),
                                   lda, reinterpret_cast<float*>(dx), incx, &beta,
                                   reinterpret_cast<float*>(dy), incy),
        cuda::CUBLAS_STATUS_SUCCESS);
    std::vector<float> got = read<float>(dy, y.size());
    for (int i = 0; i < ys; ++i) {
      double dot = 0;
      for (int p = 0; p < xs; ++p)
        dot += double(op ? A[p + i * lda] : A[i + p * lda]) * x[p * incx];
      const size_t at = size_t(ys - 1 - i) * 2;  // a negative increment walks back
      EXPECT_FLOAT_EQ(got[at], float(alpha * dot + beta * y[at])) << op << " " << i;
    }
  }
}

TEST_F(CudaEmuBlas, Tf32MathRoundsTheFloatInputs) {
  // 1 + 2^-20 has mantissa bits TF32 drops.
  const float a = 1.0f + std::ldexp(1.0f, -20), one = 1.0f, zero = 0.0f;
  CUdeviceptr da = upload(std::vector<float>{a}), db = upload(std::vector<float>{one}),
              dc = alloc(4);
  auto run = [&](int mode) {
    cuda::check_cublas(cuda::cublas().cublasSetMathMode(h_, mode), "cublasSetMathMode");
    cuda::check_cublas(
        cuda::cublas().cublasSgemm(h_, 0, 0, 1, 1, 1, &one, reinterpret_cast<float*>(da),
                                   1, reinterpret_cast<float*>(db), 1, &zero,
                                   reinterpret_cast<float*>(dc), 1),
        "cublasSgemm");
    return read<float>(dc, 1)[0];
  };
  EXPECT_EQ(run(cuda::CUBLAS_DEFAULT_MATH), a);
  EXPECT_EQ(run(cuda::CUBLAS_TF32_TENSOR_OP_MATH), 1.0f);
}

}  // namespace
}  // namespace theanine
