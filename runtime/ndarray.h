#pragma once
// NDArray: a typed, strided view of a reference-counted buffer. Strides are in
// elements (not bytes); views share the buffer, so slicing never copies.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/dtype.h"

namespace theanine {

using Shape = std::vector<int64_t>;

enum class DeviceKind : uint8_t { CPU, CUDA };

// Memory owned by an allocator or borrowed from someone else (a NumPy array): the
// `keepalive` holds whatever must live as long as the memory is used.
struct Buffer {
  void* data = nullptr;
  size_t nbytes = 0;
  DeviceKind device = DeviceKind::CPU;
  std::shared_ptr<void> keepalive;
};

class NDArray {
 public:
  NDArray() = default;
  // A new contiguous (C order) array; contents uninitialized.
  static NDArray empty(DType dtype, const Shape& shape);
  static NDArray zeros(DType dtype, const Shape& shape);
  // A 0-d array holding one value converted to dtype.
  static NDArray scalar(DType dtype, double value);
  // An array over memory someone else owns; `keepalive` is held by the view.
  static NDArray borrow(void* data, DType dtype, const Shape& shape, const Shape& strides,
                        std::shared_ptr<void> keepalive, size_t nbytes);
  template <class T>
  static NDArray from_vector(const std::vector<T>& values, const Shape& shape);

  bool defined() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  const Shape& shape() const { return shape_; }
  int64_t shape(int axis) const { return shape_[axis]; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t size() const;
  size_t nbytes() const { return size() * itemsize(dtype_); }
  const std::shared_ptr<Buffer>& buffer() const { return buffer_; }

  // Pointer to the first element (the buffer plus the offset).
  void* raw() const;
  template <class T>
  T* data() const {
    return static_cast<T*>(raw());
  }

  bool is_contiguous() const;
  // True when both arrays may touch the same memory.
  bool shares_memory(const NDArray& other) const;

  // Element at a flat C-order index, converted (for tests and small reads).
  double item_double(int64_t flat_index = 0) const;
  int64_t item_int(int64_t flat_index = 0) const;
  void set_item_double(int64_t flat_index, double v);

  // Views (no copy).
  NDArray transpose(const std::vector<int>& perm) const;
  NDArray broadcast_to(const Shape& shape) const;
  NDArray slice(int axis, int64_t start, int64_t stop, int64_t step) const;
  NDArray index(int axis, int64_t i) const;  // drops the axis
  NDArray expand_dims(int axis) const;
  // A view when the layout allows, else a copy.
  NDArray reshape(const Shape& shape) const;

  // A contiguous copy (always a new buffer).
  NDArray copy() const;
  // This array when contiguous, else a contiguous copy.
  NDArray contiguous() const;
  // A converted contiguous copy (a plain copy when dtype is the same).
  NDArray astype(DType dtype) const;
  // Copies src (broadcast to this shape, converted) into this array's elements.
  void assign(const NDArray& src);

  std::string str() const;  // for error messages and debugging

 private:
  DType dtype_ = DType::Float32;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  std::shared_ptr<Buffer> buffer_;
};

std::string shape_str(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
int64_t shape_size(const Shape& shape);

// Visits every element of `shape` in C order, passing the element offset of each
// of the k operands (given by their strides). The innermost dimension is a tight
// loop, so this is the building block of the reference kernels.
void for_each_offsets(const Shape& shape, const std::vector<const Shape*>& strides,
                      const std::function<void(const int64_t* offsets)>& f);

template <class T>
NDArray NDArray::from_vector(const std::vector<T>& values, const Shape& shape) {
  NDArray a = empty(dtype_of<T>(), shape);
  T* p = a.data<T>();
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(a.size()); ++i)
    p[i] = values[i];
  return a;
}

}  // namespace theanine
