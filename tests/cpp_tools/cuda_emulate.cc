// cuda_emulate: runs the emitted CUDA C on the host, for checking what the CUDA
// emitter computes on a machine without a GPU. The kernels of the CUDA tests'
// cases (tests/cpp/cuda_kernel_cases.h: every scalar op in every dtype, layouts,
// every reduction kind and strategy) are compiled as one module the way the CUDA
// emulator compiles an NVRTC program (tests/cuda_emu: the prelude of CUDA
// built-ins, the host C++ compiler), launched with the geometry
// cuda_launch_dims gives through the module's binders, and compared with the
// reference path as the GPU tests compare. Host libm stands in for CUDA's math
// library, so transcendentals are checked to 2 ulp of the reference.
//
//   ./build/cuda_emulate [--keep DIR] [--filter SUBSTRING]
//     (the compiler: $THEANINE_CUDA_EMU_CXX, $CXX or c++)
//
// Exit status: 0 all cases agree, 1 mismatches, 2 the host compile failed.
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "codegen/cuda_emit.h"
#include "codegen/cuda_nvrtc.h"
#include "tests/cpp/cuda_kernel_cases.h"
#include "tests/cuda_emu/abi.h"
#include "tests/cuda_emu/host_compile.h"
#include "tests/cuda_emu/module_image.h"

using namespace theanine;
using testing::KernelCase;

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
  std::string src = cuda_prelude();
  for (const KernelCase& c : cases) {
    operands.push_back(testing::case_operands(c));
    specs.push_back(testing::case_spec(c, operands.back()));
    const std::string sym = cuda_kernel_symbol(specs.back());
    if (seen.insert(sym).second) src += emit_cuda_kernel(sym, specs.back());
  }

  auto t0 = std::chrono::steady_clock::now();
  cuda_emu::HostModule module =
      cuda_emu::compile_module(src, "cuda_emulate.cu", {}, nvrtc_options(90));
  const double compile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!keep.empty()) {
    namespace fs = std::filesystem;
    fs::create_directories(keep);
    std::ofstream(fs::path(keep) / "kernels.cu") << src;
    std::ofstream(fs::path(keep) / "kernels.so", std::ios::binary) << module.image;
  }
  if (!module.ok) {
    std::fprintf(stderr, "cuda_emulate: the host compile failed (%s):\n%s\n",
                 cuda_emu::host_compiler().c_str(), module.log.c_str());
    return 2;
  }
  std::string error;
  void* lib =
      cuda_emu::open_module_image(module.image.data(), module.image.size(), error);
  if (!lib) {
    std::fprintf(stderr, "cuda_emulate: %s\n", error.c_str());
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
    auto bind = reinterpret_cast<th_emu_bind_fn>(
        dlsym(lib, (cuda_kernel_symbol(specs[i]) + "__th_emu_bind").c_str()));
    void* params[] = {words.data()};
    th_emu_bound* bound = bind ? bind(params) : nullptr;
    th_emu_launch launch{};  // no services: blocks in order, the module's own stacks
    launch.grid[0] = dims.grid;
    launch.block[0] = dims.block;
    launch.grid[1] = launch.grid[2] = launch.block[1] = launch.block[2] = 1;
    if (!bound || bound->run(bound, &launch) != 0) {
      std::printf("FAILED %s: %s\n", c.name.c_str(),
                  bound ? launch.error : "no binder for its kernel");
      ++failed;
      if (bound) bound->destroy(bound);
      continue;
    }
    bound->destroy(bound);
    std::vector<NDArray> got(ops.begin() + c.ir.num_inputs(), ops.end());
    std::vector<std::string> bad = testing::output_mismatches(c, got, want, magnitude, 2);
    for (const std::string& m : bad) std::printf("MISMATCH %s\n", m.c_str());
    failed += !bad.empty();
  }
  const double run_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "cuda_emulate: %zu cases (%zu kernels), host compile %.1f s, runs %.1f s; %d "
      "disagree with the reference\n",
      cases.size(), seen.size(), compile_s, run_s, failed);
  return failed ? 1 : 0;
}
