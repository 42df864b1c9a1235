#pragma once
// CUDA C -> device code through NVRTC (loaded by runtime/cuda_driver.h), with the
// disk cache (codegen/disk_cache.h) in front: namespace "cuda-sm<arch>", key =
// NVRTC's version, the options and the source, payload = a cubin (machine code
// for the arch) or, where this NVRTC cannot target the arch, PTX for the newest
// one it can (the driver finishes it). NVRTC needs no GPU, so kernels are
// compiled and checked on machines without one.
#include <string>
#include <vector>

namespace theanine {

// The arch kernels are built for: the device's own (90 for sm_90) when CUDA is
// available, else 90 (Hopper: H100/H200).
int cuda_target_arch();

// The options every theanine kernel is compiled with for `arch`: machine code
// for the arch, C++17 and no contraction of a*b+c into a fused multiply-add
// (the CPU backend rounds both steps).
std::vector<std::string> nvrtc_options(int arch);

struct CudaImage {
  std::string bytes;  // a cubin, or NUL-terminated PTX
  bool is_cubin = true;
  bool disk_hit = false;  // came from the disk cache
  std::string log;        // NVRTC's warnings, if any
};

// Compiles `source` for `arch` (0: cuda_target_arch()). `what` names the
// kernels in errors: "NVRTC could not compile <what> for sm_90:" followed by
// NVRTC's log and the numbered source lines it points at. Error also when NVRTC
// is missing.
CudaImage compile_cuda(const std::string& source, const std::string& what, int arch = 0);

// Compiles without the cache and without throwing on a compile error: for the
// NVRTC check tool and tests. `ok` false with the log when the source does not
// compile; Error only when NVRTC itself is missing.
struct NvrtcCheckResult {
  bool ok = false;
  std::string log;
  double milliseconds = 0;
};
// `ptx_only` stops before machine code (compute_<arch>): the C++ front end, where
// emission bugs show, in about half the time.
NvrtcCheckResult nvrtc_check(const std::string& source, const std::string& name,
                             int arch = 90, bool ptx_only = false);

}  // namespace theanine
