#pragma once
// The text steps that turn an NVRTC program into a host C++ module
// (tests/cuda_emu/host_compile.cc runs them around the compiler):
//   1. rewrite_dynamic_shared on the source as given;
//   2. the host preprocessor, with the prelude in front;
//   3. find_kernels on the preprocessed text, launcher_source appended to it;
//   4. the host compiler, its diagnostics put in NVRTC's form by nvrtc_style_log.
// Kernels are found after preprocessing, so kernels a macro writes count and
// kernels in a false #if do not.
#include <string>
#include <vector>

namespace theanine::cuda_emu {

// `extern __shared__ T name[];` (any alignment attribute dropped) becomes
//   static thread_local T* const name = static_cast<T*>(th_emu_dynamic_shared());
// on one line, followed by the newlines the declaration spanned, so line numbers
// stay. The pointer is the OS thread's dynamic shared memory, which never moves
// (tests/cuda_emu/builtins.h), so initializing it once per thread is right at
// namespace scope as in a function.
std::string rewrite_dynamic_shared(const std::string& source);

// The `extern "C"` kernels defined in preprocessed text (where the prelude's
// __global__ left `__attribute__((th_emu_global))`), each as a qualified name
// ("::k", "::ns::k"), in order of definition, each once. Declarations without a
// body, kernels without C linkage and kernels in unnamed namespaces are skipped:
// none of them can be looked up by name in a module.
std::vector<std::string> find_kernels(const std::string& preprocessed);

// The exported binders (tests/cuda_emu/abi.h) of `kernels`, as C++ to append to
// the preprocessed text.
std::string launcher_source(const std::vector<std::string>& kernels);

// The compiler's "file:12:5: error: ..." lines as NVRTC writes them,
// "file(12): error: ...", which theanine quotes the source lines of.
std::string nvrtc_style_log(const std::string& compiler_output);

}  // namespace theanine::cuda_emu
