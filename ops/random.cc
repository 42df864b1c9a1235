// The random ops' types and builders (see random.h); the sampling is in
// random_perform.cc, the streams and dropout in random_streams.cc.
#include "ops/random.h"

#include <memory>

#include "ops/op_util.h"
#include "ops/shape_ops.h"
#include "ops/shape_util.h"
#include "ops/subtensor.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace theanine {

NDArray random_state(uint64_t seed, uint64_t index) {
  const uint64_t key = philox::derive_key(seed, index);
  return NDArray::from_vector(std::vector<int64_t>{static_cast<int64_t>(key), 0}, {2});
}

// ---- RandomSize -------------------------------------------------------------------

RandomSize::Dim::Dim(int64_t v, const Here& loc)
    : var(scalar_constant(static_cast<double>(v), DType::Int64, loc)) {}

RandomSize::RandomSize(std::initializer_list<Dim> dims) : given_(true) {
  for (const Dim& d : dims) dims_.push_back(d.var);
}

RandomSize::RandomSize(const std::vector<int64_t>& dims, const Here& loc) : given_(true) {
  for (int64_t d : dims)
    dims_.push_back(scalar_constant(static_cast<double>(d), DType::Int64, loc));
}

RandomSize RandomSize::of_vector(const Var& v, int ndim, const Here& loc) {
  if (!v) throw ValueError("size: the size vector is null");
  if (v.ndim() != 1 || !is_integer(v.dtype()))
    throw TypeError("size must be an integer vector or a tuple of integer scalars, got " +
                    v->describe());
  const int64_t known = v->type.shape[0];
  if (known >= 0 && ndim >= 0 && known != ndim)
    throw ValueError("size: the size vector " + v->describe() + " has length " +
                     std::to_string(known) + " but ndim is " + std::to_string(ndim));
  const int64_t n = known >= 0 ? known : ndim;
  if (n < 0)
    throw TypeError("size: the length of the symbolic size vector " + v->describe() +
                    " is not known; pass ndim");
  std::vector<Var> dims;
  const Apply* owner = v->owner;
  if (owner && dynamic_cast<const MakeVectorOp*>(owner->op.get())) {
    dims = owner->inputs;
  } else if (owner && dynamic_cast<const ShapeOp*>(owner->op.get())) {
    dims = shape_util::shape_scalars(owner->inputs[0], loc);
  } else {
    for (int64_t i = 0; i < n; ++i) dims.push_back(subtensor(v, {idx(i)}, loc));
  }
  return RandomSize(std::move(dims));
}

// ---- RandomOp: types --------------------------------------------------------------

const char* random_dist_name(RandomDist d) {
  switch (d) {
    case RandomDist::Uniform:
      return "uniform";
    case RandomDist::Normal:
      return "normal";
    case RandomDist::TruncatedNormal:
      return "truncated_normal";
    case RandomDist::Binomial:
      return "binomial";
    case RandomDist::Integers:
      return "random_integers";
    case RandomDist::Choice:
      return "choice";
    case RandomDist::ChoiceNoReplace:
      return "choice_without_replacement";
    case RandomDist::Permutation:
      return "permutation";
  }
  return "?";
}

std::vector<std::string> random_param_names(RandomDist d) {
  switch (d) {
    case RandomDist::Uniform:
    case RandomDist::Integers:
      return {"low", "high"};
    case RandomDist::Normal:
    case RandomDist::TruncatedNormal:
      return {"avg", "std"};
    case RandomDist::Binomial:
      return {"n", "p"};
    case RandomDist::Choice:
    case RandomDist::ChoiceNoReplace:
      return {"a", "p"};
    case RandomDist::Permutation:
      return {"n"};
  }
  return {};
}

namespace {

// Distributions whose parameters broadcast elementwise against the sample.
bool is_elementwise(RandomDist d) {
  return d != RandomDist::Choice && d != RandomDist::ChoiceNoReplace &&
         d != RandomDist::Permutation;
}

bool is_float_dist(RandomDist d) {
  return d == RandomDist::Uniform || d == RandomDist::Normal ||
         d == RandomDist::TruncatedNormal;
}

void require_numeric(const Var& v, const std::string& what) {
  if (is_bool(v.dtype()))
    throw TypeError(what + " must be numeric, got " + v->describe());
}

void require_integer(const Var& v, const std::string& what) {
  if (!is_integer(v.dtype()))
    throw TypeError(what + " must be an integer tensor, got " + v->describe());
}

// Known dims of `param` that cannot broadcast to the sample's static shape.
void check_broadcasts_to(const Var& param, const Shape& sample, const std::string& what) {
  const Shape& ps = param->type.shape;
  if (ps.size() > sample.size())
    throw ShapeError(what + " " + param->describe() + " has more dims than the size " +
                     shape_str(sample));
  const size_t lead = sample.size() - ps.size();
  for (size_t i = 0; i < ps.size(); ++i) {
    const int64_t p = ps[i], s = sample[lead + i];
    if (p >= 0 && p != 1 && s >= 0 && p != s)
      throw ShapeError(what + " " + param->describe() +
                       " does not broadcast to the size " + shape_str(sample));
  }
}

}  // namespace

std::string RandomOp::name() const {
  return std::string("Random{") + random_dist_name(dist_) + "," + dtype_name(dtype_) +
         ",size=" +
         (size_ndim_ < 0 ? std::string("params") : std::to_string(size_ndim_)) + "}";
}

std::vector<TensorType> RandomOp::infer_types(const std::vector<Var>& inputs) const {
  const std::string what = random_dist_name(dist_);
  const std::vector<std::string> names = random_param_names(dist_);
  const size_t n_size = size_ndim_ < 0 ? 0 : size_ndim_;
  const size_t min_params =
      dist_ == RandomDist::Choice || dist_ == RandomDist::ChoiceNoReplace ? 1
                                                                          : names.size();
  if (inputs.size() < 1 + n_size + min_params ||
      inputs.size() > 1 + n_size + names.size())
    throw ValueError(what + " takes a state, " + std::to_string(n_size) +
                     " size entries and " + std::to_string(names.size()) +
                     " parameters, got " + std::to_string(inputs.size()) + " inputs");
  const Var& state = inputs[0];
  if (state.ndim() != 1 || state.dtype() != DType::Int64 ||
      (state->type.shape[0] >= 0 && state->type.shape[0] != 2))
    throw TypeError(what +
                    ": the random state must be an int64 vector [key, counter], got " +
                    state->describe());
  if (size_ndim_ < 0 && !is_elementwise(dist_))
    throw ValueError(what + ": a size is required");
  Shape shape;
  for (size_t i = 0; i < n_size; ++i) {
    const Var& d = inputs[1 + i];
    shape_util::require_int_scalar(d, what + ": size[" + std::to_string(i) + "]");
    std::optional<int64_t> c = constant_int(d);
    if (c && *c < 0)
      throw ValueError(what + ": negative dimension " + std::to_string(*c) +
                       " in the size");
    shape.push_back(c ? *c : -1);
  }
  std::vector<Var> params(inputs.begin() + 1 + n_size, inputs.end());
  for (size_t k = 0; k < params.size(); ++k)
    if (!params[k]) throw ValueError(what + ": " + names[k] + " is null");

  if (is_float_dist(dist_) && !is_float(dtype_))
    throw TypeError(what + ": dtype must be float32 or float64, got " +
                    dtype_name(dtype_));
  switch (dist_) {
    case RandomDist::Uniform:
    case RandomDist::Normal:
    case RandomDist::TruncatedNormal:
      require_numeric(params[0], what + ": " + names[0]);
      require_numeric(params[1], what + ": " + names[1]);
      break;
    case RandomDist::Binomial:
      require_integer(params[0], what + ": n");
      require_numeric(params[1], what + ": p");
      break;
    case RandomDist::Integers:
      require_integer(params[0], what + ": low");
      require_integer(params[1], what + ": high");
      break;
    case RandomDist::Choice:
    case RandomDist::ChoiceNoReplace: {
      const Var& a = params[0];
      if (a.ndim() > 1)
        throw TypeError(what + ": a must be an integer scalar or a vector, got " +
                        a->describe());
      if (a.ndim() == 0) require_integer(a, what + ": a (a scalar)");
      if (params.size() == 2) {
        const Var& p = params[1];
        if (p.ndim() != 1 || is_bool(p.dtype()))
          throw TypeError(what + ": p must be a numeric vector, got " + p->describe());
        if (a.ndim() == 1 && a->type.shape[0] >= 0 && p->type.shape[0] >= 0 &&
            a->type.shape[0] != p->type.shape[0])
          throw ShapeError(what + ": a " + a->describe() + " and p " + p->describe() +
                           " differ in length");
      }
      break;
    }
    case RandomDist::Permutation: {
      const Var& n = params[0];
      shape_util::require_int_scalar(n, what + ": n");
      std::optional<int64_t> c = constant_int(n);
      if (c && *c < 0)
        throw ValueError(what + ": n must be >= 0, got " + std::to_string(*c));
      shape.push_back(c ? *c : -1);
      break;
    }
  }
  if (is_elementwise(dist_)) {
    if (size_ndim_ < 0) {
      std::vector<Shape> shapes;
      for (const Var& p : params) shapes.push_back(p->type.shape);
      shape = broadcast_shapes(shapes);
    } else {
      for (size_t k = 0; k < params.size(); ++k)
        check_broadcasts_to(params[k], shape, what + ": " + names[k]);
    }
  }
  return {TensorType(DType::Int64, {2}), TensorType(dtype_, shape)};
}

std::vector<Var> RandomOp::grad(const Apply& node, const std::vector<Var>&) const {
  std::string params;
  for (const std::string& n : random_param_names(dist_))
    params += (params.empty() ? "" : ", ") + n;
  throw TypeError("grad: the samples of " + name() + " (created at " + node.loc.str() +
                  ") are not differentiable functions of its parameters (" + params +
                  "); for a reparameterised sample, draw with the default parameters and "
                  "scale it (low + (high - low) * u, avg + std * z)");
}

// ---- builders ---------------------------------------------------------------------

DType random_float_dtype(const std::vector<Var>& params, DType floatx) {
  DType d = floatx;
  for (const Var& p : params)
    if (p && !(p->is_constant() && p->weak) && !is_bool(p.dtype()))
      d = promote(d, p.dtype());
  return is_float(d) ? d : DType::Float64;
}

namespace {

RandomDraw draw(RandomDist dist, DType dtype, const Var& state, const RandomSize& size,
                std::vector<Var> params, const Here& loc) {
  const std::string what = random_dist_name(dist);
  if (!state) throw ValueError(std::string(what) + ": the random state is null");
  std::vector<Var> inputs{state};
  for (const Var& d : size.dims()) {
    if (!d) throw ValueError(what + ": a size entry is null");
    inputs.push_back(d);
  }
  const std::vector<std::string> names = random_param_names(dist);
  for (size_t k = 0; k < params.size(); ++k) {
    const bool optional =
        !is_elementwise(dist) && dist != RandomDist::Permutation && k == 1;
    if (params[k])
      inputs.push_back(params[k]);
    else if (!optional)
      throw ValueError(what + ": " + names[k] + " is null");
  }
  const int size_ndim = size.given() ? static_cast<int>(size.dims().size()) : -1;
  std::vector<Var> outs = make_node(std::make_shared<RandomOp>(dist, dtype, size_ndim),
                                    inputs, user_loc(loc));
  return {outs[0], outs[1]};
}

}  // namespace

RandomDraw random_uniform(const Var& state, const RandomSize& size, const Var& low,
                          const Var& high, std::optional<DType> dtype, const Here& loc) {
  return draw(RandomDist::Uniform, dtype.value_or(random_float_dtype({low, high})), state,
              size, {low, high}, loc);
}

RandomDraw random_normal(const Var& state, const RandomSize& size, const Var& avg,
                         const Var& std, std::optional<DType> dtype, bool truncate,
                         const Here& loc) {
  return draw(truncate ? RandomDist::TruncatedNormal : RandomDist::Normal,
              dtype.value_or(random_float_dtype({avg, std})), state, size, {avg, std},
              loc);
}

RandomDraw random_binomial(const Var& state, const RandomSize& size, const Var& n,
                           const Var& p, DType dtype, const Here& loc) {
  return draw(RandomDist::Binomial, dtype, state, size, {n, p}, loc);
}

RandomDraw random_integers(const Var& state, const RandomSize& size, const Var& low,
                           const Var& high, DType dtype, const Here& loc) {
  return draw(RandomDist::Integers, dtype, state, size, {low, high}, loc);
}

RandomDraw random_choice(const Var& state, const RandomSize& size, const Var& a,
                         bool replace, const Var& p, std::optional<DType> dtype,
                         const Here& loc) {
  if (!a) throw ValueError("choice: a is null");
  DType d = dtype.value_or(a.ndim() == 0 ? DType::Int64 : a.dtype());
  return draw(replace ? RandomDist::Choice : RandomDist::ChoiceNoReplace, d, state,
              size.given() ? size : RandomSize(std::vector<Var>{}), {a, p}, loc);
}

RandomDraw random_permutation(const Var& state, const RandomSize& size, const Var& n,
                              DType dtype, const Here& loc) {
  return draw(RandomDist::Permutation, dtype, state,
              size.given() ? size : RandomSize(std::vector<Var>{}), {n}, loc);
}

}  // namespace theanine
