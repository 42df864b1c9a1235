// cuda_bench: first figures for the emitted CUDA kernels on a real GPU (run by
// scripts/gpu_check.sh). Device-to-device copy bandwidth as the ceiling, then
// emitted elementwise and reduction kernels in GB/s of their compulsory
// traffic (each input read once, each output written once) and as a fraction
// of the copy; NVRTC compile times cold and from the disk cache.
//
//   ./build/cuda_bench [--mib N (256, per array)]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "codegen/cuda_emit.h"
#include "codegen/cuda_launch.h"
#include "codegen/cuda_nvrtc.h"
#include "codegen/disk_cache.h"
#include "ops/scalar_op_table.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_memory.h"

using namespace theanine;

namespace {

ScalarRef in(int i) { return {ScalarRef::Kind::Input, i}; }
ScalarRef node(int i) { return {ScalarRef::Kind::Node, i}; }

// A body of float32 nodes; each entry an op name and its refs.
KernelIR body(int inputs,
              const std::vector<std::pair<const char*, std::vector<ScalarRef>>>& ns,
              KernelReduce r = KernelReduce::None) {
  KernelIR ir;
  ir.body.inputs.assign(inputs, DType::Float32);
  for (const auto& [name, args] : ns) {
    ScalarNode n;
    n.op = scalar_op(name).id;
    n.args = args;
    n.dtypes = {DType::Float32, DType::Float32};
    if (std::string(name) == "cast") n.cast_to = DType::Float32;
    ir.body.nodes.push_back(n);
  }
  ir.body.outputs = {static_cast<int>(ns.size()) - 1};
  ir.reduce = r;
  ir.acc_dtype = DType::Float32;
  return ir;
}

struct Bench {
  std::string name;
  KernelIR ir;
  std::vector<int64_t> shape;                 // the loop nest (already merged)
  uint32_t reduced = 0;                       // reduced loop dimensions
  std::vector<std::vector<int64_t>> strides;  // per operand
};

KernelLayout layout_of(const Bench& b) {
  KernelLayout l;
  l.rank = static_cast<int>(b.shape.size());
  for (const auto& s : b.strides)
    l.inner.push_back(s.back() == 1   ? InnerStep::Unit
                      : s.back() == 0 ? InnerStep::Zero
                                      : InnerStep::Strided);
  l.same_as.assign(b.ir.num_outputs(), -1);
  l.reduced = b.reduced;
  return l;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mib = 256;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--mib") mib = std::atoll(argv[++i]);
  if (!cuda_available()) {
    std::fprintf(stderr, "cuda_bench: %s\n", cuda_unavailable_reason().c_str());
    return 2;
  }
  const cuda::DeviceInfo& dev = cuda::device_info();
  std::printf("device: %s, sm_%d, %d SMs\n", dev.name.c_str(), dev.arch(),
              dev.multiprocessors);
  const int64_t n = mib << 18;  // float32 elements per array
  const size_t bytes = size_t(n) * 4;
  std::vector<std::shared_ptr<void>> bufs;
  for (int i = 0; i < 4; ++i) {
    bufs.push_back(allocate_device(bytes));
    cuda::memset_device(device_address(bufs.back()), 0x3f, bytes);  // 0.75-ish floats
  }
  auto time_ms = [](const std::function<void()>& f) {
    for (int i = 0; i < 3; ++i) f();
    std::vector<double> t;
    cuda::StreamTimer timer;
    for (int i = 0; i < 15; ++i) {
      timer.start();
      f();
      t.push_back(timer.stop());
    }
    return median(t);
  };
  const double copy_ms = time_ms([&] {
    cuda::copy_device_to_device(device_address(bufs[1]), device_address(bufs[0]), bytes);
  });
  const double copy_gbs = 2.0 * bytes / copy_ms / 1e6;
  std::printf("%-40s %9s %9s %7s\n", "kernel", "ms", "GB/s", "of copy");
  std::printf("%-40s %9.3f %9.0f %6.0f%%\n", "device-to-device copy", copy_ms, copy_gbs,
              100.0);

  const int64_t cols = 1024, rows = n / cols;
  std::vector<Bench> benches = {
      {"x*y+z (1-d)",
       body(3, {{"mul", {in(0), in(1)}}, {"add", {node(0), in(2)}}}),
       {n},
       0,
       {{1}, {1}, {1}, {1}}},
      {"tanh(x)*y (1-d)",
       body(2, {{"tanh", {in(0)}}, {"mul", {node(0), in(1)}}}),
       {n},
       0,
       {{1}, {1}, {1}}},
      {"x + row b (2-d, broadcast)",
       body(2, {{"add", {in(0), in(1)}}}),
       {rows, cols},
       0,
       {{cols, 1}, {0, 1}, {cols, 1}}},
      {"sum over rows (row reduce)",
       body(1, {{"cast", {in(0)}}}, KernelReduce::Sum),
       {rows, cols},
       0b10,
       {{cols, 1}, {1, 0}}},
      {"max over rows (row reduce)",
       body(1, {{"cast", {in(0)}}}, KernelReduce::Max),
       {rows, cols},
       0b10,
       {{cols, 1}, {1, 0}}},
      {"sum over columns (column reduce)",
       body(1, {{"cast", {in(0)}}}, KernelReduce::Sum),
       {rows, cols},
       0b01,
       {{cols, 1}, {0, 1}}},
  };
  std::vector<KernelSpec> specs;
  for (const Bench& b : benches) specs.push_back({b.ir, layout_of(b)});

  // Compile times: cold (no disk cache, a fresh process's first module) and warm.
  DiskCache::set_enabled(false);
  auto t0 = std::chrono::steady_clock::now();
  CudaCompileStats cold;
  std::vector<const CudaKernel*> kernels = cuda_kernels(specs, &cold);
  const double cold_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
          .count();
  DiskCache::set_enabled(true);

  for (size_t i = 0; i < benches.size(); ++i) {
    const Bench& b = benches[i];
    LoopNest nest;
    nest.shape = b.shape;
    nest.layout = specs[i].layout;
    int64_t moved = 0;  // compulsory bytes
    for (size_t k = 0; k < b.strides.size(); ++k) {
      nest.strides.insert(nest.strides.end(), b.strides[k].begin(), b.strides[k].end());
      nest.ptrs.push_back(reinterpret_cast<void*>(device_address(bufs[k])));
      int64_t elems = 1;
      for (size_t d = 0; d < b.shape.size(); ++d)
        if (b.strides[k][d] != 0) elems *= b.shape[d];
      moved += elems * 4;
    }
    const double ms = time_ms([&] { launch_cuda_kernel(*kernels[i], nest); });
    CudaLaunchDims dims = cuda_launch_dims(specs[i], nest.shape, dev.multiprocessors);
    const double gbs = moved / ms / 1e6;
    std::printf("%-40s %9.3f %9.0f %6.0f%%   grid %u x %u\n", b.name.c_str(), ms, gbs,
                100.0 * gbs / copy_gbs, dims.grid, dims.block);
  }
  cuda::synchronize();

  // The same module from the disk cache, as a later process would get it.
  std::vector<std::pair<std::string, KernelSpec>> named;
  for (const KernelSpec& s : specs) named.push_back({cuda_kernel_symbol(s), s});
  const std::string module = emit_cuda_module(named);
  compile_cuda(module, "the benchmark kernels");  // stored now if it was not
  t0 = std::chrono::steady_clock::now();
  CudaImage warm = compile_cuda(module, "the benchmark kernels");
  const double warm_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf(
      "NVRTC compile of %d kernels: cold %.0f ms (with loading), warm %.1f ms (%s)\n",
      cold.kernels, cold_ms, warm_ms, warm.disk_hit ? "disk cache" : "no disk cache");
  return 0;
}
