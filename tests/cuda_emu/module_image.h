#pragma once
// Loading what the emulator's NVRTC hands out (a host shared library's bytes):
// cuModuleLoadData gets only a pointer, so the length comes from the ELF
// headers, as a driver finds a cubin's.
#include <cstddef>
#include <string>

namespace theanine::cuda_emu {

// The length of the ELF file at `image` (the furthest end of its headers,
// sections and segments), or 0 when it is not a 64-bit ELF shared library.
size_t elf_image_size(const void* image);

// Writes the image to a temporary file, dlopens it (RTLD_NOW | RTLD_LOCAL) and
// removes the file; null with `error` when it fails or the module was built
// for another emulator ABI (tests/cuda_emu/abi.h).
void* open_module_image(const void* image, size_t size, std::string& error);

}  // namespace theanine::cuda_emu
