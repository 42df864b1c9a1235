#include "tests/cuda_emu/module_image.h"

#include <dlfcn.h>
#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "tests/cuda_emu/abi.h"

namespace theanine::cuda_emu {

size_t elf_image_size(const void* image) {
  if (!image) return 0;
  Elf64_Ehdr eh;
  std::memcpy(&eh, image, sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN)
    return 0;
  const char* base = static_cast<const char*>(image);
  size_t end = sizeof eh;
  end = std::max<size_t>(end, eh.e_phoff + size_t(eh.e_phnum) * eh.e_phentsize);
  end = std::max<size_t>(end, eh.e_shoff + size_t(eh.e_shnum) * eh.e_shentsize);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, base + eh.e_phoff + size_t(i) * eh.e_phentsize, sizeof ph);
    end = std::max<size_t>(end, ph.p_offset + ph.p_filesz);
  }
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, base + eh.e_shoff + size_t(i) * eh.e_shentsize, sizeof sh);
    if (sh.sh_type != SHT_NOBITS) end = std::max<size_t>(end, sh.sh_offset + sh.sh_size);
  }
  return end;
}

void* open_module_image(const void* image, size_t size, std::string& error) {
  namespace fs = std::filesystem;
  std::string path =
      (fs::temp_directory_path() / "theanine-cuda-emu-module-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    error = "cannot make a temporary file from " + path;
    return nullptr;
  }
  const char* p = static_cast<const char*>(image);
  for (size_t done = 0; done < size;) {
    const ssize_t n = write(fd, p + done, size - done);
    if (n <= 0) {
      close(fd);
      unlink(path.c_str());
      error = "cannot write " + path;
      return nullptr;
    }
    done += size_t(n);
  }
  close(fd);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  unlink(path.c_str());  // the mapping stays
  if (!h) {
    const char* e = dlerror();
    error = e ? e : "dlopen failed";
    return nullptr;
  }
  using Version = unsigned (*)();
  auto version = reinterpret_cast<Version>(dlsym(h, "th_emu_abi_version"));
  if (!version || version() != TH_EMU_ABI_VERSION) {
    dlclose(h);
    error = "the image was built for another version of the emulator";
    return nullptr;
  }
  return h;
}

}  // namespace theanine::cuda_emu
