#pragma once
// Random numbers: sampling ops over a counter-based generator (runtime/philox.h),
// Theano-style RandomStreams that own one state per random variable, and dropout.
//
// A stream's state is an int64 vector [key, counter] held in a shared variable. A
// random node takes the state, the sample size and the distribution's
// parameters, and returns (new state, sample). Element i of a draw reads the
// Philox blocks of element counter `counter + i` under `key`, so a sample is a
// pure function of (seed, how many elements the stream drew before, i): the same
// on every backend and for any thread count. The new state is [key, counter +
// elements used]. RandomStreams makes the new state the state's default update,
// so function() advances it on every call unless told no_default_updates.
//
// Samples are not differentiable functions of their parameters: asking for the
// gradient of a uniform or normal sample with respect to low/high or avg/std is
// a TypeError, as in Theano's RandomStreams (write low + (high - low) * u with
// u = uniform(size) for a reparameterised sample).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/op.h"
#include "graph/variable.h"
#include "ops/operators.h"

namespace theanine {

// A stream state [key, counter = 0] whose key is derived from (seed, index).
NDArray random_state(uint64_t seed, uint64_t index = 0);

// The size of a sample: absent (the broadcast shape of the parameters), constant
// dims, integer scalar variables (x.shape[0]...), or an integer vector variable
// (x.shape, see of_vector).
class RandomSize {
 public:
  // One dim: a number or an integer scalar variable.
  struct Dim {
    Var var;
    Dim(int64_t v, const Here& loc = Here::current());  // NOLINT: implicit by design
    Dim(const Var& v) : var(v) {}                       // NOLINT
  };

  RandomSize() = default;
  RandomSize(std::initializer_list<Dim> dims);  // NOLINT: {2, 3}, {x_rows, 3}
  RandomSize(const std::vector<int64_t>& dims,  // NOLINT
             const Here& loc = Here::current());
  RandomSize(std::vector<Var> dims) : dims_(std::move(dims)), given_(true) {}  // NOLINT
  // The entries of an int vector; TypeError when its length is not known
  // statically and no ndim is given, or differs from the one given.
  static RandomSize of_vector(const Var& shape_vector, int ndim = -1,
                              const Here& loc = Here::current());

  bool given() const { return given_; }
  const std::vector<Var>& dims() const { return dims_; }

 private:
  std::vector<Var> dims_;
  bool given_ = false;
};

enum class RandomDist : uint8_t {
  Uniform,          // params: low, high
  Normal,           // params: avg, std
  TruncatedNormal,  // params: avg, std; redrawn beyond 2 std
  Binomial,         // params: n, p
  Integers,         // params: low, high (inclusive)
  Choice,           // params: a[, p]; with replacement
  ChoiceNoReplace,  // params: a[, p]; without replacement
  Permutation,      // params: n; sample shape size + (n,)
};
const char* random_dist_name(RandomDist d);
// The names of a distribution's parameters, in input order ("low", "high").
std::vector<std::string> random_param_names(RandomDist d);

// Inputs: state, `size_ndim` integer scalars (the size; -1: no size, the sample
// has the broadcast shape of the parameters), then the parameters. Outputs: the
// new state and the sample, of `dtype`.
class RandomOp : public Op {
 public:
  RandomOp(RandomDist dist, DType dtype, int size_ndim)
      : dist_(dist), dtype_(dtype), size_ndim_(size_ndim) {}
  RandomDist dist() const { return dist_; }
  DType dtype() const { return dtype_; }
  int size_ndim() const { return size_ndim_; }

  std::string name() const override;  // "Random{uniform,float32,size=2}"
  std::vector<TensorType> infer_types(const std::vector<Var>& inputs) const override;
  std::vector<NDArray> perform(const Apply& node,
                               const std::vector<NDArray>& inputs) const override;
  // TypeError naming the parameter: samples have no gradient (see above).
  std::vector<Var> grad(const Apply& node,
                        const std::vector<Var>& output_grads) const override;

 private:
  RandomDist dist_;
  DType dtype_;
  int size_ndim_;
};

// One draw: the state after it and the sample.
struct RandomDraw {
  Var new_state;
  Var sample;
};

// The dtype of a float sample when none is asked for: `floatx` promoted with the
// dtypes of the parameters that are not number literals (Theano's
// upcast(floatX, low.dtype, high.dtype)).
DType random_float_dtype(const std::vector<Var>& params, DType floatx = DType::Float32);

// ---- draws from an explicit state (the raw ops) -------------------------------

// Uniform in [low, high). dtype: float32 (24 random bits) or float64 (53).
RandomDraw random_uniform(const Var& state, const RandomSize& size, const Var& low,
                          const Var& high, std::optional<DType> dtype = std::nullopt,
                          const Here& loc = Here::current());
// avg + std * z, z standard normal by Box-Muller; with `truncate`, z is redrawn
// until |z| <= 2.
RandomDraw random_normal(const Var& state, const RandomSize& size, const Var& avg,
                         const Var& std, std::optional<DType> dtype = std::nullopt,
                         bool truncate = false, const Here& loc = Here::current());
// The number of successes in n trials of probability p (n an integer >= 0, p in
// [0, 1]; ValueError at run time otherwise).
RandomDraw random_binomial(const Var& state, const RandomSize& size, const Var& n,
                           const Var& p, DType dtype = DType::Int64,
                           const Here& loc = Here::current());
// Integers uniform in [low, high], both ends included (Theano's random_integers).
RandomDraw random_integers(const Var& state, const RandomSize& size, const Var& low,
                           const Var& high, DType dtype = DType::Int64,
                           const Here& loc = Here::current());
// Elements of `a` (a vector) or of arange(a) (an integer scalar), with or
// without replacement, uniformly or with probabilities `p` (a vector; null for
// uniform). dtype: a's for a vector, int64 for a scalar, unless given.
RandomDraw random_choice(const Var& state, const RandomSize& size, const Var& a,
                         bool replace = true, const Var& p = Var(),
                         std::optional<DType> dtype = std::nullopt,
                         const Here& loc = Here::current());
// Random permutations of arange(n), one per element of `size`: the sample has
// shape size + (n,).
RandomDraw random_permutation(const Var& state, const RandomSize& size, const Var& n,
                              DType dtype = DType::Int64,
                              const Here& loc = Here::current());

// ---- streams ------------------------------------------------------------------

// Theano's RandomStreams: each call creates a random variable with its own state
// (a shared variable seeded from the stream's seed and the variable's creation
// index), sets the state's default update to the draw's new state, and keeps
// that update alive (the core holds default updates weakly). Two streams with
// the same seed give the same numbers for their k-th variables.
//
//   RandomStreams rs(1234);
//   Var u = rs.uniform({2, 3});            // function({}, {u}) draws anew each call
//   Var m = rs.binomial(RandomSize::of_vector(shape(x)), 1, 0.5, DType::Float32);
class RandomStreams {
 public:
  explicit RandomStreams(uint64_t seed);
  // Not copyable: a copy would number its new variables as the original does and
  // so repeat its numbers.
  RandomStreams(const RandomStreams&) = delete;
  RandomStreams& operator=(const RandomStreams&) = delete;
  RandomStreams(RandomStreams&&) = default;
  RandomStreams& operator=(RandomStreams&&) = default;

  Var uniform(const RandomSize& size = {}, const Operand& low = 0.0,
              const Operand& high = 1.0, std::optional<DType> dtype = std::nullopt,
              const Here& loc = Here::current());
  Var normal(const RandomSize& size = {}, const Operand& avg = 0.0,
             const Operand& std = 1.0, std::optional<DType> dtype = std::nullopt,
             bool truncate = false, const Here& loc = Here::current());
  Var binomial(const RandomSize& size = {}, const Operand& n = 1, const Operand& p = 0.5,
               DType dtype = DType::Int64, const Here& loc = Here::current());
  // [low, high], both included.
  Var random_integers(const RandomSize& size = {}, const Operand& low = 0,
                      const Operand& high = 1, DType dtype = DType::Int64,
                      const Here& loc = Here::current());
  // [low, high): NumPy's Generator.integers.
  Var integers(const RandomSize& size, const Operand& low, const Operand& high,
               DType dtype = DType::Int64, const Here& loc = Here::current());
  Var choice(const RandomSize& size, const Operand& a, bool replace = true,
             const Var& p = Var(), std::optional<DType> dtype = std::nullopt,
             const Here& loc = Here::current());
  Var permutation(const RandomSize& size, const Operand& n, DType dtype = DType::Int64,
                  const Here& loc = Here::current());

  // Resets every state this stream created to a fresh one of `seed`.
  void seed(uint64_t seed);
  uint64_t seed() const { return seed_; }
  // (state, new state) per random variable, in creation order.
  const std::vector<std::pair<Var, Var>>& state_updates() const { return state_updates_; }

 private:
  Var new_state(const Here& loc);
  Var keep(const Var& state, const RandomDraw& draw);

  uint64_t seed_;
  std::vector<std::pair<Var, Var>> state_updates_;
};

// x with each element kept with probability 1 - p and zeroed otherwise; with
// `rescale`, kept elements are divided by 1 - p so the expectation is x. The
// mask has x's dtype and shape; the gradient flows to x through it. p is a
// number in [0, 1) (ValueError otherwise; 1 is allowed without rescale) or a
// scalar variable.
Var dropout(const Var& x, const Operand& p, RandomStreams& rng, bool rescale = true,
            const Here& loc = Here::current());

}  // namespace theanine
