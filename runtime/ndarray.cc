#include "runtime/ndarray.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "runtime/allocator.h"
#include "runtime/cuda_array.h"
#include "runtime/error.h"

namespace theanine {

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) os << ", ";
    if (shape[i] < 0)
      os << "?";
    else
      os << shape[i];
  }
  if (shape.size() == 1) os << ",";
  os << ")";
  return os.str();
}

Shape contiguous_strides(const Shape& shape) {
  Shape s(shape.size());
  int64_t acc = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    s[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return s;
}

int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NDArray NDArray::empty(DType dtype, const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw ShapeError("negative dimension in shape " + shape_str(shape));
  NDArray a;
  a.dtype_ = dtype;
  a.shape_ = shape;
  a.strides_ = contiguous_strides(shape);
  size_t nbytes = std::max<size_t>(shape_size(shape) * itemsize(dtype), 1);
  a.buffer_ = std::make_shared<Buffer>();
  a.buffer_->keepalive = allocate_host(nbytes);
  a.buffer_->data = a.buffer_->keepalive.get();
  a.buffer_->nbytes = nbytes;
  return a;
}

NDArray NDArray::zeros(DType dtype, const Shape& shape) {
  NDArray a = empty(dtype, shape);
  std::memset(a.raw(), 0, a.nbytes());
  return a;
}

NDArray NDArray::scalar(DType dtype, double value) {
  NDArray a = empty(dtype, {});
  a.set_item_double(0, value);
  return a;
}

NDArray NDArray::borrow(void* data, DType dtype, const Shape& shape, const Shape& strides,
                        std::shared_ptr<void> keepalive, size_t nbytes) {
  NDArray a;
  a.dtype_ = dtype;
  a.shape_ = shape;
  a.strides_ = strides;
  a.buffer_ = std::make_shared<Buffer>();
  a.buffer_->data = data;
  a.buffer_->nbytes = nbytes;
  a.buffer_->keepalive = std::move(keepalive);
  return a;
}

int64_t NDArray::size() const { return shape_size(shape_); }

void* NDArray::raw() const {
  return static_cast<char*>(buffer_->data) +
         offset_ * static_cast<int64_t>(itemsize(dtype_));
}

bool NDArray::is_contiguous() const {
  int64_t expect = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (shape_[i] == 0) return true;
    if (strides_[i] != expect) return false;
    expect *= shape_[i];
  }
  return true;
}

bool NDArray::shares_memory(const NDArray& other) const {
  if (!defined() || !other.defined()) return false;
  if (buffer_ == other.buffer_ || buffer_->data == other.buffer_->data) return true;
  auto lo1 = static_cast<char*>(buffer_->data), hi1 = lo1 + buffer_->nbytes;
  auto lo2 = static_cast<char*>(other.buffer_->data), hi2 = lo2 + other.buffer_->nbytes;
  return lo1 < hi2 && lo2 < hi1;
}

namespace {
int64_t flat_to_offset(const Shape& shape, const Shape& strides, int64_t flat) {
  int64_t off = 0;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    int64_t d = shape[i];
    off += (flat % d) * strides[i];
    flat /= d;
  }
  return off;
}
}  // namespace

double NDArray::item_double(int64_t flat) const {
  if (on_device(*this)) return to_host(*this).item_double(flat);
  int64_t off = flat_to_offset(shape_, strides_, flat);
  return dispatch_dtype(dtype_, [&](auto t) -> double {
    using T = decltype(t);
    return static_cast<double>(data<T>()[off]);
  });
}

int64_t NDArray::item_int(int64_t flat) const {
  if (on_device(*this)) return to_host(*this).item_int(flat);
  int64_t off = flat_to_offset(shape_, strides_, flat);
  return dispatch_dtype(dtype_, [&](auto t) -> int64_t {
    using T = decltype(t);
    return static_cast<int64_t>(data<T>()[off]);
  });
}

void NDArray::set_item_double(int64_t flat, double v) {
  if (on_device(*this))
    throw Error(
        "set_item_double on an array in device memory; copy it to the host first");
  int64_t off = flat_to_offset(shape_, strides_, flat);
  dispatch_dtype(dtype_, [&](auto t) {
    using T = decltype(t);
    data<T>()[off] = static_cast<T>(v);
  });
}

NDArray NDArray::transpose(const std::vector<int>& perm) const {
  if (static_cast<int>(perm.size()) != ndim())
    throw ValueError("transpose: permutation has " + std::to_string(perm.size()) +
                     " axes, array has " + std::to_string(ndim()));
  NDArray r = *this;
  for (int i = 0; i < ndim(); ++i) {
    r.shape_[i] = shape_[perm[i]];
    r.strides_[i] = strides_[perm[i]];
  }
  return r;
}

NDArray NDArray::broadcast_to(const Shape& shape) const {
  if (shape.size() < shape_.size())
    throw ShapeError("cannot broadcast " + shape_str(shape_) + " to " + shape_str(shape));
  NDArray r = *this;
  size_t lead = shape.size() - shape_.size();
  r.shape_ = shape;
  r.strides_.assign(shape.size(), 0);
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] == shape[lead + i]) {
      r.strides_[lead + i] = shape_[i] == 1 ? 0 : strides_[i];
    } else if (shape_[i] != 1) {
      throw ShapeError("cannot broadcast " + shape_str(shape_) + " to " +
                       shape_str(shape));
    }
  }
  return r;
}

NDArray NDArray::slice(int axis, int64_t start, int64_t stop, int64_t step) const {
  NDArray r = *this;
  int64_t n = step > 0 ? std::max<int64_t>(0, (stop - start + step - 1) / step)
                       : std::max<int64_t>(0, (start - stop + (-step) - 1) / (-step));
  if (n > 0) r.offset_ += start * strides_[axis];
  r.shape_[axis] = n;
  r.strides_[axis] = strides_[axis] * step;
  return r;
}

NDArray NDArray::index(int axis, int64_t i) const {
  NDArray r = *this;
  r.offset_ += i * strides_[axis];
  r.shape_.erase(r.shape_.begin() + axis);
  r.strides_.erase(r.strides_.begin() + axis);
  return r;
}

NDArray NDArray::expand_dims(int axis) const {
  NDArray r = *this;
  r.shape_.insert(r.shape_.begin() + axis, 1);
  r.strides_.insert(r.strides_.begin() + axis, 0);
  return r;
}

NDArray NDArray::reshape(const Shape& shape) const {
  if (shape_size(shape) != size())
    throw ShapeError("cannot reshape array of shape " + shape_str(shape_) + " (size " +
                     std::to_string(size()) + ") into shape " + shape_str(shape));
  NDArray base = is_contiguous() ? *this : copy();
  base.shape_ = shape;
  base.strides_ = contiguous_strides(shape);
  return base;
}

void NDArray::assign(const NDArray& src_in) {
  if (on_device(*this)) return device_assign(*this, src_in);
  if (on_device(src_in)) return assign(to_host(src_in));
  NDArray src = src_in.broadcast_to(shape_);
  if (ndim() == 0) {
    src = src.reshape({1});
    NDArray(*this).reshape({1}).assign(src);
    return;
  }
  // The outer dims through for_each_offsets, the last one as a tight typed
  // loop: one indirect call per row, not per element.
  const int last = ndim() - 1;
  const Shape outer(shape_.begin(), shape_.end() - 1);
  const Shape dst_outer(strides_.begin(), strides_.end() - 1);
  const Shape src_outer(src.strides_.begin(), src.strides_.end() - 1);
  const int64_t n = shape_[last], ds = strides_[last], ss = src.strides_[last];
  dispatch_dtype(dtype_, [&](auto t) {
    using T = decltype(t);
    T* dst = data<T>();
    dispatch_dtype(src.dtype_, [&](auto s) {
      using S = decltype(s);
      const S* sp = src.data<S>();
      for_each_offsets(outer, {&dst_outer, &src_outer}, [&](const int64_t* o) {
        T* d = dst + o[0];
        const S* p = sp + o[1];
        for (int64_t i = 0; i < n; ++i) d[i * ds] = static_cast<T>(p[i * ss]);
      });
    });
  });
}

NDArray NDArray::copy() const { return astype(dtype_); }

NDArray NDArray::contiguous() const { return is_contiguous() ? *this : copy(); }

NDArray NDArray::astype(DType dtype) const {
  if (on_device(*this)) {
    NDArray r = device_empty(dtype, shape_);
    device_assign(r, *this);
    return r;
  }
  NDArray r = empty(dtype, shape_);
  if (dtype == dtype_ && is_contiguous()) {
    std::memcpy(r.raw(), raw(), nbytes());
  } else {
    r.assign(*this);
  }
  return r;
}

std::string NDArray::str() const {
  if (on_device(*this)) return "cuda " + to_host(*this).str();
  std::ostringstream os;
  os << "array(" << dtype_name(dtype_) << ", shape=" << shape_str(shape_) << ", [";
  int64_t n = std::min<int64_t>(size(), 10);
  for (int64_t i = 0; i < n; ++i) os << (i ? ", " : "") << item_double(i);
  if (size() > n) os << ", ...";
  os << "])";
  return os.str();
}

void for_each_offsets(const Shape& shape, const std::vector<const Shape*>& strides,
                      const std::function<void(const int64_t* offsets)>& f) {
  const int nd = static_cast<int>(shape.size());
  const size_t k = strides.size();
  for (int64_t d : shape)
    if (d == 0) return;
  std::vector<int64_t> offsets(k, 0);
  if (nd == 0) {
    f(offsets.data());
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  const int64_t inner = shape[nd - 1];
  std::vector<int64_t> inner_stride(k);
  for (size_t j = 0; j < k; ++j) inner_stride[j] = (*strides[j])[nd - 1];
  while (true) {
    std::vector<int64_t> o = offsets;
    for (int64_t i = 0; i < inner; ++i) {
      f(o.data());
      for (size_t j = 0; j < k; ++j) o[j] += inner_stride[j];
    }
    // Advance the odometer over the outer dimensions.
    int axis = nd - 2;
    for (; axis >= 0; --axis) {
      ++idx[axis];
      for (size_t j = 0; j < k; ++j) offsets[j] += (*strides[j])[axis];
      if (idx[axis] < shape[axis]) break;
      for (size_t j = 0; j < k; ++j) offsets[j] -= (*strides[j])[axis] * shape[axis];
      idx[axis] = 0;
    }
    if (axis < 0) return;
  }
}

}  // namespace theanine
