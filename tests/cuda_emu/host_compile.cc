#include "tests/cuda_emu/host_compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/cuda_emu/module_source.h"
#include "tests/cuda_emu/prelude.h"

namespace theanine::cuda_emu {

namespace {

namespace fs = std::filesystem;

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool env_on(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

// Runs `command` through the shell; its exit status, stdout and stderr in `output`.
int run(const std::string& command, std::string& output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) {
    output = "could not run: " + command;
    return -1;
  }
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return bool(out);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The value of an NVRTC option that takes one: "--name=value", "-Xvalue" or
// "-X value"/"--name value" (then the next option, consumed).
bool option_value(const std::vector<std::string>& opts, size_t& i, const char* short_form,
                  const char* long_form, std::string& value) {
  const std::string& o = opts[i];
  const std::string s = short_form, l = long_form;
  for (const std::string& form : {s, l}) {
    if (form.empty()) continue;
    if (o == form && i + 1 < opts.size()) {
      value = opts[++i];
      return true;
    }
    if (o.rfind(form + "=", 0) == 0) {
      value = o.substr(form.size() + 1);
      return true;
    }
    if (form == s && form.size() == 2 && o.rfind(form, 0) == 0 && o.size() > 2) {
      value = o.substr(2);
      return true;
    }
  }
  return false;
}

void add_arg(std::string& command, const std::string& arg) {
  command += ' ';
  command += quote(arg);
}

struct Flags {
  std::string preprocess;  // -D, -U, -I, -include
  bool contract = true;
};

Flags translate(const std::vector<std::string>& opts) {
  Flags f;
  for (size_t i = 0; i < opts.size(); ++i) {
    std::string v;
    if (option_value(opts, i, "-D", "--define-macro", v)) {
      add_arg(f.preprocess, std::string("-D") + v);
    } else if (option_value(opts, i, "-U", "--undefine-macro", v)) {
      add_arg(f.preprocess, std::string("-U") + v);
    } else if (option_value(opts, i, "-I", "--include-path", v)) {
      add_arg(f.preprocess, std::string("-I") + fs::absolute(v).string());
    } else if (option_value(opts, i, "-include", "--pre-include", v)) {
      add_arg(f.preprocess, "-include");
      add_arg(f.preprocess, v);
    } else if (option_value(opts, i, "-fmad", "--fmad", v)) {
      f.contract = v != "false";
    }
  }
  return f;
}

}  // namespace

std::string host_compiler() {
  for (const char* var : {"THEANINE_CUDA_EMU_CXX", "CXX"})
    if (const char* v = std::getenv(var); v && *v) return v;
  return "c++";
}

HostModule compile_module(const std::string& source, const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          const std::vector<std::string>& nvrtc_options) {
  HostModule m;
  std::string tmpl = (fs::temp_directory_path() / "theanine-cuda-emu-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    m.log = "theanine CUDA emulator: cannot make a temporary folder from " + tmpl;
    return m;
  }
  const fs::path dir = tmpl;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      if (env_on("THEANINE_CUDA_EMU_KEEP")) {
        fprintf(stderr, "theanine CUDA emulator: kept %s\n", dir.c_str());
      } else {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    }
  } cleanup{dir};

  std::string program_name = name.empty() ? "default_program" : name;
  std::string escaped;
  for (char c : program_name) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (c != '\n') escaped += c;
  }
  bool written = write_file(dir / "th_emu_prelude.h", prelude_text());
  for (const auto& [include_name, text] : headers) {
    const fs::path p = dir / "include" / include_name;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    written = written && write_file(p, text);
  }
  written = written && write_file(dir / "program.cc",
                                  "#include \"th_emu_prelude.h\"\n#line 1 \"" + escaped +
                                      "\"\n" + rewrite_dynamic_shared(source));
  if (!written) {
    m.log = "theanine CUDA emulator: cannot write into " + dir.string();
    return m;
  }
  const Flags flags = translate(nvrtc_options);
  const std::string cd = "cd " + quote(dir.string()) + " && " + host_compiler();
  std::string out;
  // 1. Preprocess (relative names: the text does not depend on the folder).
  const std::string ucontext =
      env_on("THEANINE_CUDA_EMU_UCONTEXT") ? " -DTH_EMU_UCONTEXT=1" : "";
  if (run(cd + " -E -std=c++20 -pthread -Iinclude" + ucontext + flags.preprocess +
              " program.cc -o program.ii",
          out) != 0) {
    m.log = nvrtc_style_log(out);
    return m;
  }
  // 2. A binder for every kernel, then compile and link.
  std::string text = read_file(dir / "program.ii");
  text += launcher_source(find_kernels(text));
  if (!write_file(dir / "program.ii", text)) {
    m.log = "theanine CUDA emulator: cannot write into " + dir.string();
    return m;
  }
  out.clear();
  if (run(cd + " -std=c++20 -O1 -fPIC -pthread -w -ffp-contract=" +
              (flags.contract ? "fast" : "off") + " -c program.ii -o program.o",
          out) != 0 ||
      run(cd + " -shared -pthread program.o -o program.so", out) != 0) {
    m.log = nvrtc_style_log(out);
    return m;
  }
  m.image = read_file(dir / "program.so");
  m.ok = !m.image.empty();
  if (!m.ok) m.log = "theanine CUDA emulator: the compiler wrote no library";
  return m;
}

}  // namespace theanine::cuda_emu
