// RandomStreams and dropout (see random.h).
#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/random.h"
#include "ops/shape_util.h"
#include "runtime/error.h"

namespace theanine {

// ---- RandomStreams ----------------------------------------------------------------

RandomStreams::RandomStreams(uint64_t seed) : seed_(seed) {}

Var RandomStreams::new_state(const Here& loc) {
  const uint64_t index = state_updates_.size();
  return make_shared(random_state(seed_, index), TensorType(DType::Int64, {2}),
                     "random_state_" + std::to_string(index), /*borrow=*/true, loc);
}

Var RandomStreams::keep(const Var& state, const RandomDraw& d) {
  state->default_update = d.new_state.ptr();
  state_updates_.push_back({state, d.new_state});
  return d.sample;
}

Var RandomStreams::uniform(const RandomSize& size, const Operand& low,
                           const Operand& high, std::optional<DType> dtype,
                           const Here& loc) {
  Var s = new_state(loc);
  return keep(s, random_uniform(s, size, low.var, high.var, dtype, loc));
}

Var RandomStreams::normal(const RandomSize& size, const Operand& avg, const Operand& std,
                          std::optional<DType> dtype, bool truncate, const Here& loc) {
  Var s = new_state(loc);
  return keep(s, random_normal(s, size, avg.var, std.var, dtype, truncate, loc));
}

Var RandomStreams::binomial(const RandomSize& size, const Operand& n, const Operand& p,
                            DType dtype, const Here& loc) {
  Var s = new_state(loc);
  return keep(s, random_binomial(s, size, n.var, p.var, dtype, loc));
}

Var RandomStreams::random_integers(const RandomSize& size, const Operand& low,
                                   const Operand& high, DType dtype, const Here& loc) {
  Var s = new_state(loc);
  return keep(s, theanine::random_integers(s, size, low.var, high.var, dtype, loc));
}

Var RandomStreams::integers(const RandomSize& size, const Operand& low,
                            const Operand& high, DType dtype, const Here& loc) {
  if (!high.var) throw ValueError("integers: high is null");
  Var last = sub(high.var, scalar_literal(1, /*is_integer=*/true, loc), loc);
  Var s = new_state(loc);
  return keep(s, theanine::random_integers(s, size, low.var, last, dtype, loc));
}

Var RandomStreams::choice(const RandomSize& size, const Operand& a, bool replace,
                          const Var& p, std::optional<DType> dtype, const Here& loc) {
  Var s = new_state(loc);
  return keep(s, random_choice(s, size, a.var, replace, p, dtype, loc));
}

Var RandomStreams::permutation(const RandomSize& size, const Operand& n, DType dtype,
                               const Here& loc) {
  Var s = new_state(loc);
  return keep(s, random_permutation(s, size, n.var, dtype, loc));
}

void RandomStreams::seed(uint64_t seed) {
  seed_ = seed;
  for (size_t k = 0; k < state_updates_.size(); ++k)
    set_value(state_updates_[k].first, random_state(seed, k), /*borrow=*/true);
}

// ---- dropout ----------------------------------------------------------------------

Var dropout(const Var& x, const Operand& p, RandomStreams& rng, bool rescale,
            const Here& loc) {
  if (!x) throw ValueError("dropout: x is null");
  if (!is_float(x.dtype()))
    throw TypeError("dropout: x must be a float tensor, got " + x->describe());
  if (!p.var) throw ValueError("dropout: p is null");
  if (p.var.ndim() != 0 || is_bool(p.var.dtype()))
    throw TypeError("dropout: p must be a number or a numeric scalar, got " +
                    p.var->describe());
  std::optional<NDArray> pc = constant_value(p.var);
  Var keep_prob;
  Var scale;
  if (pc) {
    const double pv = pc->item_double();
    if (!(pv >= 0 && pv < 1) && !(pv == 1 && !rescale))
      throw ValueError(
          "dropout: p (the probability of dropping) must be in [0, 1), got " +
          std::to_string(pv));
    keep_prob = scalar_literal(1 - pv, false, loc);
    scale = scalar_literal(pv < 1 ? 1 / (1 - pv) : 0.0, false, loc);
  } else {
    keep_prob = sub(scalar_literal(1, false, loc), p.var, loc);
    scale = cast(true_div(scalar_literal(1, false, loc), keep_prob, loc), x.dtype(), loc);
  }
  Var mask = rng.binomial(RandomSize(shape_util::shape_scalars(x, loc)), 1, keep_prob,
                          x.dtype(), loc);
  Var y = mul(x, mask, loc);
  return rescale ? mul(y, scale, loc) : y;
}

}  // namespace theanine
