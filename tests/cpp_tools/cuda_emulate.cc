// cuda_emulate: runs the emitted CUDA C on the host, for checking what the CUDA
// emitter computes on a machine without a GPU. The kernels of the CUDA tests'
// cases (tests/cpp/cuda_kernel_cases.h: every scalar op in every dtype, layouts,
// every reduction kind and strategy) are written out with a small emulation of
// the CUDA built-ins they use (thread and block indices, __syncthreads, warp
// shuffles, shared memory, bit casts), compiled by the host C++ compiler into a
// shared library, launched with the geometry cuda_launch_dims gives (a real
// thread per CUDA thread where a block synchronizes), and compared with the
// reference path as the GPU tests compare. Host libm stands in for CUDA's math
// library, so transcendentals are checked to 2 ulp of the reference.
//
//   ./build/cuda_emulate [--keep DIR] [--filter SUBSTRING]     ($CXX or c++ compiles)
//
// Exit status: 0 all cases agree, 1 mismatches, 2 the host compile failed.
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "codegen/cuda_emit.h"
#include "tests/cpp/cuda_kernel_cases.h"

using namespace theanine;
using testing::KernelCase;

namespace {

// The CUDA built-ins of the emitted kernels, on the host. Blocks run one after
// another; where a kernel synchronizes, each CUDA thread is an OS thread (for
// the whole launch), else they run one after another. Shared memory is
// `static`: shared by the threads of the block that runs.
const char* kEmulation = R"(#include <barrier>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>
using std::signbit;
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __restrict__ __restrict
#define __shared__ static
struct th_dim3 { unsigned x = 0, y = 0, z = 0; };
inline thread_local th_dim3 threadIdx, blockIdx;
inline th_dim3 blockDim, gridDim;
inline std::barrier<>* th_block_barrier = nullptr;
inline std::barrier<>* th_warp_barrier[32];
inline unsigned long long th_lanes[32][32];
inline void __syncthreads() { th_block_barrier->arrive_and_wait(); }
template <class T>
T __shfl_down_sync(unsigned, T v, int d) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  std::memcpy(&th_lanes[w][lane], &v, sizeof v);
  th_warp_barrier[w]->arrive_and_wait();
  T r = v;
  if (lane + d < 32) std::memcpy(&r, &th_lanes[w][lane + d], sizeof r);
  th_warp_barrier[w]->arrive_and_wait();
  return r;
}
inline float __int_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline double __longlong_as_double(long long i) { double f; std::memcpy(&f, &i, 8); return f; }
inline void th_launch(unsigned grid, unsigned block, bool threads,
                      const std::function<void()>& fn) {
  gridDim.x = grid;
  blockDim.x = block;
  if (!threads) {
    for (unsigned b = 0; b < grid; ++b)
      for (unsigned t = 0; t < block; ++t) {
        blockIdx.x = b;
        threadIdx.x = t;
        fn();
      }
    return;
  }
  // A thread per CUDA thread for the whole launch, the blocks one after another
  // with a barrier between them (shared memory passes to the next block).
  std::barrier<> whole(block);
  th_block_barrier = &whole;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  for (unsigned w = 0; w < (block + 31) / 32; ++w) {
    warps.push_back(std::make_unique<std::barrier<>>(32));
    th_warp_barrier[w] = warps.back().get();
  }
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < block; ++t)
    ts.emplace_back([&, t] {
      threadIdx.x = t;
      for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        fn();
        whole.arrive_and_wait();
      }
    });
  for (auto& th : ts) th.join();
}
)";

using Launch = void (*)(const void*, unsigned, unsigned, bool);

}  // namespace

int main(int argc, char** argv) {
  std::string keep, filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--keep" && i + 1 < argc)
      keep = argv[++i];
    else if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else {
      std::fprintf(stderr, "usage: cuda_emulate [--keep DIR] [--filter SUBSTRING]\n");
      return 2;
    }
  }
  std::vector<KernelCase> cases;
  for (const testing::OpCase& oc : testing::every_op_case()) {
    KernelCase c;
    c.name = oc.name;
    c.ir.body = oc.body;
    c.domain = {1037};
    c.inputs = testing::op_case_inputs(oc, 1037, 17);
    cases.push_back(c);
  }
  for (KernelCase& c : testing::layout_cases()) cases.push_back(c);
  for (KernelCase& c : testing::reduction_cases()) cases.push_back(c);
  if (!filter.empty())
    std::erase_if(cases, [&](const KernelCase& c) {
      return c.name.find(filter) == std::string::npos;
    });

  std::vector<std::vector<NDArray>> operands;
  std::vector<KernelSpec> specs;
  std::set<std::string> seen;
  std::string src = std::string(kEmulation) + cuda_prelude();
  for (const KernelCase& c : cases) {
    operands.push_back(testing::case_operands(c));
    specs.push_back(testing::case_spec(c, operands.back()));
    const std::string sym = cuda_kernel_symbol(specs.back());
    if (!seen.insert(sym).second) continue;
    src += emit_cuda_kernel(sym, specs.back());
    src += "extern \"C\" void " + sym +
           "_launch(const void* p, unsigned g, unsigned b, bool t) {\n"
           "  " +
           sym +
           "_args a;\n  std::memcpy(&a, p, sizeof a);\n"
           "  th_launch(g, b, t, [&] { " +
           sym + "(a); });\n}\n";
  }

  namespace fs = std::filesystem;
  fs::path dir = keep.empty() ? fs::temp_directory_path() / ("theanine-cuda-emulate-" +
                                                             std::to_string(::getpid()))
                              : fs::path(keep);
  fs::create_directories(dir);
  std::ofstream(dir / "kernels.cc") << src;
  const char* cxx = std::getenv("CXX");
  const std::string cmd =
      std::string(cxx && *cxx ? cxx : "c++") + " -std=c++20 -O1 -w -shared -fPIC -o '" +
      (dir / "kernels.so").string() + "' '" + (dir / "kernels.cc").string() + "'";
  auto t0 = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "cuda_emulate: the host compile failed: %s\n", cmd.c_str());
    return 2;
  }
  const double compile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  void* lib = dlopen((dir / "kernels.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "cuda_emulate: %s\n", dlerror());
    return 2;
  }

  int failed = 0;
  t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < cases.size(); ++i) {
    const KernelCase& c = cases[i];
    std::vector<NDArray>& ops = operands[i];
    std::vector<double> magnitude;
    std::vector<NDArray> want =
        testing::case_reference(c, &magnitude);  // before any overwrite
    LoopNest nest = make_loop_nest(c.domain, ops, c.axes, c.ir.num_inputs());
    std::vector<uint64_t> ptrs;
    for (void* p : nest.ptrs) ptrs.push_back(reinterpret_cast<uint64_t>(p));
    std::vector<uint64_t> words = cuda_kernel_params(specs[i], nest, ptrs);
    CudaLaunchDims dims = cuda_launch_dims(specs[i], nest.shape, 1);
    auto launch = reinterpret_cast<Launch>(
        dlsym(lib, (cuda_kernel_symbol(specs[i]) + "_launch").c_str()));
    launch(words.data(), dims.grid, dims.block,
           cuda_strategy(specs[i]) == CudaStrategy::RowReduce);
    std::vector<NDArray> got(ops.begin() + c.ir.num_inputs(), ops.end());
    std::vector<std::string> bad = testing::output_mismatches(c, got, want, magnitude, 2);
    for (const std::string& m : bad) std::printf("MISMATCH %s\n", m.c_str());
    failed += !bad.empty();
  }
  const double run_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (keep.empty()) fs::remove_all(dir);
  std::printf(
      "cuda_emulate: %zu cases (%zu kernels), host compile %.1f s, runs %.1f s; %d "
      "disagree with the reference\n",
      cases.size(), seen.size(), compile_s, run_s, failed);
  return failed ? 1 : 0;
}
