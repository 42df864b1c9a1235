// Python bindings: optimizer update rules.
#include "python/bindings.h"

namespace theanine::py {

void bind_updates(pybind11::module_& m) {}

}  // namespace theanine::py
