#include "ops/index_region.h"

#include <algorithm>
#include <optional>

#include "ops/op_util.h"
#include "ops/shape_util.h"
#include "runtime/error.h"

namespace theanine::index_region {

namespace {

[[noreturn]] void out_of_bounds(const std::string& what, int64_t index, int axis,
                                int64_t n) {
  throw IndexError(what + ": index " + std::to_string(index) +
                   " is out of bounds for axis " + std::to_string(axis) + " with size " +
                   std::to_string(n));
}

// The index wrapped into [0, n) (Python's negative indices).
inline int64_t wrap(int64_t i, int axis, int64_t n, const std::string& what) {
  int64_t w = i < 0 ? i + n : i;
  if (w < 0 || w >= n) out_of_bounds(what, i, axis, n);
  return w;
}

struct SliceRange {
  int64_t start, stop, step, length;
};

// CPython's PySlice_AdjustIndices: clamps start/stop into the dim; with a
// negative step, stop -1 means "before element 0".
SliceRange adjust_slice(std::optional<int64_t> start, std::optional<int64_t> stop,
                        std::optional<int64_t> step, int64_t n, const std::string& what) {
  const int64_t st = step.value_or(1);
  if (st == 0) throw ValueError(what + ": slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t i = *v;
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  SliceRange r{clamp(start, st < 0 ? n - 1 : 0), clamp(stop, st < 0 ? -1 : n), st, 0};
  if (st < 0)
    r.length = r.stop < r.start ? (r.start - r.stop - 1) / -st + 1 : 0;
  else
    r.length = r.start < r.stop ? (r.stop - r.start - 1) / st + 1 : 0;
  return r;
}

void check_index_var(const Var& v, const std::string& what, bool scalar) {
  if (is_bool(v.dtype()))
    throw TypeError(what + ": boolean mask indexing is not supported (index " +
                    v->describe() + ")");
  if (!is_integer(v.dtype()))
    throw TypeError(what + ": indices must be integers, got " + v->describe());
  if (scalar && v.ndim() != 0)
    throw TypeError(what + ": an integer index must be a scalar, got " + v->describe());
}

int consumed_dims(const IndexSpec& spec) {
  return static_cast<int>(std::count_if(
      spec.begin(), spec.end(),
      [](const IndexEntry& e) { return e.kind != IndexEntry::Kind::NewAxis; }));
}

void check_arity(int ndim, const IndexSpec& spec, size_t nvalues,
                 const std::string& what) {
  const int used = consumed_dims(spec);
  if (used > ndim)
    throw IndexError(what + ": too many indices for a tensor of ndim " +
                     std::to_string(ndim) + " (the key indexes " + std::to_string(used) +
                     " dims)");
  size_t expect = 0;
  for (const IndexEntry& e : spec) expect += e.num_inputs();
  if (nvalues != expect)
    throw ValueError(what + ": the key needs " + std::to_string(expect) +
                     " values, got " + std::to_string(nvalues));
}

// The region's shape from the dims of x after slicing/newaxis (`sizes`, with
// `adv` marking the dims an index array replaces) and the broadcast shape of
// the index arrays: NumPy puts the broadcast dims in place of adjacent advanced
// indices, else first.
Shape compose(const std::vector<bool>& adv, const Shape& sizes, const Shape& bshape,
              int* pre_count) {
  std::vector<int> pos;
  for (size_t i = 0; i < adv.size(); ++i)
    if (adv[i]) pos.push_back(static_cast<int>(i));
  bool adjacent =
      pos.empty() || pos.back() - pos.front() + 1 == static_cast<int>(pos.size());
  const int first = pos.empty() ? 0 : pos.front();
  Shape pre, post;
  for (size_t i = 0; i < adv.size(); ++i) {
    if (adv[i]) continue;
    (adjacent && static_cast<int>(i) < first ? pre : post).push_back(sizes[i]);
  }
  *pre_count = static_cast<int>(pre.size());
  Shape out = pre;
  out.insert(out.end(), bshape.begin(), bshape.end());
  out.insert(out.end(), post.begin(), post.end());
  return out;
}

Shape broadcast_indices(const std::vector<Shape>& shapes, const std::string& what) {
  try {
    return broadcast_shapes(shapes);
  } catch (const ShapeError&) {
    std::string msg = what +
                      ": shape mismatch: indexing arrays could not be broadcast "
                      "together with shapes";
    for (const Shape& s : shapes) msg += " " + shape_str(s);
    throw IndexError(msg);
  }
}

}  // namespace

TensorType region_type(const Var& x, const IndexSpec& spec,
                       const std::vector<Var>& values, const std::string& what) {
  const TensorType& xt = x.type();
  check_arity(xt.ndim(), spec, values.size(), what);
  const bool advanced = spec_is_advanced(spec);
  std::vector<bool> adv;
  Shape sizes;
  std::vector<Shape> index_shapes;
  size_t k = 0;
  int xa = 0;
  for (const IndexEntry& e : spec) {
    switch (e.kind) {
      case IndexEntry::Kind::Int:
      case IndexEntry::Kind::Array: {
        const Var& v = values[k++];
        const bool scalar = e.kind == IndexEntry::Kind::Int;
        check_index_var(v, what, scalar);
        const int64_t n = xt.shape[xa];
        if (auto c = constant_value(v); c && n >= 0)
          for (int64_t i : shape_util::int_values(*c)) wrap(i, xa, n, what);
        if (advanced || !scalar) {
          adv.push_back(true);
          sizes.push_back(0);
          index_shapes.push_back(v.type().shape);
        }
        ++xa;
        break;
      }
      case IndexEntry::Kind::Slice: {
        std::optional<int64_t> b[3];
        const bool has[3] = {e.has_start, e.has_stop, e.has_step};
        static const char* names[] = {"start", "stop", "step"};
        bool all_const = true;
        for (int j = 0; j < 3; ++j) {
          if (!has[j]) continue;
          const Var& v = values[k++];
          shape_util::require_int_scalar(v, what + ": slice " + names[j]);
          b[j] = constant_int(v);
          if (!b[j]) all_const = false;
        }
        if (b[2] && *b[2] == 0) throw ValueError(what + ": slice step cannot be zero");
        const int64_t n = xt.shape[xa];
        adv.push_back(false);
        sizes.push_back(
            n >= 0 && all_const ? adjust_slice(b[0], b[1], b[2], n, what).length : -1);
        ++xa;
        break;
      }
      case IndexEntry::Kind::NewAxis:
        adv.push_back(false);
        sizes.push_back(1);
        break;
    }
  }
  for (; xa < xt.ndim(); ++xa) {
    adv.push_back(false);
    sizes.push_back(xt.shape[xa]);
  }
  int pre = 0;
  Shape bshape = advanced ? broadcast_indices(index_shapes, what) : Shape{};
  return TensorType(xt.dtype, compose(adv, sizes, bshape, &pre));
}

Region locate(const NDArray& x, const IndexSpec& spec, const std::vector<NDArray>& values,
              const std::string& what) {
  check_arity(x.ndim(), spec, values.size(), what);
  const bool advanced = spec_is_advanced(spec);
  struct AdvIndex {
    int view_axis, x_axis;
    NDArray value;
  };
  std::vector<AdvIndex> arrays;
  NDArray v = x;
  size_t k = 0;
  int ax = 0, xa = 0;
  for (const IndexEntry& e : spec) {
    switch (e.kind) {
      case IndexEntry::Kind::Int:
      case IndexEntry::Kind::Array:
        if (advanced || e.kind == IndexEntry::Kind::Array) {
          arrays.push_back({ax++, xa++, values[k++]});
        } else {
          const int64_t i = values[k++].item_int();
          v = v.index(ax, wrap(i, xa, v.shape(ax), what));
          ++xa;
        }
        break;
      case IndexEntry::Kind::Slice: {
        std::optional<int64_t> b[3];
        if (e.has_start) b[0] = values[k++].item_int();
        if (e.has_stop) b[1] = values[k++].item_int();
        if (e.has_step) b[2] = values[k++].item_int();
        SliceRange r = adjust_slice(b[0], b[1], b[2], v.shape(ax), what);
        v = v.slice(ax, r.start, r.stop, r.step);
        ++ax, ++xa;
        break;
      }
      case IndexEntry::Kind::NewAxis:
        v = v.expand_dims(ax++);
        break;
    }
  }
  Region r;
  r.advanced = advanced;
  if (!advanced) {
    r.shape = v.shape();
    r.view = v;
    return r;
  }

  // Offset of each broadcast index tuple, bounds-checked.
  std::vector<Shape> index_shapes;
  for (const AdvIndex& a : arrays) index_shapes.push_back(a.value.shape());
  const Shape bshape = broadcast_indices(index_shapes, what);
  const int64_t nb = shape_size(bshape);
  std::vector<int64_t> adv_off(nb, 0);
  std::vector<bool> is_adv(v.ndim(), false);
  for (const AdvIndex& a : arrays) {
    is_adv[a.view_axis] = true;
    NDArray idx = a.value.broadcast_to(bshape).astype(DType::Int64);
    const int64_t* p = idx.data<int64_t>();
    const int64_t n = v.shape(a.view_axis), stride = v.strides()[a.view_axis];
    for (int64_t b = 0; b < nb; ++b) adv_off[b] += wrap(p[b], a.x_axis, n, what) * stride;
  }

  // Offsets of the other dims, in their order; the region is (pre, B, post).
  Shape rest_shape, rest_strides;
  for (int d = 0; d < v.ndim(); ++d) {
    if (is_adv[d]) continue;
    rest_shape.push_back(v.shape(d));
    rest_strides.push_back(v.strides()[d]);
  }
  std::vector<int64_t> rest_off;
  rest_off.reserve(shape_size(rest_shape));
  for_each_offsets(rest_shape, {&rest_strides},
                   [&](const int64_t* o) { rest_off.push_back(o[0]); });
  int pre_count = 0;
  r.shape = compose(is_adv, v.shape(), bshape, &pre_count);
  const int64_t npre =
      shape_size(Shape(rest_shape.begin(), rest_shape.begin() + pre_count));
  const int64_t npost =
      shape_size(Shape(rest_shape.begin() + pre_count, rest_shape.end()));
  r.offsets.resize(npre * nb * npost);
  int64_t* out = r.offsets.data();
  for (int64_t p = 0; p < npre; ++p)
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t q = 0; q < npost; ++q) *out++ = rest_off[p * npost + q] + adv_off[b];
  r.view = v;
  return r;
}

}  // namespace theanine::index_region
