#pragma once
// Where x[key] lies in x, statically (its type) and at run time (a view, or the
// element offsets of an advanced index). Shared by the indexing ops and
// set/inc_subtensor (internal to ops/).
#include <cstdint>
#include <string>
#include <vector>

#include "graph/type.h"
#include "graph/variable.h"
#include "ops/subtensor.h"
#include "runtime/ndarray.h"

namespace theanine::index_region {

// The type of x[key] given the key's value variables; validates dtypes, ndims,
// and what constants and known dims allow (IndexError for an out-of-range
// constant index, ValueError for a zero step). `what` prefixes messages.
TensorType region_type(const Var& x, const IndexSpec& spec,
                       const std::vector<Var>& values, const std::string& what);

struct Region {
  bool advanced = false;
  // Basic: the region itself (a view of x). Advanced: x after the slices and
  // newaxis entries, which `offsets` index into.
  NDArray view;
  Shape shape;  // the region's shape
  // Advanced: for every element of the region in C order, its offset in
  // elements from view.raw().
  std::vector<int64_t> offsets;
};

// Locates x[key] for the run-time values of the key; IndexError for an index out
// of range (naming the index, the axis and its size) or index arrays that do
// not broadcast together.
Region locate(const NDArray& x, const IndexSpec& spec, const std::vector<NDArray>& values,
              const std::string& what);

}  // namespace theanine::index_region
