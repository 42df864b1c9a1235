// theanine._core's CUDA entry points: whether the device and NVRTC are there,
// and what the device is. (Placement of data and functions on the GPU is later
// work; these let Python code and tests ask before trying.)
#include <pybind11/pybind11.h>

#include "runtime/cuda_driver.h"

namespace theanine::py {

void bind_cuda(pybind11::module_& m) {
  m.def("cuda_available", &cuda_available,
        "True when libcuda, NVRTC and cuBLAS load and a CUDA device answers.");
  m.def("cuda_unavailable_reason", &cuda_unavailable_reason,
        "Why cuda_available() is False ('' when it is True).");
  m.def("nvrtc_available", &nvrtc_available,
        "True when NVRTC loads (CUDA kernels can be compiled, GPU or not).");
  m.def(
      "cuda_device_info",
      [] {
        const cuda::DeviceInfo& d = cuda::device_info();
        pybind11::dict info;
        info["name"] = d.name;
        info["compute_capability"] = pybind11::make_tuple(d.cc_major, d.cc_minor);
        info["multiprocessors"] = d.multiprocessors;
        info["total_memory"] = d.total_memory;
        info["driver_version"] = d.driver_version;
        return info;
      },
      "The CUDA device theanine uses (name, compute_capability, multiprocessors, "
      "total_memory, driver_version); RuntimeError when there is none.");
}

}  // namespace theanine::py
