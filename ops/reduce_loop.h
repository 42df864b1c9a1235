#pragma once
// The loop the reduction kernels are written through: visits an iteration
// shape with two strided operands and hands each innermost row to a typed
// kernel, so the per-element work inlines instead of going through a
// std::function call.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "runtime/ndarray.h"

namespace theanine::detail {

// Calls row(offset_a, offset_b, n, stride_a, stride_b) for every row of
// `shape`. The innermost loop runs over the dim where operand a moves least in
// memory, so transposed inputs are still read sequentially. Size-0 shapes make
// no calls; a 0-d shape makes one call with n = 1.
template <class Row>
void for_each_row2(const Shape& shape, const Shape& stride_a, const Shape& stride_b,
                   Row&& row) {
  const int nd = static_cast<int>(shape.size());
  for (int64_t d : shape)
    if (d == 0) return;
  if (nd == 0) {
    row(int64_t{0}, int64_t{0}, int64_t{1}, int64_t{0}, int64_t{0});
    return;
  }
  // Order the dims: the innermost is the one with the smallest nonzero stride of
  // a among dims longer than 1; the rest keep their order.
  std::vector<int> order(nd);
  std::iota(order.begin(), order.end(), 0);
  int inner = nd - 1;
  int64_t best = -1;
  for (int d = 0; d < nd; ++d) {
    int64_t s = std::llabs(stride_a[d]);
    if (shape[d] > 1 && s != 0 && (best < 0 || s < best)) best = s, inner = d;
  }
  order.erase(order.begin() + inner);
  order.push_back(inner);

  const int64_t n = shape[inner], sa = stride_a[inner], sb = stride_b[inner];
  const int outer = nd - 1;
  std::vector<int64_t> idx(outer, 0);
  int64_t oa = 0, ob = 0;
  while (true) {
    row(oa, ob, n, sa, sb);
    int k = outer - 1;
    for (; k >= 0; --k) {
      const int d = order[k];
      ++idx[k];
      oa += stride_a[d];
      ob += stride_b[d];
      if (idx[k] < shape[d]) break;
      oa -= stride_a[d] * shape[d];
      ob -= stride_b[d] * shape[d];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

}  // namespace theanine::detail
