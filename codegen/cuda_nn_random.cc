// RandomOp on the device: Philox4x32-10 and the per-element samplers of
// ops/random_sampling.cc ported step for step (the same words of the same
// blocks, the same double arithmetic, compiled without contraction), so a seed
// gives the CPU's numbers: uniform and integers bit for bit, normal to the ulps
// by which the device's log, sqrt and cos differ from the host's, binomial the
// same draws except where such an ulp moves a comparison (n == 1, dropout's
// case, is exact). The state is read and the new one written by the kernel,
// on the device; the size and the parameters are read on the host, where the
// reference's checks run.
#include <limits>

#include "codegen/cuda_nn_common.h"
#include "codegen/cuda_nn_entries.h"
#include "ops/random.h"
#include "runtime/cuda_array.h"
#include "runtime/error.h"

namespace theanine::cuda_nn {

namespace {

const char* kRandom = R"(
#ifndef THEANINE_NN_RANDOM
#define THEANINE_NN_RANDOM
// ---- Philox4x32-10 (runtime/philox.h) ------------------------------------------
struct th_nn_philox_block {
  unsigned w[4];
};

__device__ __forceinline__ th_nn_philox_block th_nn_philox(unsigned c0, unsigned c1,
                                                           unsigned c2, unsigned c3,
                                                           unsigned k0, unsigned k1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const th_u64 p0 = (th_u64)0xD2511F53u * c0, p1 = (th_u64)0xCD9E8D57u * c2;
    const unsigned hi0 = (unsigned)(p0 >> 32), lo0 = (unsigned)p0;
    const unsigned hi1 = (unsigned)(p1 >> 32), lo1 = (unsigned)p1;
    const unsigned n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  th_nn_philox_block b;
  b.w[0] = c0;
  b.w[1] = c1;
  b.w[2] = c2;
  b.w[3] = c3;
  return b;
}

// The blocks of one element: block j of element counter `element` under `key`.
struct th_nn_element_blocks {
  th_u64 key, element, j;
  __device__ __forceinline__ th_nn_philox_block next() {
    const th_u64 i = j++;
    return th_nn_philox((unsigned)i, (unsigned)(i >> 32), (unsigned)element,
                        (unsigned)(element >> 32), (unsigned)key, (unsigned)(key >> 32));
  }
};

__device__ __forceinline__ float th_nn_uniform_float(unsigned w) {
  return (float)(w >> 8) * (1.0f / 16777216.0f);
}
__device__ __forceinline__ double th_nn_uniform_double(unsigned hi, unsigned lo) {
  const th_u64 bits = ((th_u64)hi << 21) | (lo >> 11);
  return (double)bits * (1.0 / 9007199254740992.0);
}
__device__ __forceinline__ th_u64 th_nn_bits64(unsigned hi, unsigned lo) {
  return ((th_u64)hi << 32) | lo;
}

// ---- the samplers (ops/random_sampling.cc) ------------------------------------------

__device__ __forceinline__ double th_nn_sample_uniform(th_nn_element_blocks& b, double low,
                                                       double high, bool single) {
  const th_nn_philox_block blk = b.next();
  if (single) {
    const double u = th_nn_uniform_float(blk.w[0]);
    float r = (float)(low + (high - low) * u);
    const float hi = (float)high;
    if (r == hi && hi != (float)low) r = nextafterf(hi, (float)low);
    return r;
  }
  double r = low + (high - low) * th_nn_uniform_double(blk.w[0], blk.w[1]);
  if (r == high && high != low) r = nextafter(high, low);
  return r;
}

__device__ __forceinline__ double th_nn_sample_normal(th_nn_element_blocks& b, double avg,
                                                      double sd, bool single, bool truncate) {
  const double two_pi = 6.283185307179586476925286766559;
  double z;
  do {
    const th_nn_philox_block blk = b.next();
    const double u1 = 1.0 - th_nn_uniform_double(blk.w[0], blk.w[1]);
    const double u2 = th_nn_uniform_double(blk.w[2], blk.w[3]);
    z = sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
  } while (truncate && fabs(z) > 2.0);
  const double r = avg + sd * z;
  return single ? (double)(float)r : r;
}

__device__ __forceinline__ th_i64 th_nn_binomial_inversion(th_nn_element_blocks& b, th_i64 n,
                                                           double p) {
  const double q = 1 - p, s = p / q, a = (n + 1) * s, r0 = pow(q, (double)n);
  for (;;) {
    const th_nn_philox_block blk = b.next();
    double u = th_nn_uniform_double(blk.w[0], blk.w[1]), r = r0;
    th_i64 x = 0;
    while (u > r) {
      u -= r;
      ++x;
      if (x > n) break;
      r *= a / (double)x - s;
    }
    if (x <= n) return x;
  }
}

__device__ __forceinline__ th_i64 th_nn_binomial_btrs(th_nn_element_blocks& b, th_i64 n,
                                                      double p) {
  const double dn = (double)n, q = 1 - p;
  const double spq = sqrt(dn * p * q);
  const double bb = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * bb + 0.01 * p;
  const double c = dn * p + 0.5;
  const double v_r = 0.92 - 4.2 / bb;
  const double alpha = (2.83 + 5.1 / bb) * spq;
  const double lpq = log(p / q);
  const double m = floor((dn + 1) * p);
  const double h = lgamma(m + 1) + lgamma(dn - m + 1);
  for (;;) {
    const th_nn_philox_block blk = b.next();
    const double u = th_nn_uniform_double(blk.w[0], blk.w[1]) - 0.5;
    const double v0 = th_nn_uniform_double(blk.w[2], blk.w[3]);
    const double us = 0.5 - fabs(u);
    if (us <= 0) continue;
    const double k = floor((2 * a / us + bb) * u + c);
    if (k < 0 || k > dn) continue;
    if (us >= 0.07 && v0 <= v_r) return (th_i64)k;
    if (v0 <= 0) continue;
    const double v = log(v0 * alpha / (a / (us * us) + bb));
    if (v <= h - lgamma(k + 1) - lgamma(dn - k + 1) + (k - m) * lpq) return (th_i64)k;
  }
}

__device__ __forceinline__ th_i64 th_nn_sample_binomial(th_nn_element_blocks& b, th_i64 n,
                                                        double p) {
  if (n == 0 || p == 0) return 0;
  if (p == 1) return n;
  if (n == 1) {
    const th_nn_philox_block blk = b.next();
    return th_nn_uniform_double(blk.w[0], blk.w[1]) < p ? 1 : 0;
  }
  const bool flip = p > 0.5;
  const double q = flip ? 1 - p : p;
  const th_i64 k = (double)n * q < 10 ? th_nn_binomial_inversion(b, n, q)
                                      : th_nn_binomial_btrs(b, n, q);
  return flip ? n - k : k;
}

__device__ __forceinline__ th_i64 th_nn_sample_integer(th_nn_element_blocks& b, th_i64 low,
                                                       th_i64 high) {
  const th_u64 range = (th_u64)high - (th_u64)low + 1;
  if (range == 0) {
    const th_nn_philox_block blk = b.next();
    return (th_i64)th_nn_bits64(blk.w[0], blk.w[1]);
  }
  const th_u64 threshold = (0 - range) % range;
  for (;;) {
    const th_nn_philox_block blk = b.next();
    for (int w = 0; w < 4; w += 2) {
      const th_u64 x = th_nn_bits64(blk.w[w], blk.w[w + 1]);
      if (x >= threshold) return (th_i64)((th_u64)low + x % range);
    }
  }
}

// ---- the kernels ------------------------------------------------------------------
// A draw of n elements from stream state [key, counter]: element i uses element
// counter counter + i; new_state = [key, counter + used]. Each parameter is an
// array of n values (broadcast on the host) or, where its pointer is null, the
// scalar beside it.
struct th_nn_rand {
  const th_i64* state;
  th_i64* new_state;
  th_u64 used;
  th_i64 n;
  const double* a_f;
  const double* b_f;
  const th_i64* a_i;
  const th_i64* b_i;
  double a_fv, b_fv;
  th_i64 a_iv, b_iv;
};

__device__ __forceinline__ double th_nn_af(const th_nn_rand& r, th_i64 i) {
  return r.a_f ? r.a_f[i] : r.a_fv;
}
__device__ __forceinline__ double th_nn_bf(const th_nn_rand& r, th_i64 i) {
  return r.b_f ? r.b_f[i] : r.b_fv;
}
__device__ __forceinline__ th_i64 th_nn_ai(const th_nn_rand& r, th_i64 i) {
  return r.a_i ? r.a_i[i] : r.a_iv;
}
__device__ __forceinline__ th_i64 th_nn_bi(const th_nn_rand& r, th_i64 i) {
  return r.b_i ? r.b_i[i] : r.b_iv;
}

// dist: 0 uniform, 1 normal, 2 truncated normal, 3 binomial, 4 integers.
template <class T, int DIST>
__device__ __forceinline__ void th_nn_random(th_nn_rand r, T* out) {
  const th_u64 key = (th_u64)r.state[0], counter = (th_u64)r.state[1];
  const th_i64 first = (th_i64)blockIdx.x * blockDim.x + threadIdx.x;
  if (first == 0) {
    r.new_state[0] = (th_i64)key;
    r.new_state[1] = (th_i64)(counter + r.used);
  }
  const bool single = sizeof(T) == 4;
  for (th_i64 i = first; i < r.n; i += (th_i64)gridDim.x * blockDim.x) {
    th_nn_element_blocks b;
    b.key = key;
    b.element = counter + (th_u64)i;
    b.j = 0;
    if (DIST == 0) out[i] = (T)th_nn_sample_uniform(b, th_nn_af(r, i), th_nn_bf(r, i), single);
    if (DIST == 1 || DIST == 2)
      out[i] = (T)th_nn_sample_normal(b, th_nn_af(r, i), th_nn_bf(r, i), single, DIST == 2);
    if (DIST == 3) out[i] = (T)th_nn_sample_binomial(b, th_nn_ai(r, i), th_nn_bf(r, i));
    if (DIST == 4) out[i] = (T)th_nn_sample_integer(b, th_nn_ai(r, i), th_nn_bi(r, i));
  }
}

#define TH_NN_RANDOM_KERNEL(NAME, DIST, T, S)                                         \
  extern "C" __global__ void th_nn_random_##NAME##_##S(th_nn_rand r, T* out) {        \
    th_nn_random<T, DIST>(r, out);                                                    \
  }
#define TH_NN_RANDOM_FLOAT_KERNELS(T, S)   \
  TH_NN_RANDOM_KERNEL(uniform, 0, T, S)    \
  TH_NN_RANDOM_KERNEL(normal, 1, T, S)     \
  TH_NN_RANDOM_KERNEL(truncnormal, 2, T, S)
#define TH_NN_RANDOM_INT_KERNELS(T, S)   \
  TH_NN_RANDOM_KERNEL(binomial, 3, T, S) \
  TH_NN_RANDOM_KERNEL(integers, 4, T, S)

#endif  // THEANINE_NN_RANDOM
)";

// A module per kind and dtype: a dropout mask compiles only the binomial
// sampler into float32.
const ModuleFamily& family() {
  static const ModuleFamily f("nn_random", kRandom, [] {
    std::vector<std::pair<std::string, std::string>> inst = {
        {"float32", "TH_NN_RANDOM_FLOAT_KERNELS(float, float32)\n"},
        {"float64", "TH_NN_RANDOM_FLOAT_KERNELS(double, float64)\n"}};
    const std::pair<const char*, const char*> types[] = {
        {"bool", "bool"},     {"int8", "signed char"}, {"int16", "short"},
        {"int32", "int"},     {"int64", "th_i64"},     {"uint8", "unsigned char"},
        {"float32", "float"}, {"float64", "double"}};
    for (const char* kind : {"binomial", "integers"})
      for (const auto& [name, type] : types)
        inst.push_back(
            {std::string(kind) + "_" + name, std::string("TH_NN_RANDOM_KERNEL(") + kind +
                                                 ", " + (kind[0] == 'b' ? "3" : "4") +
                                                 ", " + type + ", " + name + ")\n"});
    return inst;
  }());
  return f;
}

// The host twin of th_nn_rand (pointers as 64-bit device addresses).
struct RandArgs {
  uint64_t state = 0, new_state = 0;
  uint64_t used = 0;
  int64_t n = 0;
  uint64_t a_f = 0, b_f = 0, a_i = 0, b_i = 0;
  double a_fv = 0, b_fv = 0;
  int64_t a_iv = 0, b_iv = 0;
};

// A parameter's values on the host: read in place when it is one value, else
// broadcast to the sample's shape and converted (as the reference's Param).
struct HostParam {
  NDArray values;  // contiguous, of the sample's shape, or 1 value
  bool scalar = false;
  bool ok = true;  // broadcasts to the sample
};

HostParam host_param(const NDArray& p, const Shape& shape, DType as) {
  HostParam h;
  const int nd = static_cast<int>(shape.size());
  bool ok = p.ndim() <= nd;
  for (int i = 0; ok && i < p.ndim(); ++i) {
    const int64_t pd = p.shape(i), sd = shape[nd - p.ndim() + i];
    ok = pd == sd || pd == 1;
  }
  h.ok = ok;
  if (!ok) return h;
  NDArray host = to_host(p);
  h.scalar = host.size() == 1;
  h.values = (h.scalar ? host.reshape({1}) : host.broadcast_to(shape)).astype(as);
  return h;
}

double f64_at(const HostParam& h, int64_t k) { return h.values.data<double>()[k]; }
int64_t i64_at(const HostParam& h, int64_t k) { return h.values.data<int64_t>()[k]; }

// Fills a float parameter's slot: the scalar, or the values on the device
// (held in `keep` until the launch is queued; the allocator hands a block out
// again only to work queued after it).
void float_slot(const HostParam& h, uint64_t* ptr, double* value,
                std::vector<NDArray>& keep) {
  if (h.scalar) {
    *value = f64_at(h, 0);
    return;
  }
  keep.push_back(to_device(h.values));
  *ptr = dptr(keep.back());
}
void int_slot(const HostParam& h, uint64_t* ptr, int64_t* value,
              std::vector<NDArray>& keep) {
  if (h.scalar) {
    *value = i64_at(h, 0);
    return;
  }
  keep.push_back(to_device(h.values));
  *ptr = dptr(keep.back());
}

// The reference's check_fits: integers in [lo, hi] fit `dtype`.
bool fits(int64_t lo, int64_t hi, DType dtype) {
  if (is_float(dtype) || lo > hi) return true;
  int64_t min = 0, max = 0;
  switch (dtype) {
    case DType::Bool:
      min = 0, max = 1;
      break;
    case DType::Int8:
      min = -128, max = 127;
      break;
    case DType::Int16:
      min = -32768, max = 32767;
      break;
    case DType::Int32:
      min = std::numeric_limits<int32_t>::min(),
      max = std::numeric_limits<int32_t>::max();
      break;
    case DType::UInt8:
      min = 0, max = 255;
      break;
    default:
      return true;
  }
  return lo >= min && hi <= max;
}

bool random_matches(const Apply& node) {
  const auto* op = dynamic_cast<const RandomOp*>(node.op.get());
  if (!op) return false;
  switch (op->dist()) {
    case RandomDist::Uniform:
    case RandomDist::Normal:
    case RandomDist::TruncatedNormal:
      return is_float(op->dtype());
    case RandomDist::Binomial:
    case RandomDist::Integers:
      return true;
    default:
      return false;
  }
}

std::optional<std::vector<NDArray>> random_run(const Apply& node,
                                               const std::vector<NDArray>& in) {
  const auto& op = static_cast<const RandomOp&>(*node.op);
  if (!random_matches(node) || in.empty()) return std::nullopt;
  const DType dtype = op.dtype();
  const NDArray& state = in[0];
  // A state on the host: the host draws (the node's perform). Sizes and
  // parameters are read where they are: usually host scalars, so a recorded
  // step (runtime/cuda_graph.h) reads nothing back from the device.
  if (!on_device(state)) return std::nullopt;
  if (state.ndim() != 1 || state.shape(0) != 2 || state.dtype() != DType::Int64)
    throw_reference_error(node, in, "the state");
  const size_t n_size = op.size_ndim() < 0 ? 0 : op.size_ndim();
  if (in.size() != 1 + n_size + 2) return std::nullopt;
  Shape shape;
  for (size_t i = 0; i < n_size; ++i) {
    const int64_t d = host_int(in[1 + i]);
    if (d < 0) throw_reference_error(node, in, "the size");
    shape.push_back(d);
  }
  const NDArray &pa = in[1 + n_size], &pb = in[2 + n_size];
  if (op.size_ndim() < 0) {
    try {
      shape = broadcast_shapes({pa.shape(), pb.shape()});
    } catch (const ShapeError&) {
      throw_reference_error(node, in, "the parameters' shapes");
    }
  }
  const int64_t count = shape_size(shape);
  RandArgs args;
  std::vector<NDArray> keep;
  std::string name;
  switch (op.dist()) {
    case RandomDist::Uniform:
    case RandomDist::Normal:
    case RandomDist::TruncatedNormal: {
      HostParam a = host_param(pa, shape, DType::Float64),
                b = host_param(pb, shape, DType::Float64);
      if (!a.ok || !b.ok) throw_reference_error(node, in, "a parameter's shape");
      if (op.dist() != RandomDist::Uniform)
        for (int64_t k = 0; k < b.values.size(); ++k)
          if (!(f64_at(b, k) >= 0)) throw_reference_error(node, in, "std");
      float_slot(a, &args.a_f, &args.a_fv, keep);
      float_slot(b, &args.b_f, &args.b_fv, keep);
      name = op.dist() == RandomDist::Uniform  ? "uniform"
             : op.dist() == RandomDist::Normal ? "normal"
                                               : "truncnormal";
      break;
    }
    case RandomDist::Binomial: {
      HostParam n = host_param(pa, shape, DType::Int64),
                p = host_param(pb, shape, DType::Float64);
      if (!n.ok || !p.ok) throw_reference_error(node, in, "a parameter's shape");
      int64_t n_max = 0;
      for (int64_t k = 0; k < n.values.size(); ++k) {
        if (i64_at(n, k) < 0) throw_reference_error(node, in, "n");
        n_max = std::max(n_max, i64_at(n, k));
      }
      if (count > 0 && !fits(0, n_max, dtype))
        throw_reference_error(node, in, "the dtype");
      for (int64_t k = 0; k < p.values.size(); ++k)
        if (!(f64_at(p, k) >= 0 && f64_at(p, k) <= 1))
          throw_reference_error(node, in, "p");
      int_slot(n, &args.a_i, &args.a_iv, keep);
      float_slot(p, &args.b_f, &args.b_fv, keep);
      name = "binomial";
      break;
    }
    case RandomDist::Integers: {
      HostParam lo = host_param(pa, shape, DType::Int64),
                hi = host_param(pb, shape, DType::Int64);
      if (!lo.ok || !hi.ok) throw_reference_error(node, in, "a parameter's shape");
      const int64_t checks = lo.scalar && hi.scalar ? 1 : count;
      int64_t lowest = std::numeric_limits<int64_t>::max(),
              highest = std::numeric_limits<int64_t>::min();
      for (int64_t i = 0; i < checks; ++i) {
        const int64_t l = i64_at(lo, lo.scalar ? 0 : i),
                      h = i64_at(hi, hi.scalar ? 0 : i);
        if (h < l) throw_reference_error(node, in, "low > high");
        lowest = std::min(lowest, l);
        highest = std::max(highest, h);
      }
      if (count > 0 && !fits(lowest, highest, dtype))
        throw_reference_error(node, in, "the dtype");
      int_slot(lo, &args.a_i, &args.a_iv, keep);
      int_slot(hi, &args.b_i, &args.b_iv, keep);
      name = "integers";
      break;
    }
    default:
      return std::nullopt;
  }
  NDArray st = dense(state);
  NDArray new_state = device_empty(DType::Int64, {2});
  NDArray sample = device_empty(dtype, shape);
  args.state = dptr(st);
  args.new_state = dptr(new_state);
  args.used = static_cast<uint64_t>(count);
  args.n = count;
  // At least one block: it writes the new state.
  const unsigned block = 128;
  const unsigned grid = std::max(1u, cuda_grid_for(count, block));
  const std::string key = name == "binomial" || name == "integers"
                              ? name + "_" + dtype_name(dtype)
                              : dtype_name(dtype);
  launch_cuda_source(family().get(key), "th_nn_random_" + name + "_" + dtype_name(dtype),
                     {grid, block, 0}, args, dptr(sample));
  return std::vector<NDArray>{new_state, sample};
}

}  // namespace

std::vector<const CudaSourceModule*> random_modules() { return family().all(); }

std::vector<CudaOpEntry> random_entries() {
  return {{"Random", random_matches, random_run, /*inputs_anywhere=*/true}};
}

}  // namespace theanine::cuda_nn
