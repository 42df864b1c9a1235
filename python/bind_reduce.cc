#include "python/bindings.h"
#include "python/convert.h"

namespace theanine::py {
void bind_reduce(pybind11::module_& m) {}
}  // namespace theanine::py
