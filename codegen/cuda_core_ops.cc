// The core entries of the CUDA op table: products through cuBLAS, allocation,
// and the ops that only read shapes or make views (which run as they are on
// device arrays, since they never touch elements).
#include <algorithm>
#include <string>

#include "codegen/cuda_op_table.h"
#include "codegen/cuda_program.h"
#include "graph/op.h"
#include "ops/blas.h"
#include "ops/gemm_op.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "runtime/cuda_array.h"
#include "runtime/cuda_blas.h"

namespace theanine {

namespace {

template <class OpT>
bool is(const Apply& node) {
  return dynamic_cast<const OpT*>(node.op.get()) != nullptr;
}

// ---- products ------------------------------------------------------------------

// A device matrix as cuBLAS reads it (row-major, see runtime/cuda_blas.h): its
// address, row stride, and whether it is stored transposed. A view with unit
// column steps is used as it is, a transposed one with its flag flipped;
// anything else is copied contiguous first.
struct BlasOperand {
  NDArray keep;
  uint64_t ptr = 0;
  int64_t ld = 1;
  bool trans = false;
};

BlasOperand blas_operand(const NDArray& x, bool trans) {
  const int64_t rows = x.shape(0), cols = x.shape(1);
  const int64_t s0 = x.strides()[0], s1 = x.strides()[1];
  BlasOperand o;
  o.keep = x;
  o.trans = trans;
  if ((cols <= 1 || s1 == 1) && (rows <= 1 || s0 >= std::max<int64_t>(cols, 1))) {
    o.ld = rows <= 1 ? std::max<int64_t>(cols, 1) : s0;
  } else if ((rows <= 1 || s0 == 1) && (cols <= 1 || s1 >= std::max<int64_t>(rows, 1))) {
    o.trans = !trans;  // column-major storage is the transpose, row-major
    o.ld = cols <= 1 ? std::max<int64_t>(rows, 1) : s1;
  } else {
    o.keep = x.copy();
    o.ld = std::max<int64_t>(cols, 1);
  }
  o.ptr = reinterpret_cast<uint64_t>(o.keep.raw());
  return o;
}

bool blas_dtype(const NDArray& x) {
  return x.dtype() == DType::Float32 || x.dtype() == DType::Float64;
}

// out (m x n) = alpha * op(a) op(b) + beta * c (c broadcast; absent when
// beta = 0). Nullopt for what the host path reports or handles (mismatched
// or empty dims, other dtypes).
std::optional<NDArray> device_gemm(const NDArray& a, const NDArray& b, const NDArray* c,
                                   bool trans_a, bool trans_b, double alpha,
                                   double beta) {
  if (a.ndim() != 2 || b.ndim() != 2 || !blas_dtype(a) || b.dtype() != a.dtype())
    return std::nullopt;
  const int64_t m = trans_a ? a.shape(1) : a.shape(0);
  const int64_t k = trans_a ? a.shape(0) : a.shape(1);
  const int64_t kb = trans_b ? b.shape(1) : b.shape(0);
  const int64_t n = trans_b ? b.shape(0) : b.shape(1);
  if (k != kb || m == 0 || n == 0 || k == 0) return std::nullopt;
  const Shape out_shape{m, n};
  NDArray out = device_empty(a.dtype(), out_shape);
  if (c) {
    if (c->dtype() != a.dtype() || c->ndim() > 2) return std::nullopt;
    for (int d = 0; d < c->ndim(); ++d) {
      const int64_t e = c->shape(c->ndim() - 1 - d);
      if (e != 1 && e != out_shape[1 - d]) return std::nullopt;
    }
    out.assign(*c);
  } else {
    beta = 0;
  }
  BlasOperand A = blas_operand(a, trans_a), B = blas_operand(b, trans_b);
  cuda_gemm(a.dtype(), A.trans, B.trans, m, n, k, alpha, A.ptr, A.ld, B.ptr, B.ld, beta,
            reinterpret_cast<uint64_t>(out.raw()), n);
  return out;
}

// A vector as a one-column (or one-row) matrix view.
NDArray as_column(const NDArray& v) { return v.expand_dims(1); }
NDArray as_row(const NDArray& v) { return v.expand_dims(0); }

std::optional<std::vector<NDArray>> run_gemm(const Apply& node,
                                             const std::vector<NDArray>& in) {
  auto* g = static_cast<const Gemm*>(node.op.get());
  const NDArray* c = g->has_c() ? &in.at(2) : nullptr;
  auto out =
      device_gemm(in[0], in[1], c, g->trans_a(), g->trans_b(), g->alpha(), g->beta());
  if (!out) return std::nullopt;
  return std::vector<NDArray>{*out};
}

std::optional<std::vector<NDArray>> run_gemv(const Apply& node,
                                             const std::vector<NDArray>& in) {
  auto* g = static_cast<const Gemv*>(node.op.get());
  if (in[1].ndim() != 1) return std::nullopt;
  std::optional<NDArray> y;
  if (g->has_y()) {
    if (in[2].ndim() != 1) return std::nullopt;
    y = as_column(in[2]);
  }
  auto out = device_gemm(in[0], as_column(in[1]), y ? &*y : nullptr, g->trans(), false,
                         g->alpha(), g->beta());
  if (!out) return std::nullopt;
  return std::vector<NDArray>{out->reshape({out->shape(0)})};
}

std::optional<std::vector<NDArray>> run_dot(const Apply& node,
                                            const std::vector<NDArray>& in) {
  const NDArray &a = in[0], &b = in[1];
  if (a.ndim() < 1 || a.ndim() > 2 || b.ndim() < 1 || b.ndim() > 2) return std::nullopt;
  const NDArray am = a.ndim() == 1 ? as_row(a) : a;
  const NDArray bm = b.ndim() == 1 ? as_column(b) : b;
  auto out = device_gemm(am, bm, nullptr, false, false, 1.0, 0.0);
  if (!out) return std::nullopt;
  Shape shape;
  if (a.ndim() == 2) shape.push_back(a.shape(0));
  if (b.ndim() == 2) shape.push_back(b.shape(1));
  return std::vector<NDArray>{out->reshape(shape)};
}

// ---- allocation ----------------------------------------------------------------

std::optional<std::vector<NDArray>> run_alloc(const Apply& node,
                                              const std::vector<NDArray>& in) {
  Shape shape;
  for (size_t d = 1; d < in.size(); ++d) {
    shape.push_back(in[d].item_int());
    if (shape.back() < 0) return std::nullopt;  // the host path names it
  }
  const NDArray& value = in[0];
  if (value.ndim() > static_cast<int>(shape.size())) return std::nullopt;
  for (int d = 0; d < value.ndim(); ++d) {
    const int64_t e = value.shape(value.ndim() - 1 - d);
    if (e != 1 && e != shape[shape.size() - 1 - d]) return std::nullopt;
  }
  NDArray out = device_empty(value.dtype(), shape);
  out.assign(value);
  return std::vector<NDArray>{out};
}

// ---- shapes and views: the reference perform, on arrays wherever they are ------

bool is_shape_or_view(const Apply& node) {
  return is<ShapeOp>(node) || is<ShapeIOp>(node) || is<DimShuffleOp>(node) ||
         is<ReshapeOp>(node) || is<FlattenOp>(node) || is<SubtensorOp>(node) ||
         node.op->name() == "ZeroGrad" || node.op->name() == "DisconnectedGrad";
}

std::optional<std::vector<NDArray>> run_perform(const Apply& node,
                                                const std::vector<NDArray>& in) {
  return node.op->perform(node, in);
}

// ---- SumTo: undoing a broadcast is a sum over the broadcast axes ---------------

bool is_sum_to(const Apply& node) { return node.op->name() == "SumTo"; }

std::optional<std::vector<NDArray>> run_sum_to(const Apply& node,
                                               const std::vector<NDArray>& in) {
  const NDArray &g = in[0], &like = in[1];
  const int lead = g.ndim() - like.ndim();
  if (lead < 0) return std::nullopt;
  if (lead == 0 && g.shape() == like.shape()) return std::vector<NDArray>{g};
  std::vector<int> axes;
  for (int a = 0; a < g.ndim(); ++a) {
    if (a < lead || (like.shape(a - lead) == 1 && g.shape(a) != 1))
      axes.push_back(a);
    else if (like.shape(a - lead) != g.shape(a))
      return std::nullopt;  // the host path names the shapes
  }
  auto kernel = reduce_kernel(g.dtype(), ReduceKind::Sum, axes, /*keepdims=*/true,
                              reduce_out_dtype(ReduceKind::Sum, g.dtype()));
  if (!kernel) return std::nullopt;
  std::vector<KernelStep> steps{{*kernel, {0}}};
  auto r = run_kernels_on(steps, {g}, {}, cuda_kernel_target());
  if (!r) return std::nullopt;
  NDArray s = r->at(0);
  if (s.dtype() != g.dtype()) s = s.astype(g.dtype());
  return std::vector<NDArray>{s.reshape(like.shape())};
}

}  // namespace

std::vector<CudaOpEntry> cuda_core_ops() {
  return {
      {"Gemm", &is<Gemm>, &run_gemm},
      {"Gemv", &is<Gemv>, &run_gemv},
      {"Dot", &is<Dot>, &run_dot},
      {"Alloc", &is<AllocOp>, &run_alloc, /*inputs_anywhere=*/true},
      {"SumTo", &is_sum_to, &run_sum_to},
      {"shape or view", &is_shape_or_view, &run_perform, /*inputs_anywhere=*/true},
  };
}

const std::vector<CudaOpEntry>& cuda_op_table() {
  static const std::vector<CudaOpEntry> table = [] {
    std::vector<CudaOpEntry> t = cuda_core_ops();
    for (CudaOpEntry& e : cuda_nn_ops()) t.push_back(e);
    return t;
  }();
  return table;
}

const CudaOpEntry* find_cuda_op(const Apply& node) {
  for (const CudaOpEntry& e : cuda_op_table())
    if (e.matches(node)) return &e;
  return nullptr;
}

}  // namespace theanine
