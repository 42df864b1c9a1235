// Batch normalization graphs (see batchnorm.h).
#include "ops/batchnorm.h"

#include <algorithm>

#include "ops/elemwise.h"
#include "ops/op_util.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "runtime/error.h"

namespace theanine {

namespace {

std::string axes_str(const std::vector<int>& axes) {
  std::string r = "(";
  for (size_t i = 0; i < axes.size(); ++i) r += (i ? ", " : "") + std::to_string(axes[i]);
  return r + (axes.size() == 1 ? ",)" : ")");
}

// How the parameters are laid out: with the input's ndim (`full`), or with only
// the `kept` (non-normalized) axes.
struct ParamForm {
  int ndim = 0;
  std::vector<int> axes, kept;
  bool full = true;
};

ParamForm param_form(const Var& inputs, const Var& gamma, const Var& beta,
                     const std::vector<int>& axes, const char* what) {
  ParamForm f;
  f.ndim = inputs.ndim();
  f.axes = axes;
  for (int d = 0; d < f.ndim; ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) f.kept.push_back(d);
  const int kept = static_cast<int>(f.kept.size());
  if (gamma.ndim() != f.ndim && gamma.ndim() != kept)
    throw ValueError(std::string(what) + ": gamma " + gamma->describe() + " has ndim " +
                     std::to_string(gamma.ndim()) + "; it must have the input's ndim " +
                     std::to_string(f.ndim) + " or the " + std::to_string(kept) +
                     " of the axes not normalized (axes " + axes_str(axes) + ")");
  f.full = gamma.ndim() == f.ndim;
  if (beta.ndim() != gamma.ndim())
    throw ValueError(std::string(what) + ": beta " + beta->describe() + " has ndim " +
                     std::to_string(beta.ndim()) + " but gamma has ndim " +
                     std::to_string(gamma.ndim()));
  return f;
}

// A parameter broadcast against the input: as it is in the full form (after
// checking that its normalized dims are 1), with 1s inserted otherwise.
Var expand(const Var& p, const ParamForm& f, const std::string& what, const Here& loc) {
  const int expected = f.full ? f.ndim : static_cast<int>(f.kept.size());
  if (p.ndim() != expected)
    throw ValueError(what + " " + p->describe() + " has ndim " +
                     std::to_string(p.ndim()) + ", expected " + std::to_string(expected) +
                     " like gamma");
  if (f.full) {
    for (int a : f.axes)
      if (p->type.shape[a] > 1)
        throw ShapeError(what + " " + p->describe() + " of shape " +
                         shape_str(p->type.shape) +
                         " must have 1 along the normalized axes " + axes_str(f.axes));
    return p;
  }
  std::vector<int> pattern(f.ndim, -1);
  for (size_t i = 0; i < f.kept.size(); ++i) pattern[f.kept[i]] = static_cast<int>(i);
  return dimshuffle(p, pattern, loc);
}

// A statistic (the input's ndim, 1 along the axes) in the parameters' form.
Var shrink(const Var& s, const ParamForm& f, const Here& loc) {
  return f.full ? s : dimshuffle(s, f.kept, loc);
}

Var literal(double v, const Here& loc) { return scalar_literal(v, false, loc); }

// The number of values each statistic is computed over, in dtype `d`.
Var count_over(const Var& x, const std::vector<int>& axes, DType d, const Here& loc) {
  int64_t n = 1;
  bool known = true;
  for (int a : axes) {
    if (x->type.shape[a] < 0)
      known = false;
    else
      n *= x->type.shape[a];
  }
  if (known) return literal(static_cast<double>(n), loc);
  Var m = shape_i(x, axes[0], loc);
  for (size_t i = 1; i < axes.size(); ++i) m = mul(m, shape_i(x, axes[i], loc), loc);
  return cast(m, d, loc);
}

void check_epsilon(double epsilon, const char* what) {
  if (!(epsilon >= 1e-5))
    throw ValueError(std::string(what) + ": epsilon must be at least 1e-5, got " +
                     std::to_string(epsilon));
}

}  // namespace

std::vector<int> batchnorm_axes(const std::string& spec, int ndim) {
  if (spec == "per-activation") return {0};
  if (spec == "spatial") {
    std::vector<int> axes{0};
    for (int d = 2; d < ndim; ++d) axes.push_back(d);
    return axes;
  }
  throw ValueError(
      "batch normalization: axes must be 'per-activation', 'spatial' or a "
      "tuple of ints, got '" +
      spec + "'");
}

std::vector<int> batchnorm_axes(std::vector<int> axes, int ndim) {
  if (axes.empty())
    throw ValueError(
        "batch normalization: there must be at least one normalization axis");
  std::sort(axes.begin(), axes.end());
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= ndim)
      throw ValueError("batch normalization: axes must be in [0, " +
                       std::to_string(ndim) + ") for an input of ndim " +
                       std::to_string(ndim) + ", got " + axes_str(axes));
    if (i && axes[i] == axes[i - 1])
      throw ValueError("batch normalization: axis " + std::to_string(axes[i]) +
                       " is given twice in " + axes_str(axes));
  }
  return axes;
}

BatchNormTrainResult batch_normalization_train(
    const Var& inputs, const Var& gamma, const Var& beta, const std::vector<int>& axes_in,
    double epsilon, double running_average_factor, const Var& running_mean,
    const Var& running_var, const Here& loc) {
  const char* what = "batch_normalization_train";
  if (!inputs || !gamma || !beta)
    throw ValueError(std::string(what) + ": inputs, gamma and beta must not be null");
  if (static_cast<bool>(running_mean) != static_cast<bool>(running_var))
    throw ValueError(
        std::string(what) +
        ": running_mean and running_var must be given together or not at all");
  check_epsilon(epsilon, what);
  const std::vector<int> axes = batchnorm_axes(axes_in, inputs.ndim());
  const ParamForm f = param_form(inputs, gamma, beta, axes, what);
  const Var g = expand(gamma, f, std::string(what) + ": gamma", loc);
  const Var b = expand(beta, f, std::string(what) + ": beta", loc);

  BatchNormTrainResult r;
  const Var mu = mean(inputs, axes, true, loc);
  const Var centered = sub(inputs, mu, loc);
  const Var variance = mean(sqr(centered, loc), axes, true, loc);
  const Var invstd = true_div(literal(1.0, loc),
                              sqrt(add(variance, literal(epsilon, loc), loc), loc), loc);
  r.out = add(mul(centered, mul(g, invstd, loc), loc), b, loc);
  r.mean = shrink(mu, f, loc);
  r.invstd = shrink(invstd, f, loc);
  if (!running_mean) return r;

  const Var rm = expand(running_mean, f, std::string(what) + ": running_mean", loc);
  const Var rv = expand(running_var, f, std::string(what) + ": running_var", loc);
  const Var keep = literal(1.0 - running_average_factor, loc);
  const Var factor = literal(running_average_factor, loc);
  const Var m = count_over(inputs, axes, variance.dtype(), loc);
  const Var unbiased =
      mul(variance, true_div(m, sub(m, literal(1.0, loc), loc), loc), loc);
  r.running_mean = shrink(add(mul(rm, keep, loc), mul(mu, factor, loc), loc), f, loc);
  r.running_var =
      shrink(add(mul(rv, keep, loc), mul(unbiased, factor, loc), loc), f, loc);
  return r;
}

Var batch_normalization_test(const Var& inputs, const Var& gamma, const Var& beta,
                             const Var& mean_in, const Var& var_in,
                             const std::vector<int>& axes_in, double epsilon,
                             const Here& loc) {
  const char* what = "batch_normalization_test";
  if (!inputs || !gamma || !beta || !mean_in || !var_in)
    throw ValueError(std::string(what) +
                     ": inputs, gamma, beta, mean and var must not be null");
  check_epsilon(epsilon, what);
  const std::vector<int> axes = batchnorm_axes(axes_in, inputs.ndim());
  const ParamForm f = param_form(inputs, gamma, beta, axes, what);
  const Var g = expand(gamma, f, std::string(what) + ": gamma", loc);
  const Var b = expand(beta, f, std::string(what) + ": beta", loc);
  const Var mu = expand(mean_in, f, std::string(what) + ": mean", loc);
  const Var v = expand(var_in, f, std::string(what) + ": var", loc);
  const Var scale = true_div(g, sqrt(add(v, literal(epsilon, loc), loc), loc), loc);
  return add(mul(sub(inputs, mu, loc), scale, loc), b, loc);
}

Var batch_normalization(const Var& inputs, const Var& gamma, const Var& beta,
                        const Var& mean_in, const Var& std_in, const Here& loc) {
  return add(mul(sub(inputs, mean_in, loc), true_div(gamma, std_in, loc), loc), beta,
             loc);
}

}  // namespace theanine
