// NVRTC: a program is compiled by the host compiler into a shared library
// (tests/cuda_emu/host_compile.h), whose bytes are both its "PTX" and its
// "cubin", so theanine's disk cache stores and reloads them unchanged. The
// version, 99.<prelude hash % 1000>, is one no real NVRTC has: cache keys never
// meet a real NVRTC's, nor an image built with another prelude.
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/cuda_emu/emu.h"
#include "tests/cuda_emu/host_compile.h"
#include "tests/cuda_emu/prelude.h"

struct _nvrtcProgram {
  std::string source, name;
  std::vector<std::pair<std::string, std::string>> headers;
  bool compiled = false;  // successfully
  std::string log;
  std::string image;
};

namespace theanine::cuda_emu {

namespace {

using nvrtcResult = int;
using nvrtcProgram = _nvrtcProgram*;

enum : nvrtcResult {
  kNvrtcSuccess = 0,
  kNvrtcInvalidInput = 3,
  kNvrtcInvalidProgram = 4,
  kNvrtcCompilation = 6,
};

constexpr int kSupportedArch = 90;

// NVRTC needs no device: its programs are kept apart from the device's state.
struct Programs {
  std::mutex mu;
  std::set<nvrtcProgram> live;
};
Programs& programs() {
  static Programs* p = new Programs();
  return *p;
}

bool valid(nvrtcProgram p) {
  std::lock_guard<std::mutex> lock(programs().mu);
  return programs().live.count(p) > 0;
}

// Copies `bytes` out, as NVRTC's getters do; `size` first.
nvrtcResult get_size(nvrtcProgram p, size_t* size, bool with_nul, bool log) {
  if (!size) return kNvrtcInvalidInput;
  if (!valid(p)) return kNvrtcInvalidProgram;
  if (!log && !p->compiled) return kNvrtcInvalidProgram;
  *size = (log ? p->log.size() : p->image.size()) + (with_nul ? 1 : 0);
  return kNvrtcSuccess;
}

nvrtcResult get_bytes(nvrtcProgram p, char* out, bool with_nul, bool log) {
  if (!out) return kNvrtcInvalidInput;
  if (!valid(p)) return kNvrtcInvalidProgram;
  if (!log && !p->compiled) return kNvrtcInvalidProgram;
  const std::string& s = log ? p->log : p->image;
  std::memcpy(out, s.data(), s.size());
  if (with_nul) out[s.size()] = '\0';
  return kNvrtcSuccess;
}

}  // namespace

TH_EMU_EXPORT const char* nvrtcGetErrorString(nvrtcResult r) {
  switch (r) {
    case 0:
      return "NVRTC_SUCCESS";
    case 1:
      return "NVRTC_ERROR_OUT_OF_MEMORY";
    case 2:
      return "NVRTC_ERROR_PROGRAM_CREATION_FAILURE";
    case 3:
      return "NVRTC_ERROR_INVALID_INPUT";
    case 4:
      return "NVRTC_ERROR_INVALID_PROGRAM";
    case 5:
      return "NVRTC_ERROR_INVALID_OPTION";
    case 6:
      return "NVRTC_ERROR_COMPILATION";
    case 7:
      return "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE";
    case 11:
      return "NVRTC_ERROR_INTERNAL_ERROR";
    default:
      return "NVRTC_ERROR unknown";
  }
}

TH_EMU_EXPORT nvrtcResult nvrtcVersion(int* major, int* minor) {
  if (!major || !minor) return kNvrtcInvalidInput;
  *major = 99;
  *minor = static_cast<int>(prelude_fingerprint() % 1000);
  return kNvrtcSuccess;
}

TH_EMU_EXPORT nvrtcResult nvrtcGetNumSupportedArchs(int* n) {
  if (!n) return kNvrtcInvalidInput;
  *n = 1;
  return kNvrtcSuccess;
}

TH_EMU_EXPORT nvrtcResult nvrtcGetSupportedArchs(int* archs) {
  if (!archs) return kNvrtcInvalidInput;
  archs[0] = kSupportedArch;
  return kNvrtcSuccess;
}

TH_EMU_EXPORT nvrtcResult nvrtcCreateProgram(nvrtcProgram* prog, const char* src,
                                             const char* name, int num_headers,
                                             const char* const* headers,
                                             const char* const* include_names) {
  if (!prog || !src || num_headers < 0 ||
      (num_headers > 0 && (!headers || !include_names)))
    return kNvrtcInvalidInput;
  auto* p = new _nvrtcProgram;
  p->source = src;
  p->name = name ? name : "default_program";
  for (int i = 0; i < num_headers; ++i) {
    if (!headers[i] || !include_names[i]) {
      delete p;
      return kNvrtcInvalidInput;
    }
    p->headers.emplace_back(include_names[i], headers[i]);
  }
  std::lock_guard<std::mutex> lock(programs().mu);
  programs().live.insert(p);
  *prog = p;
  return kNvrtcSuccess;
}

TH_EMU_EXPORT nvrtcResult nvrtcDestroyProgram(nvrtcProgram* prog) {
  if (!prog) return kNvrtcInvalidInput;
  std::lock_guard<std::mutex> lock(programs().mu);
  if (!programs().live.erase(*prog)) return kNvrtcInvalidProgram;
  delete *prog;
  *prog = nullptr;
  return kNvrtcSuccess;
}

TH_EMU_EXPORT nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int num_options,
                                              const char* const* options) {
  if (!valid(prog)) return kNvrtcInvalidProgram;
  if (num_options < 0 || (num_options > 0 && !options)) return kNvrtcInvalidInput;
  std::vector<std::string> opts;
  for (int i = 0; i < num_options; ++i) {
    if (!options[i]) return kNvrtcInvalidInput;
    opts.emplace_back(options[i]);
  }
  HostModule m = compile_module(prog->source, prog->name, prog->headers, opts);
  prog->compiled = m.ok;
  prog->log = std::move(m.log);
  prog->image = std::move(m.image);
  return m.ok ? kNvrtcSuccess : kNvrtcCompilation;
}

TH_EMU_EXPORT nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t* size) {
  return get_size(prog, size, true, true);
}
TH_EMU_EXPORT nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char* log) {
  return get_bytes(prog, log, true, true);
}
// PTX is text, NUL-terminated: one byte more than the image.
TH_EMU_EXPORT nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t* size) {
  return get_size(prog, size, true, false);
}
TH_EMU_EXPORT nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char* ptx) {
  return get_bytes(prog, ptx, true, false);
}
TH_EMU_EXPORT nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t* size) {
  return get_size(prog, size, false, false);
}
TH_EMU_EXPORT nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char* cubin) {
  return get_bytes(prog, cubin, false, false);
}

}  // namespace theanine::cuda_emu
