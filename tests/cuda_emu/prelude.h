#pragma once
// The prelude of every emulated module: tests/cuda_emu/abi.h, then
// tests/cuda_emu/builtins.h, as text (embedded at build time by
// embed_prelude.cmake, so the files are written once and read by both the
// emulator library and the cuda_emulate tool).
#include <string>

namespace theanine::cuda_emu {

const std::string& prelude_text();

// A hash of the prelude, different for every change of it: the emulator's NVRTC
// version carries it, so images built with another prelude never come back from
// theanine's disk cache.
unsigned prelude_fingerprint();

}  // namespace theanine::cuda_emu
