#include "codegen/kernel_ir.h"

#include "runtime/error.h"

namespace theanine {

const char* kernel_reduce_name(KernelReduce r) {
  switch (r) {
    case KernelReduce::None:
      return "none";
    case KernelReduce::Sum:
      return "sum";
    case KernelReduce::Prod:
      return "prod";
    case KernelReduce::Max:
      return "max";
    case KernelReduce::Min:
      return "min";
    case KernelReduce::Argmax:
      return "argmax";
    case KernelReduce::Argmin:
      return "argmin";
  }
  return "?";
}

DType KernelIR::operand_dtype(int k) const {
  const int n_in = num_inputs();
  if (k < n_in) return body.inputs[k];
  if (reduce == KernelReduce::None)
    return body.nodes[body.outputs[k - n_in]].dtypes.output;
  if (k == n_in) return acc_dtype;
  return body.nodes[body.outputs[0]].dtypes.output;  // the arg-reduction's best value
}

std::string KernelIR::key() const {
  std::string s = body.str();
  s += " in(";
  for (DType d : body.inputs) s += std::string(dtype_name(d)) + ",";
  s += ") out(";
  for (int o : body.outputs) {
    const ScalarNode& n = body.nodes[o];
    s += std::string(dtype_name(n.dtypes.operand)) + ">" + dtype_name(n.dtypes.output) +
         ",";
  }
  // The text of a node shows neither its dtypes nor its constants' dtypes
  // beyond what str() prints, so add every node's dtypes.
  s += ") nodes(";
  for (const ScalarNode& n : body.nodes)
    s += std::string(dtype_name(n.dtypes.operand)) + ">" + dtype_name(n.dtypes.output) +
         ";";
  s += ")";
  if (reduce != KernelReduce::None)
    s += std::string(" reduce ") + kernel_reduce_name(reduce) + " acc " +
         dtype_name(acc_dtype);
  return s;
}

std::string KernelLayout::key() const {
  std::string s = "r" + std::to_string(rank) + " i";
  for (InnerStep st : inner)
    s += st == InnerStep::Unit ? 'u' : st == InnerStep::Zero ? 'z' : 's';
  s += " a";
  for (int a : same_as) s += std::to_string(a) + ",";
  s += " m" + std::to_string(reduced);
  return s;
}

int64_t LoopNest::size() const {
  int64_t n = 1;
  for (int64_t e : shape) n *= e;
  return n;
}

namespace {

InnerStep step_of(int64_t stride) {
  return stride == 1   ? InnerStep::Unit
         : stride == 0 ? InnerStep::Zero
                       : InnerStep::Strided;
}

// Merges a domain into loop dimensions. `strides[k][d]` per operand; returns
// the kept extents, each operand's strides over them and the reduced mask.
void merge_dims(const std::vector<int64_t>& domain,
                const std::vector<std::vector<int64_t>>& strides, uint32_t reduced_axes,
                std::vector<int64_t>& shape_out,
                std::vector<std::vector<int64_t>>& strides_out, uint32_t& reduced_out) {
  const size_t nops = strides.size();
  shape_out.clear();
  strides_out.assign(nops, {});
  std::vector<bool> red;
  for (size_t d = 0; d < domain.size(); ++d) {
    if (domain[d] == 1) continue;
    bool r = (reduced_axes >> d) & 1u;
    if (!shape_out.empty() && red.back() == r) {
      bool merge = true;
      for (size_t k = 0; k < nops && merge; ++k)
        merge = strides_out[k].back() == strides[k][d] * domain[d];
      if (merge) {
        shape_out.back() *= domain[d];
        for (size_t k = 0; k < nops; ++k) strides_out[k].back() = strides[k][d];
        continue;
      }
    }
    shape_out.push_back(domain[d]);
    red.push_back(r);
    for (size_t k = 0; k < nops; ++k) strides_out[k].push_back(strides[k][d]);
  }
  if (shape_out.empty()) {
    shape_out.push_back(1);
    red.push_back(false);
    for (size_t k = 0; k < nops; ++k) strides_out[k].push_back(0);
  }
  reduced_out = 0;
  for (size_t d = 0; d < red.size(); ++d)
    if (red[d]) reduced_out |= 1u << d;
}

}  // namespace

LoopNest make_loop_nest(const std::vector<int64_t>& domain,
                        const std::vector<NDArray>& operands, uint32_t reduced_axes,
                        int num_inputs) {
  LoopNest nest;
  fill_loop_nest(domain, operands, reduced_axes, num_inputs, nest);
  return nest;
}

void fill_loop_nest(const std::vector<int64_t>& domain,
                    const std::vector<NDArray>& operands, uint32_t reduced_axes,
                    int num_inputs, LoopNest& nest) {
  const int n = static_cast<int>(domain.size());
  const int nops = static_cast<int>(operands.size());
  if (n > 31) throw ValueError("compiled kernels support at most 31 dimensions");
  // Per loop dimension kept so far: its extent, whether reduced, and every
  // operand's stride (nest.strides, dimension-major while merging).
  nest.shape.clear();
  nest.ptrs.clear();
  std::vector<int64_t>& merged = nest.strides;  // [dim * nops + k] while merging
  merged.clear();
  uint32_t red = 0;
  int rank = 0;
  for (int d = 0; d < n; ++d) {
    if (domain[d] == 1) continue;
    const bool r = (reduced_axes >> d) & 1u;
    // This dimension's strides, checked against the domain.
    const size_t at = merged.size();
    merged.resize(at + nops);
    for (int k = 0; k < nops; ++k) {
      const NDArray& a = operands[k];
      if (a.ndim() != n)
        throw ShapeError("kernel operand " + std::to_string(k) + " has shape " +
                         shape_str(a.shape()) + ", expected rank " + std::to_string(n));
      const int64_t e = a.shape(d);
      const bool reduced_out = k >= num_inputs && r;
      if (e == domain[d] && !reduced_out)
        merged[at + k] = a.strides()[d];
      else if (e == 1)
        merged[at + k] = 0;
      else
        throw ShapeError("kernel operand " + std::to_string(k) + " of shape " +
                         shape_str(a.shape()) + " does not broadcast to " +
                         shape_str(domain));
    }
    if (rank > 0 && (((red >> (rank - 1)) & 1u) == r)) {
      bool merge = true;
      const size_t prev = at - nops;
      for (int k = 0; k < nops && merge; ++k)
        merge = merged[prev + k] == merged[at + k] * domain[d];
      if (merge) {
        nest.shape.back() *= domain[d];
        for (int k = 0; k < nops; ++k) merged[prev + k] = merged[at + k];
        merged.resize(at);
        continue;
      }
    }
    if (r) red |= 1u << rank;
    nest.shape.push_back(domain[d]);
    ++rank;
  }
  if (rank == 0) {
    nest.shape.push_back(1);
    merged.assign(nops, 0);
    rank = 1;
  }
  for (const NDArray& a : operands) nest.ptrs.push_back(const_cast<void*>(a.raw()));
  // Dimension-major -> operand-major, through the (reused) layout vector.
  KernelLayout& layout = nest.layout;
  layout.rank = rank;
  layout.reduced = red;
  std::vector<int64_t>& scratch = nest.scratch;
  scratch.assign(merged.begin(), merged.end());
  for (int k = 0; k < nops; ++k)
    for (int d = 0; d < rank; ++d) merged[k * rank + d] = scratch[d * nops + k];
  layout.inner.resize(nops);
  for (int k = 0; k < nops; ++k) layout.inner[k] = step_of(merged[k * rank + rank - 1]);
  // Outputs overwriting an input: same address and strides.
  const int nout = nops - num_inputs;
  layout.same_as.assign(nout, -1);
  for (int o = 0; o < nout; ++o) {
    const int k = num_inputs + o;
    for (int i = 0; i < num_inputs; ++i) {
      if (nest.ptrs[i] != nest.ptrs[k] || operands[i].dtype() != operands[k].dtype())
        continue;
      bool same = true;
      for (int d = 0; d < rank && same; ++d)
        same = merged[i * rank + d] == merged[k * rank + d];
      if (same) {
        layout.same_as[o] = i;
        break;
      }
    }
  }
}

KernelLayout predict_layout(const std::vector<int64_t>& domain,
                            const std::vector<std::vector<int64_t>>& operand_shapes,
                            uint32_t reduced_axes, std::vector<int> same_as) {
  const size_t n = domain.size();
  // A symbolic contiguous layout: an operand's stride along d is the product of
  // its own extents after d, which merges exactly when the run-time strides
  // would. Unknown extents are stood in for by a large prime so that products
  // stay distinct.
  const int64_t unknown = 1000003;
  std::vector<int64_t> dom(n);
  for (size_t d = 0; d < n; ++d) dom[d] = domain[d] < 0 ? unknown : domain[d];
  std::vector<std::vector<int64_t>> strides;
  for (const auto& shape : operand_shapes) {
    std::vector<int64_t> s(n, 0);
    int64_t step = 1;
    for (size_t d = n; d-- > 0;) {
      int64_t e = shape[d] < 0 ? dom[d] : shape[d];
      s[d] = (e == 1) ? 0 : step;
      step *= e;
    }
    strides.push_back(std::move(s));
  }
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> merged;
  KernelLayout layout;
  merge_dims(dom, strides, reduced_axes, shape, merged, layout.reduced);
  layout.rank = static_cast<int>(shape.size());
  for (auto& s : merged) layout.inner.push_back(step_of(s.back()));
  layout.same_as = std::move(same_as);
  return layout;
}

}  // namespace theanine
