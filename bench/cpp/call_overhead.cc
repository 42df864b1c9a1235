// Per-call overhead of a compiled function through the C++ API: x*2+1 on 16
// float32, called in a loop with a prebuilt argument vector. The figure is what
// a call costs beyond its (negligible) arithmetic: argument checks, the Program
// run, output allocation. bench/run.py runs this binary for the `overhead_cpp`
// row and reads the one JSON line it prints on stdout.
//
//   call_overhead [--reps 7] [--seconds 0.2]
//
// Prints {"ns_per_call": median, "min": .., "max": .., "samples": [..],
// "calls_per_rep": N, "reps": R, "kernel_stats": {..}}; exits 1 when the
// function computes a wrong value (so the figure cannot come from a broken call).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "theanine.h"

using namespace theanine;

namespace {

constexpr int64_t kElements = 16;

struct Args {
  int reps = 7;
  double seconds = 0.2;  // each repetition loops until it lasts about this long
};

[[noreturn]] void usage(const char* prog, const std::string& problem) {
  std::fprintf(stderr, "%s\nusage: %s [--reps N] [--seconds S]\n", problem.c_str(), prog);
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help")
      usage(argv[0], "Per-call overhead of a tiny function.");
    if (i + 1 >= argc) usage(argv[0], "missing value after " + flag);
    const std::string value = argv[++i];
    try {
      if (flag == "--reps")
        a.reps = std::stoi(value);
      else if (flag == "--seconds")
        a.seconds = std::stod(value);
      else
        usage(argv[0], "unknown option " + flag);
    } catch (const std::exception&) {
      usage(argv[0], "bad value for " + flag + ": " + value);
    }
  }
  if (a.reps < 1 || a.seconds <= 0)
    usage(argv[0], "--reps and --seconds must be positive");
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ns per call of `calls` calls in a row.
double time_calls(const Function& f, const std::vector<Arg>& args, int64_t calls) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < calls; ++i) f(args);
  return seconds_since(t0) * 1e9 / static_cast<double>(calls);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  Var x = make_input(TensorType(DType::Float32, {-1}), "x");
  Function f = function({x}, {x * 2.0 + 1.0});
  const std::vector<Arg> args{
      Arg(NDArray::from_vector(std::vector<float>(kElements, 1.5f), {kElements}))};

  const NDArray out = f(args)[0];
  for (int64_t i = 0; i < kElements; ++i) {
    if (out.item_double(i) != 4.0) {
      std::fprintf(stderr, "call_overhead: f(1.5)[%lld] = %g, expected 4\n",
                   static_cast<long long>(i), out.item_double(i));
      return 1;
    }
  }

  // Calls per repetition from a short warm-up that also settles caches.
  int64_t calls = 1000;
  const double warm_ns = time_calls(f, args, calls);
  calls = std::max<int64_t>(
      1000, static_cast<int64_t>(a.seconds * 1e9 / std::max(warm_ns, 1.0)));

  std::vector<double> samples;
  for (int r = 0; r < a.reps; ++r) samples.push_back(time_calls(f, args, calls));
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;

  std::string list;
  for (double s : samples) list += (list.empty() ? "" : ", ") + std::to_string(s);
  const KernelCompileStats& ks = f.kernel_stats();
  std::printf(
      "{\"ns_per_call\": %.2f, \"min\": %.2f, \"max\": %.2f, \"samples\": [%s], "
      "\"calls_per_rep\": %lld, \"reps\": %d, \"kernel_stats\": {\"kernels\": %d, "
      "\"compiled\": %d, \"disk_hit\": %s, \"milliseconds\": %.3f}}\n",
      median, sorted.front(), sorted.back(), list.c_str(), static_cast<long long>(calls),
      a.reps, ks.kernels, ks.compiled, ks.disk_hit ? "true" : "false", ks.milliseconds);
  return 0;
}
