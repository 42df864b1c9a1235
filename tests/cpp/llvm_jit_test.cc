// The LLVM JIT engine: compiled loops against libm within a few ulp, vectorized
// with libmvec on this host, errors naming the IR line, the memory and disk caches
// (hits, corrupt entries, an unwritable folder), threads, and split modules.
#ifdef THEANINE_HAVE_LLVM

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codegen/disk_cache.h"
#include "codegen/llvm/jit.h"
#include "runtime/error.h"
#include "tests/cpp/scoped_env.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

namespace fs = std::filesystem;
using testing::ScopedEnv;

// out[i] = tanhf(a[i] * x + b) for i < n.
const char* kTanhLoop = R"(
declare float @tanhf(float)

define void @tanh_affine(ptr noalias %out, ptr noalias %a, float %x, float %b, i64 %n) {
entry:
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds float, ptr %a, i64 %i
  %va = load float, ptr %pa
  %m = fmul float %va, %x
  %s = fadd float %m, %b
  %t = call float @tanhf(float %s)
  %po = getelementptr inbounds float, ptr %out, i64 %i
  store float %t, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
)";
using TanhFn = void (*)(float*, const float*, float, float, int64_t);

// out[i] = exp(a[i]) in double, through the LLVM intrinsic.
const char* kExpLoop = R"(
declare double @llvm.exp.f64(double)

define void @exp_loop(ptr noalias %out, ptr noalias %a, i64 %n) {
entry:
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds double, ptr %a, i64 %i
  %va = load double, ptr %pa
  %e = call double @llvm.exp.f64(double %va)
  %po = getelementptr inbounds double, ptr %out, i64 %i
  store double %e, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
)";
using ExpFn = void (*)(double*, const double*, int64_t);

// The sum of a[0..n) with a reassociable fadd, so that it may vectorize.
const char* kSumLoop = R"(
define float @sum(ptr noalias %a, i64 %n) {
entry:
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %acc = phi float [ 0.0, %entry ], [ %acc.next, %loop ]
  %pa = getelementptr inbounds float, ptr %a, i64 %i
  %va = load float, ptr %pa
  %acc.next = fadd reassoc float %acc, %va
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  %r = phi float [ 0.0, %entry ], [ %acc.next, %loop ]
  ret float %r
}
)";
using SumFn = float (*)(const float*, int64_t);

// A module text no other test (or earlier run) compiled: the memory cache is
// process-wide and a comment changes the key.
std::string fresh(const std::string& ir) {
  static int counter = 0;
  return "; " + std::to_string(::getpid()) + " " +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
         " " + std::to_string(counter++) + "\n" + ir;
}

// Distance in units in the last place between two finite floats of equal sign class.
int64_t ulp_distance(float a, float b) {
  auto ordered = [](float f) {
    int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? int64_t(std::numeric_limits<int32_t>::min()) - i : int64_t(i);
  };
  return std::abs(ordered(a) - ordered(b));
}

int64_t ulp_distance(double a, double b) {
  auto ordered = [](double f) {
    int64_t i = std::bit_cast<int64_t>(f);
    return i < 0 ? std::numeric_limits<int64_t>::min() - i : i;
  };
  // Saturating: only small distances matter.
  int64_t x = ordered(a), y = ordered(b);
  return x > y ? (x - y < 0 ? INT64_MAX : x - y) : (y - x < 0 ? INT64_MAX : y - x);
}

// Checks got against want (NaN for NaN, equal infinities and zero signs, else
// within max_ulp); returns the largest distance seen.
template <class T>
int64_t expect_within_ulp(const std::vector<T>& in, const std::vector<T>& got,
                          const std::vector<T>& want, int64_t max_ulp) {
  int64_t worst = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "input " << in[i] << " gave " << got[i];
      continue;
    }
    if (std::isinf(want[i]) || want[i] == 0) {
      EXPECT_EQ(got[i], want[i]) << "input " << in[i];
      EXPECT_EQ(std::signbit(got[i]), std::signbit(want[i])) << "input " << in[i];
      continue;
    }
    int64_t d = ulp_distance(got[i], want[i]);
    worst = std::max(worst, d);
    EXPECT_LE(d, max_ulp) << "input " << in[i] << " gave " << got[i] << ", libm "
                          << want[i];
  }
  return worst;
}

std::vector<std::string> entries_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name[0] != '.') out.push_back(e.path().string());
  }
  return out;
}

class LlvmJitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/theanine-jit-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    env_ = std::make_unique<ScopedEnv>("THEANINE_CACHE_DIR", root_);
  }
  void TearDown() override {
    env_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string root_;
  std::unique_ptr<ScopedEnv> env_;
};

TEST_F(LlvmJitTest, TanhLoopMatchesLibmWithinFewUlpIncludingEdgeValues) {
  TanhFn fn =
      reinterpret_cast<TanhFn>(llvm_jit::compile(kTanhLoop, {"tanh_affine"}).at(0));
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> in = {0.0f,
                           -0.0f,
                           1e-30f,
                           -1e-30f,
                           1e-40f,
                           -1e-40f,
                           1.0f,
                           -1.0f,
                           9.0f,
                           -9.0f,
                           10.0f,
                           -10.0f,
                           20.0f,
                           -20.0f,
                           88.0f,
                           -88.0f,
                           1e30f,
                           -1e30f,
                           std::numeric_limits<float>::max(),
                           -std::numeric_limits<float>::max(),
                           inf,
                           -inf,
                           std::numeric_limits<float>::quiet_NaN()};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> wide(-12.0f, 12.0f), narrow(-1e-3f, 1e-3f);
  for (int i = 0; i < 20000; ++i) in.push_back(i % 4 ? wide(rng) : narrow(rng));
  in.resize(in.size() - 3);  // a length no vector width divides
  std::vector<float> got(in.size()), want(in.size());
  // x = 1 and b = -0 leave every input (the sign of zero too) unchanged.
  fn(got.data(), in.data(), 1.0f, -0.0f, int64_t(in.size()));
  for (size_t i = 0; i < in.size(); ++i) want[i] = std::tanh(in[i]);
  int64_t worst = expect_within_ulp(in, got, want, 4);
  std::printf("tanhf: worst %lld ulp over %zu inputs\n", (long long)worst, in.size());

  // The affine part: a * 0.5 is exact, so one rounding (the add) as in C++.
  fn(got.data(), in.data(), 0.5f, 0.25f, int64_t(in.size()));
  for (size_t i = 0; i < in.size(); ++i) want[i] = std::tanh(in[i] * 0.5f + 0.25f);
  expect_within_ulp(in, got, want, 4);
  // n = 0 and n = 1 touch nothing beyond n.
  std::vector<float> guard = {7.0f, 7.0f};
  fn(guard.data(), in.data(), 1.0f, 0.0f, 0);
  EXPECT_EQ(guard[0], 7.0f);
  fn(guard.data(), in.data() + 6, 1.0f, 0.0f, 1);
  EXPECT_EQ(guard[0], std::tanh(1.0f));
  EXPECT_EQ(guard[1], 7.0f);
}

TEST_F(LlvmJitTest, DoubleExpIntrinsicLoopMatchesLibm) {
  ExpFn fn = reinterpret_cast<ExpFn>(llvm_jit::compile(kExpLoop, {"exp_loop"}).at(0));
  std::vector<double> in = {0.0,
                            -0.0,
                            1.0,
                            -1.0,
                            709.0,
                            710.0,
                            -745.0,
                            -746.0,
                            1e-300,
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN()};
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> d(-700.0, 700.0);
  for (int i = 0; i < 10001; ++i) in.push_back(d(rng));
  std::vector<double> got(in.size()), want(in.size());
  fn(got.data(), in.data(), int64_t(in.size()));
  for (size_t i = 0; i < in.size(); ++i) want[i] = std::exp(in[i]);
  expect_within_ulp(in, got, want, 4);
}

TEST_F(LlvmJitTest, LoopsVectorizeWithLibmvecOnThisHost) {
  int bits = llvm_jit::preferred_vector_bits();
  ASSERT_TRUE(bits == 128 || bits == 256 || bits == 512) << bits;
  const char* reg = bits == 512 ? "zmm" : bits == 256 ? "ymm" : "xmm";
  std::string tanh_asm = llvm_jit::assembly(kTanhLoop);
  EXPECT_NE(tanh_asm.find(reg), std::string::npos) << tanh_asm;
  const int lanes = bits / 32;
  const std::string vector_tanh = "N" + std::to_string(lanes) + "v_tanhf";
  EXPECT_NE(tanh_asm.find("_ZGV"), std::string::npos) << tanh_asm;
  EXPECT_NE(tanh_asm.find(vector_tanh), std::string::npos) << tanh_asm;
  std::string exp_asm = llvm_jit::assembly(kExpLoop);
  EXPECT_NE(exp_asm.find("N" + std::to_string(bits / 64) + "v_exp"), std::string::npos)
      << exp_asm;
  std::string sum_ir = llvm_jit::optimized_ir(kSumLoop);
  EXPECT_NE(sum_ir.find("<" + std::to_string(lanes) + " x float>"), std::string::npos)
      << sum_ir;
  // The host's own description.
  EXPECT_FALSE(llvm_jit::host_cpu_name().empty());
  EXPECT_NE(llvm_jit::host_features().find("+sse2"), std::string::npos);
  auto maps = llvm_jit::vector_math_mappings();
  EXPECT_NE(std::find(maps.begin(), maps.end(), "tanhf->_ZGVbN4v_tanhf"), maps.end());
}

TEST_F(LlvmJitTest, ReassocSumIsRight) {
  SumFn fn = reinterpret_cast<SumFn>(llvm_jit::compile(kSumLoop, {"sum"}).at(0));
  std::vector<float> a(10007);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  double want = 0;
  for (float& v : a) want += (v = d(rng));
  EXPECT_NEAR(fn(a.data(), int64_t(a.size())), want, want * 1e-5);
  EXPECT_EQ(fn(a.data(), 0), 0.0f);
  EXPECT_EQ(fn(a.data(), 1), a[0]);
}

TEST_F(LlvmJitTest, ErrorsNameTheIrLine) {
  using testing::expect_error;
  // Line 4 misspells a type.
  expect_error<Error>(
      [] {
        llvm_jit::compile(fresh("define void @f(ptr %p) {\nentry:\n  %x = load flaot, "
                                "ptr %p\n  ret void\n}\n"),
                          {"f"});
      },
      {"does not parse", "line 4", "%x = load flaot, ptr %p"});
  // Line 5 uses a value before it is defined (it parses, but does not verify).
  expect_error<Error>(
      [] {
        llvm_jit::compile(
            fresh("define i32 @g(i32 %a) {\nentry:\n  br label %b\nb:\n"
                  "  %x = add i32 %y, 1\n  %y = add i32 %a, 1\n  ret i32 %x\n}\n"),
            {"g"});
      },
      {"does not verify", "dominate", "line 6"});
  expect_error<Error>(
      [] {
        llvm_jit::compile(fresh(kSumLoop), {"sum", "nope"});
      },
      {"no function 'nope'", "it defines: sum"});
  expect_error<Error>(
      [] {
        llvm_jit::compile(fresh("define internal void @h() {\n  ret void\n}\n"), {"h"});
      },
      {"'h' has internal linkage"});
  // A function the process lacks is named.
  expect_error<Error>(
      [] {
        llvm_jit::compile(fresh("declare void @theanine_no_such_fn()\n"
                                "define void @f() {\n  call void @theanine_no_such_fn()\n"
                                "  ret void\n}\n"),
                          {"f"});
      },
      {"cannot link", "theanine_no_such_fn"});
  // A failed compile leaves nothing behind: the same text fails again the same way.
  const std::string bad = fresh("define void @f() {\n  ret i32 0\n}\n");
  expect_error<Error>([&] { llvm_jit::compile(bad, {"f"}); }, {"line 3"});
  expect_error<Error>([&] { llvm_jit::compile(bad, {"f"}); }, {"line 3"});
}

TEST_F(LlvmJitTest, SecondCompileHitsTheMemoryCache) {
  const std::string ir = fresh(kSumLoop);
  llvm_jit::CompileStats first, second;
  void* a = llvm_jit::compile(ir, {"sum"}, &first).at(0);
  void* b = llvm_jit::compile(ir, {"sum"}, &second).at(0);
  EXPECT_FALSE(first.memory_hit);
  EXPECT_FALSE(first.disk_hit);
  EXPECT_GT(first.parts, 0);
  EXPECT_TRUE(second.memory_hit);
  EXPECT_EQ(a, b);
  EXPECT_LT(second.ms, first.ms);
}

TEST_F(LlvmJitTest, AFreshProcessLoadsFromDiskAndTheCodeRuns) {
  const std::string ir = fresh(kTanhLoop);
  llvm_jit::CompileStats cold, warm;
  llvm_jit::compile(ir, {"tanh_affine"}, &cold);
  EXPECT_FALSE(cold.disk_hit);
  EXPECT_EQ(llvm_jit::cache_info().disk_dir.rfind(root_, 0), 0u);
  EXPECT_EQ(entries_in(llvm_jit::cache_info().disk_dir).size(), 1u);

  llvm_jit::clear_memory_cache();
  uint64_t compiles = llvm_jit::cache_info().compiles;
  TanhFn fn =
      reinterpret_cast<TanhFn>(llvm_jit::compile(ir, {"tanh_affine"}, &warm).at(0));
  EXPECT_TRUE(warm.disk_hit);
  EXPECT_FALSE(warm.memory_hit);
  EXPECT_EQ(llvm_jit::cache_info().compiles, compiles);
  std::vector<float> a = {-2.0f, 0.5f, 3.0f}, out(3);
  fn(out.data(), a.data(), 1.0f, 0.0f, 3);
  for (int i = 0; i < 3; ++i) EXPECT_LE(ulp_distance(out[i], std::tanh(a[i])), 4);
}

TEST_F(LlvmJitTest, CorruptOrTruncatedDiskEntriesAreRebuiltNotLoaded) {
  const std::string ir = fresh(kSumLoop);
  llvm_jit::compile(ir, {"sum"});
  std::vector<std::string> files = entries_in(llvm_jit::cache_info().disk_dir);
  ASSERT_EQ(files.size(), 1u);
  const std::string path = files[0];
  std::string good;
  {
    std::ifstream in(path, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = good;
  flipped[good.size() / 2] = char(flipped[good.size() / 2] ^ 0x01);
  std::vector<float> a = {1.0f, 2.0f, 4.0f};
  for (const std::string& bad : {flipped, good.substr(0, good.size() - 10)}) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << bad;
    }
    llvm_jit::clear_memory_cache();
    llvm_jit::CompileStats st;
    SumFn fn = reinterpret_cast<SumFn>(llvm_jit::compile(ir, {"sum"}, &st).at(0));
    EXPECT_FALSE(st.disk_hit);
    EXPECT_GT(st.codegen_ms, 0);
    EXPECT_EQ(fn(a.data(), 3), 7.0f);
    // Rebuilt and stored again whole.
    llvm_jit::clear_memory_cache();
    llvm_jit::compile(ir, {"sum"}, &st);
    EXPECT_TRUE(st.disk_hit);
  }
}

TEST_F(LlvmJitTest, UnwritableCacheFolderWarnsAndStillCompiles) {
  const std::string file = root_ + "/a-file";
  std::ofstream(file) << "x";
  ScopedEnv env("THEANINE_CACHE_DIR", file + "/sub");
  DiskCache::rearm_warning();
  ::testing::internal::CaptureStderr();
  llvm_jit::CompileStats st;
  SumFn fn =
      reinterpret_cast<SumFn>(llvm_jit::compile(fresh(kSumLoop), {"sum"}, &st).at(0));
  llvm_jit::compile(fresh(kSumLoop), {"sum"});
  std::string err = ::testing::internal::GetCapturedStderr();
  std::vector<float> a = {1.0f, 2.0f};
  EXPECT_EQ(fn(a.data(), 2), 3.0f);
  EXPECT_NE(err.find("warning: cannot write the compile cache"), std::string::npos)
      << err;
  EXPECT_EQ(err.find("warning", err.find("warning") + 1), std::string::npos) << err;
}

TEST_F(LlvmJitTest, DiskCacheOffCompilesEveryFreshProcess) {
  ScopedEnv off("THEANINE_CACHE_DIR", "");
  const std::string ir = fresh(kSumLoop);
  llvm_jit::compile(ir, {"sum"});
  llvm_jit::clear_memory_cache();
  llvm_jit::CompileStats st;
  llvm_jit::compile(ir, {"sum"}, &st);
  EXPECT_FALSE(st.disk_hit);
  EXPECT_EQ(llvm_jit::cache_info().disk_dir, "");
}

TEST_F(LlvmJitTest, ThreadsCompilingOneModuleShareOneCompile) {
  const std::string ir = fresh(kTanhLoop);
  uint64_t before = llvm_jit::cache_info().compiles;
  std::vector<void*> got(6);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back(
        [&, t] { got[t] = llvm_jit::compile(ir, {"tanh_affine"}).at(0); });
  }
  for (auto& t : threads) t.join();
  for (void* p : got) EXPECT_EQ(p, got[0]);
  EXPECT_EQ(llvm_jit::cache_info().compiles, before + 1);
}

TEST_F(LlvmJitTest, EqualNamesInDifferentModulesDoNotClash) {
  auto module = [](int k) {
    return fresh("define i32 @k() {\n  ret i32 " + std::to_string(k) + "\n}\n");
  };
  auto f1 = reinterpret_cast<int (*)()>(llvm_jit::compile(module(1), {"k"}).at(0));
  auto f2 = reinterpret_cast<int (*)()>(llvm_jit::compile(module(2), {"k"}).at(0));
  EXPECT_EQ(f1(), 1);
  EXPECT_EQ(f2(), 2);
}

// Many external functions split over threads: calls between parts, an internal
// helper every part uses, and a global table that must be defined exactly once.
TEST_F(LlvmJitTest, ASplitModuleLinksAcrossItsParts) {
  ScopedEnv threads("THEANINE_JIT_THREADS", "4");
  std::string ir =
      "@table = constant [4 x i64] [i64 10, i64 20, i64 30, i64 40]\n"
      "define internal i64 @helper(i64 %x) noinline {\n"
      "  %y = mul i64 %x, 3\n  ret i64 %y\n}\n";
  std::vector<std::string> names;
  for (int k = 0; k < 12; ++k) {
    std::string name = "f" + std::to_string(k);
    names.push_back(name);
    std::string body;
    // A loop, so that each function is big enough to be worth a part.
    body +=
        "define i64 @" + name + "(ptr %p, i64 %n) {\nentry:\n  br label %loop\nloop:\n";
    body += "  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]\n";
    body += "  %acc = phi i64 [ 0, %entry ], [ %acc1, %loop ]\n";
    body +=
        "  %q = getelementptr inbounds i64, ptr %p, i64 %i\n  %v = load i64, ptr %q\n";
    body += "  %w = mul i64 %v, " + std::to_string(k + 1) + "\n";
    body += "  %acc1 = add i64 %acc, %w\n  %i1 = add i64 %i, 1\n";
    body += "  %d = icmp eq i64 %i1, %n\n  br i1 %d, label %exit, label %loop\nexit:\n";
    body += "  %t = getelementptr inbounds [4 x i64], ptr @table, i64 0, i64 " +
            std::to_string(k % 4) + "\n  %tv = load volatile i64, ptr %t\n";
    body += "  %h = call i64 @helper(i64 %tv)\n  %r0 = add i64 %acc1, %h\n";
    if (k > 0) {
      body += "  %prev = call i64 @f" + std::to_string(k - 1) + "(ptr %p, i64 1)\n";
      body += "  %r = add i64 %r0, %prev\n  ret i64 %r\n}\n";
    } else {
      body += "  ret i64 %r0\n}\n";
    }
    ir += body;
  }
  llvm_jit::CompileStats st;
  std::vector<void*> fns = llvm_jit::compile(fresh(ir), names, &st);
  EXPECT_GT(st.parts, 1);
  std::vector<int64_t> data = {1, 2, 3};
  // f_k(p, n) = (k+1) * sum(p[:n]) + 3 * table[k % 4] + f_{k-1}(p, 1).
  std::vector<int64_t> want(12);
  for (int k = 0; k < 12; ++k) {
    want[k] = (k + 1) * 6 + 3 * (10 * (k % 4 + 1));
    if (k > 0) {
      int64_t prev = k * 1 + 3 * (10 * ((k - 1) % 4 + 1));
      for (int j = k - 2; j >= 0; --j) prev += (j + 1) * 1 + 3 * (10 * (j % 4 + 1));
      want[k] += prev;
    }
    auto f = reinterpret_cast<int64_t (*)(const int64_t*, int64_t)>(fns[k]);
    EXPECT_EQ(f(data.data(), 3), want[k]) << names[k];
  }
}

}  // namespace
}  // namespace theanine

#endif  // THEANINE_HAVE_LLVM
