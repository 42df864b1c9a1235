#pragma once
// Kernel IR -> CUDA C, the GPU twin of codegen/llvm_emit.h. Each KernelSpec
// becomes one `extern "C" __global__` kernel computing exactly what the LLVM
// emitter's kernel computes: operands converted as the reference converts
// them, float32 math in float32, float -> int through int64 (NaN and out of
// range give INT64_MIN, then wrap), NumPy's NaN rules for maximum/minimum and
// argmax, integer arithmetic wrapping. Ops the CPU sends through its helper
// table (integer and floating floor division and modulo, integer pow) are
// device functions ported from the reference evaluations. NVRTC compiles the
// text with --fmad=false, so no multiply-add is contracted where the CPU
// rounds twice.
//
// The kernel ABI. One parameter, passed by value:
//   struct { long long shape[rank]; long long strides[nops * rank]; void* ptr[nops]; }
// where shape, strides (in elements, operand-major) and operand order are a
// LoopNest's (codegen/kernel_ir.h) and ptr[k] is operand k's device address
// (cuda_kernel_params builds the words). The launch geometry comes from
// cuda_launch_dims; block sizes are multiples of 32, at most 256.
//
// Strategies:
//  - Elementwise: a grid-stride loop over the flattened loop nest (with 32-bit
//    index arithmetic, when the nest has under 2^31 points and several dimensions).
//  - RowReduce (the innermost loop dimension is reduced): one block per output
//    element, its threads striding along the innermost dimension, then warp
//    shuffles and a shared-memory step combine the partial results.
//  - ColumnReduce (the innermost dimension is kept): a thread per output
//    element looping over the reduced dimensions in order.
// Reductions start from the identity in the kernel (sum 0, max -inf or the
// lowest value, ...) and write the output; they do not read it first as the
// CPU kernels do. Argmax/argmin give the first position of the best value, NaN
// counting as the best, and write the best value into the scratch operand.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "codegen/kernel_ir.h"

namespace theanine {

enum class CudaStrategy : uint8_t { Elementwise, RowReduce, ColumnReduce };
CudaStrategy cuda_strategy(const KernelSpec& spec);

// "th_cu_" and 24 hex digits of the SHA-256 of spec.key(): the same spec gives
// the same symbol (and the same text) in every process.
std::string cuda_kernel_symbol(const KernelSpec& spec);

// The device helpers every kernel uses, guarded so that several kernels'
// sources concatenate into one translation unit.
const std::string& cuda_prelude();
// One kernel's definition under `symbol` (the prelude not included).
std::string emit_cuda_kernel(const std::string& symbol, const KernelSpec& spec);
// A translation unit: the prelude, then each kernel under its symbol.
std::string emit_cuda_module(
    const std::vector<std::pair<std::string, KernelSpec>>& kernels);
// The prelude and the kernel under cuda_kernel_symbol(spec): a complete source.
std::string cuda_source(const KernelSpec& spec);

// True when the CUDA column spells scalar op `op_id` for operands computed in
// float, in int64, or (for ops with a logical meaning) as bools.
enum class CudaComputeClass : uint8_t { Float, Int, Bool };
bool cuda_spells_op(int op_id, CudaComputeClass cls);

struct CudaLaunchDims {
  unsigned grid = 1;
  unsigned block = 256;
};
// The geometry for a spec over a loop nest of these extents. `multiprocessors`
// sizes the grid-stride grids (0: unknown).
CudaLaunchDims cuda_launch_dims(const KernelSpec& spec, const std::vector<int64_t>& shape,
                                int multiprocessors);
// The parameter block (8-byte words) for a launch over `nest` with operand k at
// device address device_ptrs[k]. ValueError when the nest does not fit the spec.
std::vector<uint64_t> cuda_kernel_params(const KernelSpec& spec, const LoopNest& nest,
                                         const std::vector<uint64_t>& device_ptrs);

}  // namespace theanine
