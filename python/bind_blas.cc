#include "python/bindings.h"
#include "python/convert.h"

namespace theanine::py {
void bind_blas(pybind11::module_& m) {}
}  // namespace theanine::py
