#include "codegen/llvm/compiler.h"

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/Analysis/TargetTransformInfo.h>
#include <llvm/AsmParser/Parser.h>
#include <llvm/IR/InstrTypes.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/error.h"

namespace theanine::llvm_jit {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A part of a split module is worth a thread from about this many IR instructions:
// below, parsing the text again and the per-module passes cost more than they save.
constexpr size_t kMinPartInstructions = 64;
constexpr int kMaxParts = 8;

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string parse_error_message(const llvm::SMDiagnostic& diag, const std::string& text) {
  std::ostringstream os;
  os << "LLVM IR does not parse: line " << diag.getLineNo() << ", column "
     << diag.getColumnNo() + 1 << ": " << diag.getMessage().str();
  std::vector<std::string> lines = lines_of(text);
  int n = diag.getLineNo();
  if (n > 0 && size_t(n) <= lines.size()) os << "\n  " << n << " | " << lines[n - 1];
  return os.str();
}

// The verifier prints the offending values after its message; finds them among the
// lines of the text, to name their line numbers.
std::string verify_error_message(const std::string& diag, const std::string& text) {
  std::ostringstream os;
  os << "LLVM IR does not verify: " << trim(diag);
  std::vector<std::string> lines = lines_of(text);
  std::istringstream in(diag);
  std::string printed;
  std::getline(in, printed);  // the message itself
  std::set<size_t> named;
  while (std::getline(in, printed) && named.size() < 4) {
    printed = trim(printed);
    if (printed.empty()) continue;
    // The exact line first; else a line that holds it (the verifier prints
    // instructions in LLVM's own spacing).
    for (bool exact : {true, false}) {
      auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
        std::string t = trim(l);
        return exact ? t == printed
                     : printed.size() >= 8 && t.find(printed) != std::string::npos;
      });
      if (it == lines.end()) continue;
      size_t i = size_t(it - lines.begin());
      if (named.insert(i).second) os << "\n  at IR line " << i + 1 << " | " << lines[i];
      break;
    }
  }
  return os.str();
}

int max_parts() {
  if (const char* env = std::getenv("THEANINE_JIT_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, kMaxParts);
  }
  return std::clamp(int(std::thread::hardware_concurrency()), 1, kMaxParts);
}

// Turns the external definitions not in `mine` into declarations, so this part
// compiles only its share (internal helpers stay: each part keeps its own copy).
// Global variables are defined by part 0 only.
void keep_only(llvm::Module& m, const std::set<std::string>& mine, bool first) {
  for (llvm::Function& f : m) {
    if (f.isDeclaration() || f.hasLocalLinkage() || mine.count(f.getName().str()))
      continue;
    f.deleteBody();
    f.setComdat(nullptr);
  }
  if (first) return;
  for (llvm::GlobalVariable& g : m.globals()) {
    if (!g.hasInitializer() || g.hasLocalLinkage()) continue;
    g.setInitializer(nullptr);
    g.setLinkage(llvm::GlobalValue::ExternalLinkage);
    g.setComdat(nullptr);
  }
}

// The instructions compiling f costs: its own and those of the internal functions
// it calls (which each part that calls them compiles, and likely inlines).
size_t weight(const llvm::Function& f) {
  size_t total = 0;
  std::set<const llvm::Function*> seen = {&f};
  std::vector<const llvm::Function*> todo = {&f};
  while (!todo.empty()) {
    const llvm::Function* g = todo.back();
    todo.pop_back();
    total += g->getInstructionCount();
    for (const llvm::BasicBlock& bb : *g) {
      for (const llvm::Instruction& inst : bb) {
        const auto* call = llvm::dyn_cast<llvm::CallBase>(&inst);
        const llvm::Function* callee = call ? call->getCalledFunction() : nullptr;
        if (callee && callee->hasLocalLinkage() && !callee->isDeclaration() &&
            seen.insert(callee).second) {
          todo.push_back(callee);
        }
      }
    }
  }
  return total;
}

// The external definitions of m, dealt into parts of about equal weight; one part
// when splitting does not pay.
std::vector<std::set<std::string>> partition(const llvm::Module& m) {
  std::vector<std::pair<size_t, std::string>> roots;
  size_t total = 0;
  for (const llvm::Function& f : m) {
    if (f.isDeclaration() || f.hasLocalLinkage()) continue;
    roots.emplace_back(weight(f), f.getName().str());
    total += roots.back().first;
  }
  size_t n = std::min({roots.size(), size_t(max_parts()),
                       std::max<size_t>(1, total / kMinPartInstructions)});
  // Aliases and ifuncs would need their targets in the same part: keep those whole.
  if (!m.alias_empty() || !m.ifunc_empty()) n = 1;
  n = std::max<size_t>(n, 1);
  std::vector<std::set<std::string>> parts(n);
  std::vector<size_t> load(n, 0);
  std::sort(roots.begin(), roots.end(), std::greater<>());
  for (const auto& [size, name] : roots) {
    size_t lightest = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    parts[lightest].insert(name);
    load[lightest] += size;
  }
  return parts;
}

struct PartResult {
  std::string object;
  double parse_ms = 0, optimize_ms = 0, codegen_ms = 0;
};

}  // namespace

struct ModuleCompiler::Impl {
  HostTarget host;
  const llvm::Target* target = nullptr;
  std::unique_ptr<llvm::TargetLibraryInfoImpl> tlii;  // VecDescs point into host

  std::unique_ptr<llvm::TargetMachine> target_machine() const {
    llvm::TargetOptions options;
    std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
        host.triple, host.cpu, host.features, options, llvm::Reloc::PIC_,
        llvm::CodeModel::Small, llvm::CodeGenOptLevel::Aggressive));
    if (!tm) throw Error("LLVM cannot make a target machine for " + host.triple);
    return tm;
  }

  // Parses (and with `verify`, verifies) the text.
  std::unique_ptr<llvm::Module> parse(llvm::LLVMContext& ctx, const std::string& ir,
                                      bool verify) const {
    llvm::SMDiagnostic diag;
    std::unique_ptr<llvm::Module> m = llvm::parseAssemblyString(ir, diag, ctx);
    if (!m) throw Error(parse_error_message(diag, ir));
    if (verify) {
      std::string msg;
      llvm::raw_string_ostream os(msg);
      if (llvm::verifyModule(*m, &os)) {
        os.flush();
        throw Error(verify_error_message(msg, ir));
      }
    }
    return m;
  }

  void retarget(llvm::Module& m, const llvm::TargetMachine& tm) const {
    m.setTargetTriple(host.triple);
    m.setDataLayout(tm.createDataLayout());
    // errno is never read, so libm calls are pure: the vectorizer needs memory(none).
    for (llvm::Function& f : m) {
      if (f.isDeclaration() && !f.isIntrinsic() && is_pure_math_function(f.getName())) {
        f.setDoesNotAccessMemory();
        f.setDoesNotThrow();
        f.setWillReturn();
        f.addFnAttr(llvm::Attribute::NoSync);
        f.addFnAttr(llvm::Attribute::NoFree);
      }
    }
  }

  void optimize(llvm::Module& m, llvm::TargetMachine& tm) const {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    pto.LoopInterleaving = true;
    pto.LoopUnrolling = true;
    llvm::PassBuilder pb(&tm, pto);
    // Registered before the defaults, so this one (with the libmvec table) is used.
    fam.registerPass([&] { return llvm::TargetLibraryAnalysis(*tlii); });
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
  }

  std::string emit(llvm::Module& m, llvm::TargetMachine& tm,
                   llvm::CodeGenFileType type) const {
    llvm::SmallVector<char, 0> buffer;
    llvm::raw_svector_ostream os(buffer);
    llvm::legacy::PassManager pm;
    pm.add(new llvm::TargetLibraryInfoWrapperPass(*tlii));
    if (tm.addPassesToEmitFile(pm, os, nullptr, type)) {
      throw Error("LLVM cannot emit code for " + host.triple);
    }
    pm.run(m);
    return std::string(buffer.data(), buffer.size());
  }

  // Optimizes and compiles m, or only the definitions in `mine` when given, to an
  // object file.
  PartResult compile_part(llvm::Module& m, const std::set<std::string>* mine,
                          bool first) const {
    PartResult r;
    auto t0 = Clock::now();
    if (mine) keep_only(m, *mine, first);
    auto tm = target_machine();
    retarget(m, *tm);
    r.parse_ms = ms_since(t0);
    t0 = Clock::now();
    optimize(m, *tm);
    r.optimize_ms = ms_since(t0);
    t0 = Clock::now();
    r.object = emit(m, *tm, llvm::CodeGenFileType::ObjectFile);
    r.codegen_ms = ms_since(t0);
    return r;
  }

  // The same for a part other than the first, on a thread of its own: the text is
  // parsed again into a context of this thread (verified already).
  PartResult compile_other_part(const std::string& ir,
                                const std::set<std::string>& mine) const {
    auto t0 = Clock::now();
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = parse(ctx, ir, /*verify=*/false);
    double parse_ms = ms_since(t0);
    PartResult r = compile_part(*m, &mine, /*first=*/false);
    r.parse_ms += parse_ms;
    return r;
  }
};

ModuleCompiler::ModuleCompiler() : impl_(std::make_unique<Impl>()) {
  HostTarget& host = impl_->host;
  if (const char* args = std::getenv("THEANINE_LLVM_ARGS")) host.llvm_args = args;
  static std::once_flag init;
  std::call_once(init, [&] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    if (!host.llvm_args.empty()) {
      std::vector<std::string> words = {"theanine"};
      std::istringstream in(host.llvm_args);
      for (std::string w; in >> w;) words.push_back(w);
      std::vector<const char*> argv;
      for (const std::string& w : words) argv.push_back(w.c_str());
      llvm::cl::ParseCommandLineOptions(int(argv.size()), argv.data(), "theanine JIT");
    }
  });
  host.triple = llvm::Triple::normalize(llvm::sys::getProcessTriple());
  host.cpu = llvm::sys::getHostCPUName().str();
  auto features = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> names;
  for (const auto& f : features) names.push_back(f.getKey().str());
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    if (!host.features.empty()) host.features += ',';
    host.features += (features.lookup(n) ? "+" : "-") + n;
  }
  std::string err;
  impl_->target = llvm::TargetRegistry::lookupTarget(host.triple, err);
  if (!impl_->target)
    throw Error("LLVM has no target for the host " + host.triple + ": " + err);

  {  // The widest vectors the loop vectorizer will use here.
    auto tm = impl_->target_machine();
    llvm::LLVMContext ctx;
    llvm::Module probe("probe", ctx);
    probe.setDataLayout(tm->createDataLayout());
    auto* fn =
        llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false),
                               llvm::GlobalValue::ExternalLinkage, "probe", probe);
    llvm::TargetTransformInfo tti = tm->getTargetTransformInfo(*fn);
    host.vector_bits =
        int(tti.getRegisterBitWidth(llvm::TargetTransformInfo::RGK_FixedWidthVector)
                .getFixedValue());
  }

  llvm::Triple triple(host.triple);
  if (triple.getArch() == llvm::Triple::x86_64 && triple.isOSLinux()) {
    VectorIsa isa;
    isa.sse2 = features.lookup("sse2");
    isa.avx = features.lookup("avx");
    isa.avx2 = features.lookup("avx2");
    isa.avx512f = features.lookup("avx512f");
    host.math_variants = libmvec_variants(isa, host.vector_bits);
  }
  impl_->tlii = std::make_unique<llvm::TargetLibraryInfoImpl>(triple);
  std::vector<llvm::VecDesc> descs;
  for (const MathVariant& v : host.math_variants) {
    descs.emplace_back(v.scalar, v.vector, llvm::ElementCount::getFixed(v.lanes),
                       /*Masked=*/false, v.vabi_prefix);
  }
  impl_->tlii->addVectorizableFunctions(descs);
}

ModuleCompiler::~ModuleCompiler() = default;

const HostTarget& ModuleCompiler::host() const { return impl_->host; }

std::vector<std::string> ModuleCompiler::compile(const std::string& ir,
                                                 const std::vector<std::string>& symbols,
                                                 CompileStats& stats) const {
  auto t0 = Clock::now();
  llvm::LLVMContext ctx;  // the first part is compiled in this thread, in this context
  std::unique_ptr<llvm::Module> m = impl_->parse(ctx, ir, /*verify=*/true);
  for (const std::string& s : symbols) {
    llvm::Function* f = m->getFunction(s);
    if (!f || f->isDeclaration()) {
      std::string defined;
      for (const llvm::Function& g : *m) {
        if (!g.isDeclaration())
          defined += (defined.empty() ? "" : ", ") + g.getName().str();
      }
      throw Error("LLVM IR module defines no function '" + s +
                  "' (it defines: " + (defined.empty() ? "none" : defined) + ")");
    }
    if (f->hasLocalLinkage()) {
      throw Error(
          "LLVM IR function '" + s +
          "' has internal linkage; a function compile() returns must be external");
    }
  }
  std::vector<std::set<std::string>> parts = partition(*m);
  stats.parse_ms = ms_since(t0);
  stats.parts = int(parts.size());

  std::vector<PartResult> results(parts.size());
  std::vector<std::exception_ptr> errors(parts.size());
  std::vector<std::thread> threads;
  const std::set<std::string>* only = parts.size() > 1 ? &parts[0] : nullptr;
  for (size_t p = 1; p < parts.size(); ++p) {
    threads.emplace_back([&, p] {
      try {
        results[p] = impl_->compile_other_part(ir, parts[p]);
      } catch (...) {
        errors[p] = std::current_exception();
      }
    });
  }
  try {
    results[0] = impl_->compile_part(*m, only, /*first=*/true);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  std::vector<std::string> objects;
  for (PartResult& r : results) {
    stats.parse_ms += r.parse_ms;
    stats.optimize_ms += r.optimize_ms;
    stats.codegen_ms += r.codegen_ms;
    stats.object_bytes += r.object.size();
    objects.push_back(std::move(r.object));
  }
  return objects;
}

std::string ModuleCompiler::optimized_ir(const std::string& ir) const {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = impl_->parse(ctx, ir, /*verify=*/true);
  auto tm = impl_->target_machine();
  impl_->retarget(*m, *tm);
  impl_->optimize(*m, *tm);
  std::string text;
  llvm::raw_string_ostream os(text);
  m->print(os, nullptr);
  os.flush();
  return text;
}

std::string ModuleCompiler::assembly(const std::string& ir) const {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = impl_->parse(ctx, ir, /*verify=*/true);
  auto tm = impl_->target_machine();
  impl_->retarget(*m, *tm);
  impl_->optimize(*m, *tm);
  return impl_->emit(*m, *tm, llvm::CodeGenFileType::AssemblyFile);
}

}  // namespace theanine::llvm_jit
