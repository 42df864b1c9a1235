#pragma once
// Kernel IR -> LLVM IR text. Text, not LLVM's C++ builder: the emitter needs
// no LLVM headers (it builds and is tested where LLVM is absent), and the text
// is exactly what the compile cache hashes.
//
// Each kernel becomes `@<symbol>` with the KernelFn interface
// (codegen/kernel_ir.h) and an inlined body that takes every distinct operand
// pointer as a `noalias` argument, so the loop vectorizer needs no run-time
// alias checks. Float math stays in the operands' own precision (float32
// kernels compute in float); transcendental functions are libm calls the JIT
// maps to glibc's vector library; ops without a native spelling call the
// scalar-op table's reference evaluation through the helper table.
#include <string>
#include <utility>
#include <vector>

#include "codegen/kernel_ir.h"

namespace theanine {

// One module holding every kernel, each under its symbol.
std::string emit_llvm_module(
    const std::vector<std::pair<std::string, KernelSpec>>& kernels);

// True when the LLVM emitter spells scalar op `op_id` natively in the given
// compute class (float or integer); the rest go through the helper table.
bool llvm_native_op(int op_id, bool float_compute);

}  // namespace theanine
