#include "codegen/cuda_program.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "codegen/cuda_launch.h"
#include "codegen/cuda_op_table.h"
#include "graph/op.h"
#include "ops/scalar_op_table.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_memory.h"

namespace theanine {

namespace {

// The kernels one node has launched, by step and layout: a warm call finds
// its kernel without building the spec's key text.
class LaunchCache {
 public:
  const CudaKernel* get(const KernelNode& k, const KernelLayout& layout, size_t step) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Entry& e : entries_)
      if (e.step == step && e.layout == layout) return e.kernel;
    const CudaKernel* kernel = cuda_kernels({KernelSpec{k.ir, layout}}).at(0);
    entries_.push_back({step, layout, kernel});
    return kernel;
  }

 private:
  struct Entry {
    size_t step;
    KernelLayout layout;
    const CudaKernel* kernel;
  };
  std::mutex mu_;
  std::vector<Entry> entries_;
};

void launch_on_device(const KernelNode& k, const std::vector<int64_t>& domain,
                      const std::vector<NDArray>& operands, uint32_t mask, size_t step,
                      LaunchCache* cache) {
  // Kept per thread so that a warm call allocates nothing for the loop nest.
  thread_local LoopNest nest;
  fill_loop_nest(domain, operands, mask, k.ir.num_inputs(), nest);
  const CudaKernel* kernel = cache ? cache->get(k, nest.layout, step)
                                   : cuda_kernels({KernelSpec{k.ir, nest.layout}}).at(0);
  launch_cuda_kernel(*kernel, nest);
}

// float64 out = acc / count, for means.
KernelNode divide_kernel(DType acc) {
  KernelNode k = cast_kernel(acc, DType::Float64);
  ScalarGraph& g = k.ir.body;
  g.inputs.push_back(DType::Float64);
  ScalarNode div;
  div.op = scalar_op("true_div").id;
  div.args = {ScalarRef{ScalarRef::Kind::Node, 0}, ScalarRef{ScalarRef::Kind::Input, 1}};
  div.dtypes = {DType::Float64, DType::Float64};
  g.nodes.push_back(div);
  g.outputs = {1};
  return k;
}

// A float64 0-d device array holding `count`, kept for the process: a mean
// over the same number of elements every call costs no copy.
NDArray device_count(int64_t count) {
  static std::mutex mu;
  static std::map<int64_t, NDArray>* counts = new std::map<int64_t, NDArray>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = counts->find(count);
  if (it != counts->end()) return it->second;
  NDArray d = to_device(NDArray::scalar(DType::Float64, static_cast<double>(count)));
  if (counts->size() < 64) (*counts)[count] = d;
  return d;
}

NDArray divide_on_device(const NDArray& acc, int64_t count) {
  std::vector<KernelStep> steps{{divide_kernel(acc.dtype()), {0, 1}}};
  auto r = run_kernels_on(steps, {acc, device_count(count)}, {}, cuda_kernel_target());
  return r.value().at(0);
}

// The device copy kernel behind NDArray::assign/astype/copy of device arrays.
void assign_on_device(const NDArray& dst, const NDArray& src) {
  KernelNode k = cast_kernel(src.dtype(), dst.dtype());
  launch_on_device(k, dst.shape(), {src, dst}, 0, 0, nullptr);
}

KernelTarget make_target(std::shared_ptr<LaunchCache> cache) {
  KernelTarget t;
  t.empty = &device_empty;
  t.accumulators_start_at_identity = false;  // the CUDA kernels write outputs whole
  t.launch = [cache](const KernelNode& k, const std::vector<int64_t>& domain,
                     std::vector<NDArray>& operands, uint32_t mask, size_t step) {
    launch_on_device(k, domain, operands, mask, step, cache.get());
  };
  t.divide = &divide_on_device;
  return t;
}

std::vector<NDArray> all_on_device(const std::vector<NDArray>& arrays) {
  std::vector<NDArray> out;
  out.reserve(arrays.size());
  for (const NDArray& a : arrays) out.push_back(to_device(a));
  return out;
}

}  // namespace

const KernelTarget& cuda_kernel_target() {
  static const KernelTarget* target = [] {
    set_device_assign(&assign_on_device);
    return new KernelTarget(make_target(nullptr));
  }();
  return *target;
}

void prepare_cuda_kernels(const std::vector<KernelSpec>& specs,
                          KernelCompileStats* stats) {
  cuda_kernel_target();  // registers the copy kernel
  CudaCompileStats cs;
  cuda_kernels(specs, &cs);
  if (!stats) return;
  stats->kernels += cs.kernels;
  stats->compiled += cs.compiled;
  stats->milliseconds += cs.milliseconds;
  stats->disk_hit = stats->disk_hit || cs.disk_hit;
}

CudaNodeRunner cuda_node_runner(std::shared_ptr<Apply> node,
                                std::optional<std::vector<KernelStep>> kernel) {
  cuda_kernel_target();
  const CudaOpEntry* entry = find_cuda_op(*node);
  std::shared_ptr<const std::vector<KernelStep>> steps;
  std::shared_ptr<const KernelTarget> target;
  if (kernel) {
    steps = std::make_shared<const std::vector<KernelStep>>(std::move(*kernel));
    target = std::make_shared<const KernelTarget>(
        make_target(std::make_shared<LaunchCache>()));
  }
  return [node, entry, steps, target](const std::vector<NDArray>& inputs,
                                      const std::vector<NDArray>& offered) {
    const bool any_device = std::any_of(inputs.begin(), inputs.end(), on_device);
    if (entry && (any_device || entry->inputs_anywhere)) {
      auto r = entry->run(*node, entry->inputs_anywhere ? inputs : all_on_device(inputs));
      if (r) return std::move(*r);
    }
    if (steps && any_device) {
      // Only device buffers may be written by a device kernel.
      std::vector<NDArray> usable = offered;
      for (NDArray& o : usable)
        if (!on_device(o)) o = NDArray();
      auto r = run_kernels_on(*steps, all_on_device(inputs), usable, *target);
      if (r) return std::move(*r);
    }
    // The host path: also where the checks of the reference name bad input.
    std::vector<NDArray> host;
    host.reserve(inputs.size());
    for (const NDArray& a : inputs) host.push_back(to_host(a));
    return node->op->perform(*node, host);
  };
}

}  // namespace theanine
