#pragma once
#include <pybind11/pybind11.h>

namespace theanine::py {
void bind_graph(
    pybind11::module_& m);  // bind_graph.cc: Variable, inputs, constants, shared
void bind_elemwise(pybind11::module_& m);   // bind_elemwise.cc
void bind_reduce(pybind11::module_& m);     // bind_reduce.cc
void bind_blas(pybind11::module_& m);       // bind_blas.cc
void bind_shape(pybind11::module_& m);      // bind_shape.cc
void bind_subtensor(pybind11::module_& m);  // bind_subtensor.cc
void bind_function(pybind11::module_& m);   // bind_function.cc
void bind_data(pybind11::module_& m);       // bind_data.cc: IDX reader
void bind_gradient(pybind11::module_& m);   // bind_gradient.cc: grad, Lop, Rop, jacobian
void bind_nnet(pybind11::module_& m);       // bind_nnet.cc: softmax family
void bind_conv(pybind11::module_& m);       // bind_conv.cc: conv2d, pooling, batchnorm
void bind_random(pybind11::module_& m);     // bind_random.cc: random streams
void bind_updates(pybind11::module_& m);    // bind_updates.cc: optimizer update rules
void bind_backend(pybind11::module_& m);    // bind_backend.cc: compiled backends, caches
void bind_cuda(pybind11::module_& m);  // bind_cuda.cc: CUDA device and NVRTC presence
}  // namespace theanine::py
