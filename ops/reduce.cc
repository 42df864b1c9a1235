#include "ops/reduce.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>

#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/reduce_axes.h"
#include "ops/reduce_loop.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

// Integer sums and products wrap around like NumPy's instead of overflowing
// into undefined behaviour.
inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

template <class T>
constexpr bool kFloat = std::is_floating_point_v<T>;

// Sum and product: floats keep their dtype (accumulated in double), everything
// else becomes int64.
template <class T>
using WideOut = std::conditional_t<kFloat<T>, T, int64_t>;
template <class T>
using WideAcc = std::conditional_t<kFloat<T>, double, int64_t>;

// The reduction kinds. Each says, for an input element type T, its accumulator
// type, identity, how an element folds in, and the output type; the one switch
// in with_kind() maps the enum onto these.
struct KindDefaults {
  static constexpr bool has_identity = true;
  // The output element from the accumulator and the number of elements folded.
  template <class O, class A>
  static O finalize(A acc, int64_t) {
    return static_cast<O>(acc);
  }
};

struct SumK : KindDefaults {
  static constexpr const char* name = "sum";
  template <class T>
  using Acc = WideAcc<T>;
  template <class T>
  using Out = WideOut<T>;
  template <class T>
  static Acc<T> identity() {
    return 0;
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    if constexpr (kFloat<A>)
      acc += static_cast<A>(x);
    else
      acc = wrap_add(acc, static_cast<A>(x));
  }
};

struct ProdK : KindDefaults {
  static constexpr const char* name = "prod";
  template <class T>
  using Acc = WideAcc<T>;
  template <class T>
  using Out = WideOut<T>;
  template <class T>
  static Acc<T> identity() {
    return 1;
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    if constexpr (kFloat<A>)
      acc *= static_cast<A>(x);
    else
      acc = wrap_mul(acc, static_cast<A>(x));
  }
};

struct MeanK : KindDefaults {
  static constexpr const char* name = "mean";
  template <class T>
  using Acc = double;
  template <class T>
  using Out = std::conditional_t<std::is_same_v<T, float>, float, double>;
  template <class T>
  static Acc<T> identity() {
    return 0;
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    acc += static_cast<A>(x);
  }
  // An empty mean is 0/0 = nan, as in NumPy.
  template <class O, class A>
  static O finalize(A acc, int64_t n) {
    return static_cast<O>(acc / static_cast<double>(n));
  }
};

// Max and min propagate NaN: once the accumulator is NaN nothing replaces it,
// and a NaN element always replaces the accumulator.
struct MaxK : KindDefaults {
  static constexpr const char* name = "max";
  static constexpr bool has_identity = false;
  template <class T>
  using Acc = T;
  template <class T>
  using Out = T;
  template <class T>
  static T identity() {
    if constexpr (kFloat<T>) return -std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::lowest();
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    if (x > acc || x != x) acc = x;
  }
};

struct MinK : KindDefaults {
  static constexpr const char* name = "min";
  static constexpr bool has_identity = false;
  template <class T>
  using Acc = T;
  template <class T>
  using Out = T;
  template <class T>
  static T identity() {
    if constexpr (kFloat<T>) return std::numeric_limits<T>::infinity();
    return std::numeric_limits<T>::max();
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    if (x < acc || x != x) acc = x;
  }
};

struct AllK : KindDefaults {
  static constexpr const char* name = "all";
  template <class T>
  using Acc = bool;
  template <class T>
  using Out = bool;
  template <class T>
  static bool identity() {
    return true;
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    acc = acc && x != T(0);
  }
};

struct AnyK : KindDefaults {
  static constexpr const char* name = "any";
  template <class T>
  using Acc = bool;
  template <class T>
  using Out = bool;
  template <class T>
  static bool identity() {
    return false;
  }
  template <class A, class T>
  static void combine(A& acc, T x) {
    acc = acc || x != T(0);
  }
};

template <class F>
decltype(auto) with_kind(ReduceKind kind, F&& f) {
  switch (kind) {
    case ReduceKind::Sum:
      return f(SumK{});
    case ReduceKind::Prod:
      return f(ProdK{});
    case ReduceKind::Mean:
      return f(MeanK{});
    case ReduceKind::Max:
      return f(MaxK{});
    case ReduceKind::Min:
      return f(MinK{});
    case ReduceKind::All:
      return f(AllK{});
    case ReduceKind::Any:
      break;
  }
  return f(AnyK{});
}

// Reduces `x` over `axes` into a contiguous array of x's shape with the reduced
// dims set to 1. Every output element starts at the identity and folds in its
// elements; with no elements to fold, max and min are rejected by the caller.
template <class K, class T>
NDArray reduce_typed(const NDArray& x, const std::vector<int>& axes, int64_t count) {
  using A = typename K::template Acc<T>;
  using O = typename K::template Out<T>;
  Shape kept = x.shape();
  for (int a : axes) kept[a] = 1;
  Shape acc_strides = contiguous_strides(kept);
  for (int a : axes) acc_strides[a] = 0;
  const int64_t n_out = shape_size(kept);
  std::unique_ptr<A[]> acc(new A[n_out]);
  for (int64_t i = 0; i < n_out; ++i) acc[i] = K::template identity<T>();

  const T* px = x.data<T>();
  detail::for_each_row2(x.shape(), x.strides(), acc_strides,
                        [&](int64_t oa, int64_t ob, int64_t n, int64_t sa, int64_t sb) {
                          if (sb == 0) {
                            A a = acc[ob];
                            for (int64_t i = 0; i < n; ++i)
                              K::combine(a, px[oa + i * sa]);
                            acc[ob] = a;
                          } else {
                            for (int64_t i = 0; i < n; ++i)
                              K::combine(acc[ob + i * sb], px[oa + i * sa]);
                          }
                        });

  NDArray out = NDArray::empty(dtype_of<O>(), kept);
  O* po = out.data<O>();
  for (int64_t i = 0; i < n_out; ++i) po[i] = K::template finalize<O>(acc[i], count);
  return out;
}

std::string kind_title(ReduceKind kind) {
  std::string s = reduce_kind_name(kind);
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

}  // namespace

const char* reduce_kind_name(ReduceKind kind) {
  return with_kind(kind, [](auto k) { return decltype(k)::name; });
}

DType reduce_out_dtype(ReduceKind kind, DType in) {
  return with_kind(kind, [&](auto k) {
    using K = decltype(k);
    return dispatch_dtype(
        in, [](auto t) { return dtype_of<typename K::template Out<decltype(t)>>(); });
  });
}

DType reduce_acc_dtype(ReduceKind kind, DType in) {
  return with_kind(kind, [&](auto k) {
    using K = decltype(k);
    return dispatch_dtype(
        in, [](auto t) { return dtype_of<typename K::template Acc<decltype(t)>>(); });
  });
}

Reduce::Reduce(ReduceKind kind, std::optional<std::vector<int>> axes, bool keepdims,
               std::optional<DType> dtype)
    : kind_(kind), axes_(std::move(axes)), keepdims_(keepdims), dtype_(dtype) {}

std::string Reduce::name() const {
  std::string s = kind_title(kind_) + "{axis=" + detail::axes_str(axes_) +
                  ", keepdims=" + (keepdims_ ? "True" : "False");
  if (dtype_) s += std::string(", dtype=") + dtype_name(*dtype_);
  return s + "}";
}

std::vector<TensorType> Reduce::infer_types(const std::vector<Var>& inputs) const {
  if (inputs.size() != 1)
    throw ValueError(std::string(reduce_kind_name(kind_)) + " takes 1 input, got " +
                     std::to_string(inputs.size()));
  const TensorType& t = inputs[0].type();
  std::vector<int> axes = detail::resolve_axes(axes_, t.ndim(), reduce_kind_name(kind_));
  DType out = dtype_ ? *dtype_ : reduce_out_dtype(kind_, t.dtype);
  return {TensorType(out, detail::reduced_shape(t.shape, axes, keepdims_))};
}

std::vector<NDArray> Reduce::perform(const Apply& node,
                                     const std::vector<NDArray>& inputs) const {
  const NDArray& x = inputs.at(0);
  const char* what = reduce_kind_name(kind_);
  std::vector<int> axes = detail::resolve_axes(axes_, x.ndim(), what);
  const int64_t count = detail::reduced_count(x.shape(), axes);
  NDArray r = with_kind(kind_, [&](auto k) {
    using K = decltype(k);
    if (!K::has_identity && count == 0)
      throw ValueError(std::string(what) + ": zero-size array to reduction operation " +
                       what + " which has no identity (input shape " +
                       shape_str(x.shape()) + ", axis=" + detail::axes_str(axes_) + ")");
    return dispatch_dtype(
        x.dtype(), [&](auto t) { return reduce_typed<K, decltype(t)>(x, axes, count); });
  });
  r = r.reshape(detail::reduced_shape(x.shape(), axes, keepdims_));
  if (dtype_ && r.dtype() != *dtype_) r = r.astype(*dtype_);
  return {r};
}

std::vector<Var> Reduce::grad(const Apply& node,
                              const std::vector<Var>& output_grads) const {
  const Var& x = node.inputs[0];
  const int nd = x.ndim();
  const std::vector<int> axes = detail::resolve_axes(axes_, nd, reduce_kind_name(kind_));
  // gz with the reduced dims back as 1s, so it broadcasts against x.
  const Var gz = detail::with_reduced_dims(output_grads[0], axes, nd, keepdims_);
  const Var zero = scalar_literal(0, false);
  switch (kind_) {
    case ReduceKind::Sum:
      return {alloc(gz, detail::dim_vars(x))};
    case ReduceKind::Mean:
      return {alloc(true_div(gz, detail::reduced_count_var(x, axes, gz.dtype())),
                    detail::dim_vars(x))};
    case ReduceKind::Prod: {
      // d prod / d x_i is the product of the other elements of x_i's group:
      // prod / x_i for a nonzero x_i (0 when the group has a zero elsewhere); for
      // a zero x_i, the product of the rest when it is the group's only zero,
      // else 0. x with its zeros replaced by 1 keeps every branch finite (no
      // 0 * inf in the grad of this grad), and dividing the product itself
      // rather than using 0 makes second derivatives exact where a group has at
      // most one zero.
      const Var is_zero = eq(x, zero);
      const Var x_nz = switch_(is_zero, scalar_literal(1, false), x);
      const Var n_zeros = sum(is_zero, axes, /*keepdims=*/true);
      const Var prod_nz = prod(x_nz, axes, /*keepdims=*/true);
      const Var p = detail::with_reduced_dims(node.output(0), axes, nd, keepdims_);
      const Var d =
          switch_(is_zero, switch_(eq(n_zeros, scalar_literal(1, true)), prod_nz, zero),
                  true_div(p, x_nz));
      return {mul(gz, d)};
    }
    case ReduceKind::Max:
    case ReduceKind::Min: {
      const Var m = detail::with_reduced_dims(node.output(0), axes, nd, keepdims_);
      return {switch_(eq(x, m), gz, zero)};
    }
    case ReduceKind::All:
    case ReduceKind::Any:
      break;
  }
  // Bool outputs: the engine never asks.
  return {Var()};
}

Var reduce(ReduceKind kind, const Var& x, Axes axes, bool keepdims,
           std::optional<DType> dtype, const Here& loc) {
  if (x) {
    axes = detail::canonical_axes(axes, x.ndim());
    if (dtype && *dtype == reduce_out_dtype(kind, x.dtype())) dtype.reset();
  }
  return make_node1(std::make_shared<Reduce>(kind, std::move(axes), keepdims, dtype), {x},
                    user_loc(loc));
}

Var sum(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::Sum, x, std::move(axes), keepdims, std::nullopt, loc);
}
Var prod(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::Prod, x, std::move(axes), keepdims, std::nullopt, loc);
}
Var mean(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::Mean, x, std::move(axes), keepdims, std::nullopt, loc);
}
Var max(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::Max, x, std::move(axes), keepdims, std::nullopt, loc);
}
Var min(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::Min, x, std::move(axes), keepdims, std::nullopt, loc);
}
Var all(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::All, x, std::move(axes), keepdims, std::nullopt, loc);
}
Var any(const Var& x, Axes axes, bool keepdims, const Here& loc) {
  return reduce(ReduceKind::Any, x, std::move(axes), keepdims, std::nullopt, loc);
}

}  // namespace theanine
