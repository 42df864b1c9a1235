#pragma once
// Which graph nodes become compiled kernels, and how a kernel runs on arrays.
// Backend-neutral: a backend supplies only the machine code for a KernelSpec
// (a KernelSource); everything else — building the kernel IR from a node,
// predicting its layout, checking shapes before any write, allocating or
// reusing outputs, initialising accumulators, splitting the outer loop across
// the thread pool and finishing means and dtype conversions — lives here.
#include <functional>
#include <optional>
#include <vector>

#include "codegen/kernel_ir.h"
#include "graph/variable.h"
#include "ops/reduce.h"

namespace theanine {

struct KernelNode {
  KernelIR ir;
  bool is_reduce = false;
  uint32_t reduce_axes = 0;  // reductions: bit d = domain axis d is reduced
  bool all_axes = false;     // reductions over every axis (the mask follows the rank)
  bool keepdims = false;
  bool mean = false;
  DType out_dtype = DType::Float64;  // reductions: the node's output dtype
};

// One kernel of a node's lowering: its arguments index the node's inputs
// followed by the outputs of earlier steps; the last step gives the node's
// outputs. Most nodes are one step; a softmax is three (row max, sum of
// exponentials, normalisation).
struct KernelStep {
  KernelNode kernel;
  std::vector<int> args;
};

// The kernels a node compiles to, or nullopt when it runs on the reference
// path (not elementwise, a reduction or a softmax-family op; or a scalar op
// whose reference evaluation may throw, which compiled code cannot pass on).
std::optional<std::vector<KernelStep>> lower_to_kernels(const Apply& node);

// Building blocks for backends: an elementwise conversion, and a reduction
// of one input (ops/reduce.h's kinds; nullopt where the kernels have none).
KernelNode cast_kernel(DType from, DType to);
std::optional<KernelNode> reduce_kernel(DType in, ReduceKind kind,
                                        const std::vector<int>& axes, bool keepdims,
                                        DType out);

// The spec each step will see when the node's inputs are C-contiguous with
// their static shapes and the last step's output k overwrites input
// same_as[k] (-1: none).
std::vector<KernelSpec> predicted_specs(const std::vector<KernelStep>& steps,
                                        const Apply& node,
                                        const std::vector<int>& same_as);

// Machine code for step `step` of a node's kernels in a given layout.
using KernelSource =
    std::function<KernelFn(const KernelIR&, const KernelLayout&, size_t step)>;

// Runs the steps on `inputs`. `offered[i]`, when defined, is a buffer output i
// may be written into (an input nothing reads later). Returns nullopt when the
// arrays are outside what the kernels handle (shapes that do not broadcast,
// empty reductions without identity...): the caller then runs the reference
// perform, which reports the problem. No memory the caller sees is written
// before that check.
std::optional<std::vector<NDArray>> run_kernels(const std::vector<KernelStep>& steps,
                                                const std::vector<NDArray>& inputs,
                                                const std::vector<NDArray>& offered,
                                                const KernelSource& source);

// Where run_kernels_on puts arrays and how one kernel runs there: run_kernels
// is the host target (host arrays, a KernelSource's machine code on the thread
// pool); codegen/cuda_program.cc has the device target (device arrays, CUDA
// launches). The checks, output reuse, shapes and finishing are shared.
struct KernelTarget {
  NDArray (*empty)(DType dtype, const Shape& shape) = nullptr;
  // Reductions: true when the kernels fold into their output, which must then
  // start at the identity (the CPU kernels); false when they write it whole.
  bool accumulators_start_at_identity = true;
  // Runs step `step` of a node over `operands` (inputs broadcast to `domain`,
  // then the outputs, allocated by `empty`).
  std::function<void(const KernelNode& k, const std::vector<int64_t>& domain,
                     std::vector<NDArray>& operands, uint32_t reduced_axes, size_t step)>
      launch;
  // A mean's last step: the accumulator divided by `count`, as float64.
  std::function<NDArray(const NDArray& acc, int64_t count)> divide;
};
std::optional<std::vector<NDArray>> run_kernels_on(const std::vector<KernelStep>& steps,
                                                   const std::vector<NDArray>& inputs,
                                                   const std::vector<NDArray>& offered,
                                                   const KernelTarget& target);

}  // namespace theanine
