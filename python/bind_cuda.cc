// theanine._core's CUDA entry points: whether the device and NVRTC are there,
// what the device is, where new shared variables and functions go (Theano's
// device flag), and DeviceArray, an array kept in device memory.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "graph/variable.h"
#include "python/convert.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_memory.h"
#include "runtime/error.h"

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
  m.def(
      "set_default_device",
      [](const std::string& name) { set_default_device(parse_device(name)); },
      pybind11::arg("device"),
      "Where new shared variables live and functions run unless told: 'cpu' or "
      "'cuda' (RuntimeError naming the reason when CUDA is not available).");
  m.def("default_device", [] { return std::string(device_name(default_device())); });
  m.def(
      "shared_device",
      [](const Var& v) { return std::string(device_name(shared_device(v))); },
      pybind11::arg("variable"));
  m.def(
      "move_shared",
      [](const Var& v, const std::string& device) {
        move_shared(v, parse_device(device));
      },
      pybind11::arg("variable"), pybind11::arg("device"));
  m.def(
      "cuda_allocator_stats",
      [] {
        CudaAllocatorStats s = cuda_allocator_stats();
        pybind11::dict d;
        d["bytes_in_use"] = s.bytes_in_use;
        d["peak_bytes_in_use"] = s.peak_bytes_in_use;
        d["bytes_cached"] = s.bytes_cached;
        d["allocations"] = s.allocations;
        d["hits"] = s.hits;
        d["fresh"] = s.fresh;
        return d;
      },
      "The device allocator's counters.");

  m.def(
      "cuda_work_counts",
      [] {
        cuda::WorkCounts w = cuda::work_counts();
        pybind11::dict d;
        d["launches"] = w.launches;
        d["blas_calls"] = w.blas_calls;
        d["copies_to_device"] = w.copies_to_device;
        d["copies_to_host"] = w.copies_to_host;
        d["copies_on_device"] = w.copies_on_device;
        d["synchronizations"] = w.synchronizations;
        d["graph_launches"] = w.graph_launches;
        return d;
      },
      "What theanine has queued on the device since the process began: kernel "
      "launches from the host, cuBLAS calls, copies, waits, graph launches.");
  m.def("cuda_synchronize", &cuda::synchronize,
        "Waits until the device has done everything theanine queued.");

  pybind11::class_<DeviceArray>(m, "DeviceArray",
                                "An array in CUDA device memory. np.asarray(a) or "
                                "a.get() copies it to the host; functions take it "
                                "as an argument without a copy.")
      .def_property_readonly("shape",
                             [](const DeviceArray& a) {
                               pybind11::tuple t(a.value.ndim());
                               for (int d = 0; d < a.value.ndim(); ++d)
                                 t[d] = a.value.shape(d);
                               return t;
                             })
      .def_property_readonly(
          "dtype", [](const DeviceArray& a) { return numpy_dtype(a.value.dtype()); })
      .def_property_readonly("ndim", [](const DeviceArray& a) { return a.value.ndim(); })
      .def_property_readonly("size", [](const DeviceArray& a) { return a.value.size(); })
      .def(
          "get", [](const DeviceArray& a) { return numpy_from_ndarray(a.value); },
          "A NumPy copy on the host.")
      .def(
          "__array__",
          [](const DeviceArray& a, const pybind11::object& dtype,
             const pybind11::object&) {
            pybind11::object host = numpy_from_ndarray(a.value);
            if (!dtype.is_none()) return host.attr("astype")(dtype);
            return host;
          },
          pybind11::arg("dtype") = pybind11::none(),
          pybind11::arg("copy") = pybind11::none())
      .def("__len__",
           [](const DeviceArray& a) {
             if (a.value.ndim() == 0) throw TypeError("len() of a 0-d DeviceArray");
             return a.value.shape(0);
           })
      .def("__repr__", [](const DeviceArray& a) {
        return "DeviceArray(shape=" + shape_str(a.value.shape()) +
               ", dtype=" + dtype_name(a.value.dtype()) + ")";
      });
  m.def(
      "to_device",
      [](const pybind11::object& value) {
        return DeviceArray{to_device(ndarray_from_object(value, "to_device"))};
      },
      pybind11::arg("value"), "A DeviceArray copy of an array-like.");
}

}  // namespace theanine::py
