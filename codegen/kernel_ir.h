#pragma once
// Kernel IR: what a compiled backend turns into one machine kernel. It is
// backend-neutral (the LLVM emitter and the CUDA emitter read the same thing)
// and has two halves:
//  - KernelIR, fixed when the graph is compiled: the scalar DAG (a ScalarGraph
//    over the one scalar-op table) evaluated at every point of an iteration
//    domain, and for a reduction the combining operation and accumulator dtype;
//  - KernelLayout, the loop nest the kernel is specialized for: how many loop
//    dimensions remain after merging the dimensions every operand walks through
//    contiguously, how the innermost loop steps through each operand (unit,
//    zero = broadcast, or a run-time stride), which outputs overwrite which
//    input, and which loop dimensions a reduction sums away.
// Outer strides and all extents stay run-time values, so one kernel serves every
// batch size. A layout is predicted from the static types when the function is
// compiled (C-contiguous operands); a call whose arrays give another layout
// (a transposed view, a dimension broadcast only at run time) compiles that
// variant once and caches it.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/type.h"
#include "ops/fused_elemwise.h"
#include "runtime/ndarray.h"

namespace theanine {

enum class KernelReduce : uint8_t { None, Sum, Prod, Max, Min, Argmax, Argmin };

const char* kernel_reduce_name(KernelReduce r);

// Operand order everywhere: the body's inputs, then the outputs (one per body
// output; a reduction has one output), then for Argmax/Argmin one scratch
// operand holding the best value so far (the body output's dtype).
struct KernelIR {
  ScalarGraph body;
  KernelReduce reduce = KernelReduce::None;
  // Reductions: the dtype the kernel accumulates into and writes (the output
  // operand's dtype; int64 for Argmax/Argmin).
  DType acc_dtype = DType::Float64;

  int num_inputs() const { return static_cast<int>(body.inputs.size()); }
  int num_outputs() const {
    return reduce == KernelReduce::None ? static_cast<int>(body.outputs.size()) : 1;
  }
  int num_operands() const { return num_inputs() + num_outputs() + (is_arg() ? 1 : 0); }
  bool is_arg() const {
    return reduce == KernelReduce::Argmax || reduce == KernelReduce::Argmin;
  }
  DType operand_dtype(int k) const;
  // Text that identifies the kernel: equal text, equal machine code.
  std::string key() const;
};

// How the innermost loop moves through an operand.
enum class InnerStep : uint8_t { Unit, Zero, Strided };

struct KernelLayout {
  int rank = 1;                  // loop dimensions, >= 1
  std::vector<InnerStep> inner;  // one per operand
  // One per output: the input whose buffer (same address, same strides) the
  // output overwrites, or -1. The kernel then reads and writes through one
  // pointer, which keeps the vectorizer's no-alias assumptions true.
  std::vector<int> same_as;
  uint32_t reduced = 0;  // reductions: bit d set when loop dimension d is reduced

  bool operator==(const KernelLayout&) const = default;
  std::string key() const;
};

struct KernelSpec {
  KernelIR ir;
  KernelLayout layout;
  std::string key() const { return ir.key() + "|" + layout.key(); }
};

// The machine interface every backend's CPU kernels share: run the loop nest
// for outer-dimension indices [begin, end). shape[rank]; strides[k * rank + d]
// is operand k's step in elements along loop dimension d; ptrs[k] its base
// address; helpers the run-time helper table (codegen/kernel_helpers.h).
using KernelFn = void (*)(int64_t begin, int64_t end, const int64_t* shape,
                          const int64_t* strides, void* const* ptrs,
                          void* const* helpers);

// A loop nest over concrete arrays: the merged extents, each operand's strides
// (elements) and base addresses, and the layout they call for.
struct LoopNest {
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // operand-major: [k * rank + d]
  std::vector<void*> ptrs;
  KernelLayout layout;
  std::vector<int64_t> scratch;  // working storage of fill_loop_nest
  int64_t size() const;
};

// Builds the loop nest of a kernel over `domain` (the iteration shape: the
// broadcast output shape, or for a reduction the input shape) for operand
// arrays given in operand order, each of the domain's rank (reductions' outputs
// with the reduced axes kept as size 1). Size-1 dimensions are dropped and
// neighbours every operand walks through contiguously merged; `reduced_axes`
// marks domain axes a reduction removes.
LoopNest make_loop_nest(const std::vector<int64_t>& domain,
                        const std::vector<NDArray>& operands, uint32_t reduced_axes,
                        int num_inputs);
// The same into `nest`, reusing its vectors' storage: a call path that keeps a
// LoopNest around allocates nothing here once warm.
void fill_loop_nest(const std::vector<int64_t>& domain,
                    const std::vector<NDArray>& operands, uint32_t reduced_axes,
                    int num_inputs, LoopNest& nest);

// The layout a loop nest will have when every operand is C-contiguous and has
// the static shape of its type: for predicting kernels at compile time.
// `domain` uses -1 for unknown extents; operand types are given with the
// domain's rank (reduced axes kept as 1 for outputs).
// `same_as` is what the inplace plan expects (one per output, -1 for none).
KernelLayout predict_layout(const std::vector<int64_t>& domain,
                            const std::vector<std::vector<int64_t>>& operand_shapes,
                            uint32_t reduced_axes, std::vector<int> same_as);

}  // namespace theanine
