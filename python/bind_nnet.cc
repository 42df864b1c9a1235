#include "python/bindings.h"
#include "python/convert.h"

namespace theanine::py {
void bind_nnet(pybind11::module_& m) {}
}  // namespace theanine::py
