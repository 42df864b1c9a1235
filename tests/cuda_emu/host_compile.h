#pragma once
// An NVRTC program compiled by the host C++ compiler into a shared library (the
// steps are in tests/cuda_emu/module_source.h), in a temporary folder removed
// afterwards (kept and named on stderr with THEANINE_CUDA_EMU_KEEP=1).
//
// The compiler is $THEANINE_CUDA_EMU_CXX, else $CXX, else `c++` (a command, so
// "ccache g++" works: the preprocessed text does not name the temporary folder,
// so ccache can hit). Flags: -std=c++20 -O1 -fPIC -pthread -w; NVRTC's
// --fmad=false becomes -ffp-contract=off (else fast); -D, -U, -I and
// --pre-include options pass through, the others (the architecture, -std, ...)
// are ignored. THEANINE_CUDA_EMU_UCONTEXT=1 switches fibers to ucontext.
#include <string>
#include <utility>
#include <vector>

namespace theanine::cuda_emu {

struct HostModule {
  bool ok = false;
  std::string log;    // the compiler's diagnostics, NVRTC's form
  std::string image;  // the .so's bytes when ok
};

// `headers` are (include name, text) pairs, found by #include "name".
HostModule compile_module(const std::string& source, const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          const std::vector<std::string>& nvrtc_options);

std::string host_compiler();

}  // namespace theanine::cuda_emu
