// Python bindings: random streams (ops/random.h). _core.RandomStreams is the C++
// class; theanine.tensor.shared_randomstreams.RandomStreams and
// theanine.sandbox.rng_mrg.MRG_RandomStreams subclass it with Theano's keyword
// defaults. Sizes arrive as None, an int, a tuple or list of ints and integer
// scalars, or an integer vector (x.shape).
#include <random>

#include "ops/random.h"
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/error.h"

namespace theanine::py {

namespace {

std::string type_name(const pyb::handle& h) {
  return pyb::str(pyb::type::of(h).attr("__name__"));
}

// A Python int (any sign or size) as 64 bits; None draws a seed from the OS.
uint64_t seed_from(const pyb::object& seed) {
  if (seed.is_none()) {
    std::random_device dev;
    return (static_cast<uint64_t>(dev()) << 32) | dev();
  }
  if (!pyb::isinstance<pyb::int_>(seed) || pyb::isinstance<pyb::bool_>(seed))
    throw TypeError("seed must be an int or None, got " + type_name(seed));
  pyb::object low = seed.attr("__and__")(pyb::int_(~uint64_t{0}));
  return low.cast<uint64_t>();
}

std::optional<int> ndim_from(const pyb::object& ndim) {
  if (ndim.is_none()) return std::nullopt;
  return ndim.cast<int>();
}

RandomSize size_from(const pyb::object& size, std::optional<int> ndim) {
  if (size.is_none()) return RandomSize();
  if (pyb::isinstance<Variable>(size)) {
    Var v = size.cast<Var>();
    if (v.ndim() == 0) return RandomSize(std::vector<Var>{v});
    return RandomSize::of_vector(v, ndim.value_or(-1));
  }
  if (pyb::isinstance<pyb::int_>(size) && !pyb::isinstance<pyb::bool_>(size))
    return RandomSize(std::vector<Var>{as_var(size)});
  if (!pyb::isinstance<pyb::tuple>(size) && !pyb::isinstance<pyb::list>(size) &&
      !pyb::isinstance<pyb::array>(size))
    throw TypeError(
        "size must be None, an int, a tuple of ints or integer scalars, or an "
        "integer vector, got " +
        type_name(size));
  std::vector<Var> dims;
  for (pyb::handle d : size) {
    if (d.is_none()) throw TypeError("size: an entry is None");
    if (pyb::isinstance<pyb::float_>(d))
      throw TypeError("size entries must be integers, got the float " +
                      std::string(pyb::str(d)));
    dims.push_back(as_var(d));
  }
  if (ndim && *ndim != static_cast<int>(dims.size()))
    throw ValueError("size " + std::string(pyb::str(size)) + " has " +
                     std::to_string(dims.size()) + " entries but ndim is " +
                     std::to_string(*ndim));
  return RandomSize(std::move(dims));
}

// A sample checked against the ndim the caller asked for.
Var checked(const Var& sample, std::optional<int> ndim, const char* what) {
  if (ndim && sample.ndim() != *ndim)
    throw ValueError(std::string(what) + ": the sample has ndim " +
                     std::to_string(sample.ndim()) +
                     " but ndim=" + std::to_string(*ndim) + " was asked for");
  return sample;
}

std::optional<DType> dtype_from(const pyb::object& dtype) {
  if (dtype.is_none()) return std::nullopt;
  return dtype_from_name(dtype.cast<std::string>());
}

DType float_dtype(const pyb::object& dtype, const std::vector<Var>& params,
                  const std::string& floatx) {
  return dtype_from(dtype).value_or(random_float_dtype(params, dtype_from_name(floatx)));
}

}  // namespace

void bind_random(pybind11::module_& m) {
  using pyb::arg;
  pyb::class_<RandomStreams, std::shared_ptr<RandomStreams>>(m, "RandomStreams",
                                                             pyb::dynamic_attr())
      .def(pyb::init([](const pyb::object& seed) {
             return std::make_shared<RandomStreams>(seed_from(seed));
           }),
           arg("seed") = pyb::none())
      .def(
          "_uniform",
          [](RandomStreams& rs, const pyb::object& size, const Var& low, const Var& high,
             const pyb::object& ndim, const pyb::object& dtype,
             const std::string& floatx) {
            auto nd = ndim_from(ndim);
            DType d = float_dtype(dtype, {low, high}, floatx);
            return checked(rs.uniform(size_from(size, nd), low, high, d), nd, "uniform");
          },
          arg("size"), arg("low"), arg("high"), arg("ndim"), arg("dtype"), arg("floatX"))
      .def(
          "_normal",
          [](RandomStreams& rs, const pyb::object& size, const Var& avg, const Var& std,
             const pyb::object& ndim, const pyb::object& dtype, const std::string& floatx,
             bool truncate) {
            auto nd = ndim_from(ndim);
            DType d = float_dtype(dtype, {avg, std}, floatx);
            return checked(rs.normal(size_from(size, nd), avg, std, d, truncate), nd,
                           "normal");
          },
          arg("size"), arg("avg"), arg("std"), arg("ndim"), arg("dtype"), arg("floatX"),
          arg("truncate"))
      .def(
          "_binomial",
          [](RandomStreams& rs, const pyb::object& size, const Var& n, const Var& p,
             const pyb::object& ndim, const std::string& dtype) {
            auto nd = ndim_from(ndim);
            return checked(rs.binomial(size_from(size, nd), n, p, dtype_from_name(dtype)),
                           nd, "binomial");
          },
          arg("size"), arg("n"), arg("p"), arg("ndim"), arg("dtype"))
      .def(
          "_random_integers",
          [](RandomStreams& rs, const pyb::object& size, const Var& low, const Var& high,
             const pyb::object& ndim, const std::string& dtype, bool high_inclusive) {
            auto nd = ndim_from(ndim);
            RandomSize s = size_from(size, nd);
            DType d = dtype_from_name(dtype);
            return checked(high_inclusive ? rs.random_integers(s, low, high, d)
                                          : rs.integers(s, low, high, d),
                           nd, "random_integers");
          },
          arg("size"), arg("low"), arg("high"), arg("ndim"), arg("dtype"),
          arg("high_inclusive"))
      .def(
          "_choice",
          [](RandomStreams& rs, const pyb::object& size, const Var& a, bool replace,
             const pyb::object& p, const pyb::object& ndim, const pyb::object& dtype) {
            auto nd = ndim_from(ndim);
            Var pv = p.is_none() ? Var() : as_var(p);
            return checked(
                rs.choice(size_from(size, nd), a, replace, pv, dtype_from(dtype)), nd,
                "choice");
          },
          arg("size"), arg("a"), arg("replace"), arg("p"), arg("ndim"), arg("dtype"))
      .def(
          "_permutation",
          [](RandomStreams& rs, const pyb::object& size, const Var& n,
             const pyb::object& ndim, const std::string& dtype) {
            auto nd = ndim_from(ndim);
            return checked(rs.permutation(size_from(size, nd), n, dtype_from_name(dtype)),
                           nd ? std::optional<int>(*nd + 1) : std::nullopt,
                           "permutation");
          },
          arg("size"), arg("n"), arg("ndim"), arg("dtype"))
      .def(
          "_seed",
          [](RandomStreams& rs, const pyb::object& seed) { rs.seed(seed_from(seed)); },
          arg("seed"))
      .def_property_readonly("_seed_value",
                             [](const RandomStreams& rs) { return rs.seed(); })
      .def_property_readonly("state_updates", [](const RandomStreams& rs) {
        pyb::list l;
        for (auto& [state, update] : rs.state_updates())
          l.append(pyb::make_tuple(pyb::cast(state), pyb::cast(update)));
        return l;
      });

  m.def(
      "dropout",
      [](const Var& x, const Var& p, RandomStreams& rng, bool rescale) {
        return dropout(x, Operand(p), rng, rescale);
      },
      arg("x"), arg("p"), arg("rng"), arg("rescale") = true,
      "x with each element kept with probability 1 - p (and divided by 1 - p when "
      "rescale), zeroed otherwise");
  m.def(
      "random_state",
      [](uint64_t seed, uint64_t index) {
        return numpy_from_ndarray(random_state(seed, index));
      },
      arg("seed"), arg("index") = 0, "A stream state [key, counter] for (seed, index).");
}

}  // namespace theanine::py
