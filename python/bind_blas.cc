// _core.dot, batched_dot, outer.
#include "ops/blas.h"
#include "python/bindings.h"
#include "python/convert.h"

namespace theanine::py {

void bind_blas(pyb::module_& m) {
  m.def(
      "dot", [](const Var& a, const Var& b) { return dot(a, b); }, pyb::arg("a"),
      pyb::arg("b"),
      "numpy.dot: vector/matrix products and N-d sums over a's last and b's "
      "second-to-last axis.");
  m.def(
      "batched_dot", [](const Var& a, const Var& b) { return batched_dot(a, b); },
      pyb::arg("a"), pyb::arg("b"),
      "Products along a shared batch axis: (B, n, m) x (B, m, k) -> (B, n, k), and the "
      "(B, m) vector mixes.");
  m.def(
      "outer", [](const Var& a, const Var& b) { return outer(a, b); }, pyb::arg("a"),
      pyb::arg("b"), "numpy.outer of the flattened inputs.");
}

}  // namespace theanine::py
