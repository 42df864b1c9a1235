// Python bindings: random streams.
#include "python/bindings.h"

namespace theanine::py {

void bind_random(pybind11::module_& m) {}

}  // namespace theanine::py
