#pragma once
// Collects the CUDA C of every kernel a process compiles, so a whole test run
// can be checked with NVRTC (tests/cpp_tools/nvrtc_check.cc) on a machine
// without a GPU: when THEANINE_CUDA_CHECK_DIR is set, each spec's complete
// source (cuda_source) is written there as <sha256 of the source>.cu.
#include <string>

#include "codegen/kernel_ir.h"

namespace theanine {

// Writes the spec's CUDA C when THEANINE_CUDA_CHECK_DIR is set and the file is
// not there yet. Never throws: an emission error is written as a .err file in
// that folder (the check tool reports it), and I/O errors warn once on stderr.
void record_kernel_for_cuda_check(const KernelSpec& spec) noexcept;

// Writes `text` as `file_name` in THEANINE_CUDA_CHECK_DIR when it is set, once
// per process and name, through a temporary file and a rename (a reader or a
// second process never sees half a file). Never throws; I/O errors warn once.
// For hand-written modules (codegen/cuda_source_kernels.h).
void record_cuda_source_for_check(const std::string& file_name,
                                  const std::string& text) noexcept;

}  // namespace theanine
