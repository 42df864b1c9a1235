// RandomOp::perform: reads the stream state, the size and the parameters, checks
// them, and fills the sample element by element with ops/random_sampling.h.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "ops/random.h"
#include "ops/random_sampling.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace theanine {

namespace rs = random_sampling;

namespace {

struct StreamState {
  uint64_t key;
  uint64_t counter;
};

StreamState read_state(const NDArray& s, const std::string& what) {
  if (s.ndim() != 1 || s.shape(0) != 2 || s.dtype() != DType::Int64)
    throw ValueError(what +
                     ": the random state must be an int64 vector [key, counter], "
                     "got an array of shape " +
                     shape_str(s.shape()) + " and dtype " + dtype_name(s.dtype()));
  return {static_cast<uint64_t>(s.item_int(0)), static_cast<uint64_t>(s.item_int(1))};
}

NDArray state_array(const StreamState& st) {
  return NDArray::from_vector(std::vector<int64_t>{static_cast<int64_t>(st.key),
                                                   static_cast<int64_t>(st.counter)},
                              {2});
}

// ValueError when integers in [lo, hi] would not fit the sample's dtype (an
// int8 sample of values up to 1000 would wrap).
void check_fits(int64_t lo, int64_t hi, DType dtype, const std::string& what) {
  if (is_float(dtype) || lo > hi) return;
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const int64_t min = static_cast<int64_t>(std::numeric_limits<T>::min());
    const int64_t max = static_cast<int64_t>(std::numeric_limits<T>::max());
    if (lo < min || hi > max)
      throw ValueError(what + ": values up to [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "] do not fit the dtype " +
                       dtype_name(dtype));
  });
}

// A parameter read as elements of type T at the sample's flat indices: a scalar
// (the common case) is read in place, anything else broadcast and converted once.
template <class T>
class Param {
 public:
  Param(const NDArray& p, const Shape& shape, const std::string& what) {
    bool ok = p.ndim() <= static_cast<int>(shape.size());
    for (int i = 0; ok && i < p.ndim(); ++i) {
      const int64_t pd = p.shape(i), sd = shape[shape.size() - p.ndim() + i];
      ok = pd == sd || pd == 1;
    }
    if (!ok)
      throw ShapeError(what + " of shape " + shape_str(p.shape()) +
                       " does not broadcast to the sample size " + shape_str(shape));
    scalar_ = p.size() == 1;
    values_ = (scalar_ ? p : p.broadcast_to(shape)).astype(dtype_of<T>());
    data_ = values_.data<T>();
  }
  T operator[](int64_t i) const { return data_[scalar_ ? 0 : i]; }
  // Every distinct value (for checks).
  int64_t count() const { return values_.size(); }
  T value(int64_t k) const { return data_[k]; }

 private:
  NDArray values_;
  const T* data_ = nullptr;
  bool scalar_ = false;
};

// out[i] = f(i, blocks of element counter + i) for every element i, converted to
// `dtype`. Elements are independent, so the pool may split them any way.
template <class F>
NDArray per_element(DType dtype, const Shape& shape, const StreamState& st, F&& f) {
  NDArray out = NDArray::empty(dtype, shape);
  const int64_t n = out.size();
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* o = out.data<T>();
    parallel_for(n, n * 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        rs::ElementBlocks b{st.key, st.counter + static_cast<uint64_t>(i)};
        o[i] = static_cast<T>(f(i, b));
      }
    });
  });
  return out;
}

// The order of `count` candidates by their keys (ties, vanishingly rare, by
// index), keys drawn from element counters first, first + 1, ...
std::vector<int64_t> order_by_keys(const StreamState& st, uint64_t first, int64_t count,
                                   const std::function<double(int64_t, double)>& key_of) {
  std::vector<double> keys(count);
  for (int64_t c = 0; c < count; ++c) {
    rs::ElementBlocks b{st.key, first + static_cast<uint64_t>(c)};
    keys[c] = key_of(c, rs::key(b));
  }
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return keys[x] < keys[y] || (keys[x] == keys[y] && x < y);
  });
  return order;
}

// Normalised, checked probabilities of a choice over n candidates.
std::vector<double> choice_probabilities(const NDArray& p, int64_t n,
                                         const std::string& what) {
  if (p.size() != n)
    throw ShapeError(what + ": p has " + std::to_string(p.size()) + " entries for " +
                     std::to_string(n) + " candidates");
  NDArray pd = p.astype(DType::Float64);
  std::vector<double> r(pd.data<double>(), pd.data<double>() + n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!(r[i] >= 0) || std::isinf(r[i]))
      throw ValueError(what + ": probabilities must be finite and >= 0, got p[" +
                       std::to_string(i) + "] = " + std::to_string(r[i]));
    total += r[i];
  }
  if (std::fabs(total - 1) > 1e-5)
    throw ValueError(what + ": probabilities do not sum to 1 (sum " +
                     std::to_string(total) + ")");
  for (double& x : r) x /= total;
  return r;
}

}  // namespace

std::vector<NDArray> RandomOp::perform(const Apply& node,
                                       const std::vector<NDArray>& in) const {
  const std::string what = random_dist_name(dist_);
  StreamState st = read_state(in.at(0), what);
  const size_t n_size = size_ndim_ < 0 ? 0 : size_ndim_;
  Shape shape;
  for (size_t i = 0; i < n_size; ++i) {
    const int64_t d = in[1 + i].item_int();
    if (d < 0)
      throw ValueError(what + ": negative dimension " + std::to_string(d) +
                       " in the size (dim " + std::to_string(i) + ")");
    shape.push_back(d);
  }
  std::vector<NDArray> params(in.begin() + 1 + n_size, in.end());
  if (size_ndim_ < 0) {
    std::vector<Shape> shapes;
    for (const NDArray& p : params) shapes.push_back(p.shape());
    shape = broadcast_shapes(shapes);
  }
  const std::vector<std::string> names = random_param_names(dist_);
  auto pname = [&](size_t k) { return what + ": " + names[k]; };
  const bool single = dtype_ == DType::Float32;
  uint64_t used = static_cast<uint64_t>(shape_size(shape));
  NDArray sample;

  switch (dist_) {
    case RandomDist::Uniform: {
      Param<double> lo(params[0], shape, pname(0)), hi(params[1], shape, pname(1));
      sample = per_element(dtype_, shape, st, [&](int64_t i, rs::ElementBlocks& b) {
        return rs::uniform(b, lo[i], hi[i], single);
      });
      break;
    }
    case RandomDist::Normal:
    case RandomDist::TruncatedNormal: {
      Param<double> avg(params[0], shape, pname(0)), sd(params[1], shape, pname(1));
      for (int64_t k = 0; k < sd.count(); ++k)
        if (!(sd.value(k) >= 0))
          throw ValueError(what + ": std must be >= 0, got " +
                           std::to_string(sd.value(k)));
      const bool trunc = dist_ == RandomDist::TruncatedNormal;
      sample = per_element(dtype_, shape, st, [&](int64_t i, rs::ElementBlocks& b) {
        return rs::normal(b, avg[i], sd[i], single, trunc);
      });
      break;
    }
    case RandomDist::Binomial: {
      Param<int64_t> n(params[0], shape, pname(0));
      Param<double> p(params[1], shape, pname(1));
      int64_t n_max = 0;
      for (int64_t k = 0; k < n.count(); ++k) {
        if (n.value(k) < 0)
          throw ValueError(what + ": n must be >= 0, got " + std::to_string(n.value(k)));
        n_max = std::max(n_max, n.value(k));
      }
      if (shape_size(shape) > 0) check_fits(0, n_max, dtype_, what);
      for (int64_t k = 0; k < p.count(); ++k)
        if (!(p.value(k) >= 0 && p.value(k) <= 1))
          throw ValueError(what + ": p must be in [0, 1], got " +
                           std::to_string(p.value(k)));
      sample = per_element(dtype_, shape, st, [&](int64_t i, rs::ElementBlocks& b) {
        return rs::binomial(b, n[i], p[i]);
      });
      break;
    }
    case RandomDist::Integers: {
      Param<int64_t> lo(params[0], shape, pname(0)), hi(params[1], shape, pname(1));
      const int64_t checks = lo.count() == 1 && hi.count() == 1 ? 1 : shape_size(shape);
      int64_t lowest = std::numeric_limits<int64_t>::max(),
              highest = std::numeric_limits<int64_t>::min();
      for (int64_t i = 0; i < checks; ++i) {
        if (hi[i] < lo[i])
          throw ValueError(what + ": low must be <= high, got low " +
                           std::to_string(lo[i]) + " and high " + std::to_string(hi[i]));
        lowest = std::min(lowest, lo[i]);
        highest = std::max(highest, hi[i]);
      }
      if (shape_size(shape) > 0) check_fits(lowest, highest, dtype_, what);
      sample = per_element(dtype_, shape, st, [&](int64_t i, rs::ElementBlocks& b) {
        return rs::integer(b, lo[i], hi[i]);
      });
      break;
    }
    case RandomDist::Choice:
    case RandomDist::ChoiceNoReplace: {
      const NDArray& a = params[0];
      const int64_t n = a.ndim() == 0 ? a.item_int() : a.shape(0);
      if (n < 0) throw ValueError(what + ": a must be >= 0, got " + std::to_string(n));
      const int64_t count = shape_size(shape);
      std::vector<double> probs;
      if (params.size() == 2) probs = choice_probabilities(params[1], n, what);
      std::vector<int64_t> picks;
      if (dist_ == RandomDist::Choice) {
        if (n == 0 && count > 0)
          throw ValueError(what + ": cannot choose from an empty population");
        std::vector<double> cdf(probs.size());
        std::partial_sum(probs.begin(), probs.end(), cdf.begin());
        NDArray idx =
            per_element(DType::Int64, shape, st, [&](int64_t, rs::ElementBlocks& b) {
              if (probs.empty()) return rs::integer(b, 0, n - 1);
              const double u = rs::key(b) * cdf.back();
              int64_t k = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
              while (k >= n || probs[k] == 0) --k;  // u rounded onto the total
              return k;
            });
        picks.assign(idx.data<int64_t>(), idx.data<int64_t>() + count);
      } else {
        int64_t available = n;
        if (!probs.empty())
          available =
              std::count_if(probs.begin(), probs.end(), [](double x) { return x > 0; });
        if (count > available)
          throw ValueError(what + ": cannot take " + std::to_string(count) +
                           " samples without replacement from " +
                           std::to_string(available) +
                           (probs.empty() ? " candidates" : " candidates of nonzero p"));
        // Uniform keys order the candidates uniformly at random; exponential keys
        // of rate p[c] (the smallest first) take them with probability p, one by
        // one, as sequential weighted sampling without replacement does.
        std::vector<int64_t> order =
            order_by_keys(st, st.counter, n, [&](int64_t c, double u) {
              if (probs.empty()) return u;
              return probs[c] > 0 ? -std::log1p(-u) / probs[c]
                                  : std::numeric_limits<double>::infinity();
            });
        picks.assign(order.begin(), order.begin() + count);
        used = static_cast<uint64_t>(n);
      }
      if (a.ndim() == 0) {
        if (count > 0) check_fits(0, n - 1, dtype_, what);
        sample = NDArray::from_vector(picks, shape);
      } else {
        NDArray src = a.contiguous();
        sample = NDArray::empty(a.dtype(), shape);
        const size_t item = itemsize(a.dtype());
        const char* s = static_cast<const char*>(src.raw());
        char* o = static_cast<char*>(sample.raw());
        for (int64_t i = 0; i < count; ++i)
          std::copy(s + picks[i] * item, s + (picks[i] + 1) * item, o + i * item);
      }
      break;
    }
    case RandomDist::Permutation: {
      const int64_t n = params[0].item_int();
      if (n < 0) throw ValueError(what + ": n must be >= 0, got " + std::to_string(n));
      const int64_t rows = shape_size(shape);
      if (rows > 0) check_fits(0, n - 1, dtype_, what);
      shape.push_back(n);
      sample = NDArray::empty(DType::Int64, shape);
      int64_t* o = sample.data<int64_t>();
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<int64_t> order =
            order_by_keys(st, st.counter + static_cast<uint64_t>(r * n), n,
                          [](int64_t, double u) { return u; });
        std::copy(order.begin(), order.end(), o + r * n);
      }
      used = static_cast<uint64_t>(rows * n);
      break;
    }
  }
  if (sample.dtype() != dtype_) sample = sample.astype(dtype_);
  st.counter += used;
  return {state_array(st), sample};
}

}  // namespace theanine
