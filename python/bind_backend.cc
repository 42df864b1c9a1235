// Python bindings: compiled backends and their caches.
#include "python/bindings.h"

namespace theanine::py {

void bind_backend(pybind11::module_& m) {}

}  // namespace theanine::py
