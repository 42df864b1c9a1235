#pragma once
// The LLVM CPU backend's kernel supply: KernelSpecs in, machine code out.
// Kernels are compiled a function's worth at a time (one module, one pass of
// the optimizer and one disk-cache entry) and kept for the process, keyed by
// their spec, so a graph compiled twice reuses its kernels.
#include <string>
#include <vector>

#include "codegen/kernel_lowering.h"

namespace theanine {

// True when this build has the LLVM backend.
bool llvm_backend_available();

struct KernelCompileStats {
  int kernels = 0;        // distinct kernels the function needs
  int compiled = 0;       // of which were not yet in this process
  bool disk_hit = false;  // the module came from the disk cache
  double milliseconds = 0;
};

// Compiles every spec not yet in the process, in one module, and returns the
// source run_kernels uses: it serves these specs and compiles any other layout
// met at run time (once). Error when the build has no LLVM.
KernelSource llvm_kernel_source(const std::vector<KernelSpec>& specs,
                                KernelCompileStats* stats = nullptr);

// The module text emit_llvm_module produces for these specs (for tests and
// for debugging the emitted IR).
std::string llvm_module_text(const std::vector<KernelSpec>& specs);

}  // namespace theanine
