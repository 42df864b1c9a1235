#include "tests/cuda_emu/module_source.h"

#include <cctype>
#include <set>
#include <sstream>

namespace theanine::cuda_emu {

namespace {

bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Drops `__align__(...)` and `alignas(...)`: the dynamic shared memory is
// aligned to 256 bytes already, and neither may stand in a cast.
std::string drop_alignment(std::string s) {
  for (const char* word : {"__align__", "alignas"}) {
    for (size_t p; (p = s.find(word)) != std::string::npos;) {
      size_t q = s.find('(', p);
      if (q == std::string::npos) break;
      int depth = 0;
      size_t e = q;
      for (; e < s.size(); ++e) {
        if (s[e] == '(') ++depth;
        if (s[e] == ')' && --depth == 0) break;
      }
      s.erase(p, e + 1 - p);
    }
  }
  return trim(s);
}

// ---- a tokenizer for preprocessed C++: enough to follow braces and names --------------

struct Token {
  enum Kind { kIdent, kString, kPunct, kOther } kind;
  std::string text;
};

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = s.size();
  bool line_start = true;
  while (i < n) {
    const char c = s[i];
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (line_start && c == '#') {  // a line marker or a leftover directive
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    line_start = false;
    if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      size_t e = s.find("*/", i + 2);
      i = e == std::string::npos ? n : e + 2;
      continue;
    }
    if (is_ident_char(c) && !std::isdigit(static_cast<unsigned char>(c))) {
      size_t e = i;
      while (e < n && is_ident_char(s[e])) ++e;
      std::string word = s.substr(i, e - i);
      if (e < n && s[e] == '"' && !word.empty() && word.back() == 'R' &&
          (word == "R" || word == "u8R" || word == "uR" || word == "UR" ||
           word == "LR")) {
        // A raw string: R"delim( ... )delim"
        size_t open = s.find('(', e);
        if (open == std::string::npos) break;
        std::string close = s.substr(e + 1, open - e - 1);
        close.insert(close.begin(), ')');
        close += '"';
        size_t end = s.find(close, open);
        end = end == std::string::npos ? n : end + close.size();
        out.push_back(
            {Token::kString, s.substr(open + 1, end - open - 1 - close.size())});
        i = end;
        continue;
      }
      if (e < n && (s[e] == '"' || s[e] == '\'') &&
          (word == "u8" || word == "u" || word == "U" || word == "L")) {
        i = e;  // an encoding prefix: the literal follows
        continue;
      }
      out.push_back({Token::kIdent, std::move(word)});
      i = e;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t e = i;
      while (e < n &&
             (is_ident_char(s[e]) || s[e] == '.' || s[e] == '\'' ||
              ((s[e] == '+' || s[e] == '-') && (s[e - 1] == 'e' || s[e - 1] == 'E' ||
                                                s[e - 1] == 'p' || s[e - 1] == 'P'))))
        ++e;
      out.push_back({Token::kOther, s.substr(i, e - i)});
      i = e;
      continue;
    }
    if (c == '"' || c == '\'') {
      size_t e = i + 1;
      while (e < n && s[e] != c && s[e] != '\n') e += s[e] == '\\' ? 2 : 1;
      out.push_back({c == '"' ? Token::kString : Token::kOther,
                     s.substr(i + 1, std::min(e, n) - i - 1)});
      i = std::min(e + 1, n);
      continue;
    }
    out.push_back({Token::kPunct, std::string(1, c)});
    ++i;
  }
  return out;
}

bool is(const std::vector<Token>& t, size_t i, const char* text) {
  return i < t.size() && t[i].text == text && t[i].kind != Token::kString;
}

// Index just past the group that opens at t[i] ("(" or "["), or t.size().
size_t skip_group(const std::vector<Token>& t, size_t i) {
  const std::string open = t[i].text, close = open == "(" ? ")" : "]";
  int depth = 0;
  for (; i < t.size(); ++i) {
    if (t[i].kind != Token::kPunct) continue;
    if (t[i].text == open) ++depth;
    if (t[i].text == close && --depth == 0) return i + 1;
  }
  return t.size();
}

}  // namespace

std::string rewrite_dynamic_shared(const std::string& source) {
  std::string s = source;
  const std::string kw = "__shared__";
  for (size_t pos = 0; (pos = s.find(kw, pos)) != std::string::npos;) {
    const size_t after = pos + kw.size();
    if ((pos > 0 && is_ident_char(s[pos - 1])) ||
        (after < s.size() && is_ident_char(s[after]))) {
      pos = after;
      continue;
    }
    size_t b = pos;
    while (b > 0 && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
    if (b == pos || b < 6 || s.compare(b - 6, 6, "extern") != 0 ||
        (b > 6 && is_ident_char(s[b - 7]))) {
      pos = after;
      continue;
    }
    const size_t start = b - 6, end = s.find(';', after);
    if (end == std::string::npos) break;
    std::string decl = trim(s.substr(after, end - after));
    // "<type> name []"
    if (decl.empty() || decl.back() != ']' ||
        decl.find_first_of("{}=,") != std::string::npos) {
      pos = after;
      continue;
    }
    size_t open = decl.rfind('[');
    if (open == std::string::npos ||
        !trim(decl.substr(open + 1, decl.size() - open - 2)).empty()) {
      pos = after;
      continue;
    }
    std::string head = trim(decl.substr(0, open));
    size_t name_begin = head.size();
    while (name_begin > 0 && is_ident_char(head[name_begin - 1])) --name_begin;
    const std::string name = head.substr(name_begin);
    const std::string type = drop_alignment(head.substr(0, name_begin));
    if (name.empty() || type.empty()) {
      pos = after;
      continue;
    }
    std::string repl = "static thread_local " + type + "* const " + name +
                       " = static_cast<" + type + "*>(th_emu_dynamic_shared());";
    for (size_t k = start; k < end; ++k)
      if (s[k] == '\n') repl += '\n';
    s.replace(start, end + 1 - start, repl);
    pos = start + repl.size();
  }
  return s;
}

std::vector<std::string> find_kernels(const std::string& preprocessed) {
  const std::vector<Token> t = tokenize(preprocessed);
  struct Scope {
    bool extern_c = false;
    bool is_namespace = false;
    std::string name;  // of a namespace; empty for an unnamed one
  };
  std::vector<Scope> scopes;
  std::vector<std::string> found;
  std::set<std::string> symbols;
  // Set by `extern "C"` or `namespace X` right before the next "{".
  Scope pending;
  bool have_pending = false;

  for (size_t i = 0; i < t.size(); ++i) {
    if (is(t, i, "extern") && i + 1 < t.size() && t[i + 1].kind == Token::kString &&
        t[i + 1].text == "C" && is(t, i + 2, "{")) {
      pending = Scope{true, false, ""};
      have_pending = true;
      ++i;
      continue;
    }
    if (is(t, i, "namespace")) {
      std::string name;
      size_t j = i + 1;
      for (; j < t.size() && !is(t, j, "{") && !is(t, j, ";") && !is(t, j, "="); ++j)
        if (t[j].kind == Token::kIdent) name += (name.empty() ? "" : "::") + t[j].text;
      if (is(t, j, "{")) {
        pending = Scope{false, true, name};
        have_pending = true;
        i = j - 1;
      }
      continue;
    }
    if (is(t, i, "{")) {
      scopes.push_back(have_pending ? pending : Scope{});
      have_pending = false;
      continue;
    }
    if (is(t, i, "}")) {
      if (!scopes.empty()) scopes.pop_back();
      continue;
    }
    if (!(is(t, i, "__attribute__") && is(t, i + 1, "(") && is(t, i + 2, "(") &&
          is(t, i + 3, "th_emu_global")))
      continue;
    // A kernel. C linkage: `extern "C"` earlier in this declaration, or an
    // enclosing extern "C" block.
    bool extern_c = false, in_unnamed = false;
    std::string qualified;
    for (const Scope& sc : scopes) {
      extern_c = extern_c || sc.extern_c;
      if (sc.is_namespace && sc.name.empty()) in_unnamed = true;
      if (sc.is_namespace && !sc.name.empty()) qualified += "::" + sc.name;
    }
    for (size_t k = i; k-- > 0;) {
      if (is(t, k, ";") || is(t, k, "{") || is(t, k, "}")) break;
      if (is(t, k, "extern") && k + 1 < t.size() && t[k + 1].kind == Token::kString &&
          t[k + 1].text == "C")
        extern_c = true;
    }
    // The name: the first identifier followed by "(" that is not an attribute.
    size_t j = skip_group(t, i + 1);
    std::string name;
    while (j < t.size() && !is(t, j, ";") && !is(t, j, "{")) {
      if (t[j].kind == Token::kIdent && is(t, j + 1, "(")) {
        const std::string& w = t[j].text;
        if (w == "__attribute__" || w == "alignas" || w == "__declspec" ||
            w == "decltype" || w == "__launch_bounds__") {
          j = skip_group(t, j + 1);
          continue;
        }
        name = w;
        break;
      }
      if (is(t, j, "[") && is(t, j + 1, "[")) {
        j = skip_group(t, j);
        continue;
      }
      ++j;
    }
    if (name.empty()) continue;
    // Defined here when the parameter list is followed (past attributes) by a body.
    size_t k = skip_group(t, j + 1);
    while (k < t.size() && !is(t, k, "{") && !is(t, k, ";") && !is(t, k, "=")) ++k;
    const bool defined = is(t, k, "{");
    i = j;
    if (!defined || !extern_c || in_unnamed) continue;
    if (symbols.insert(name).second) found.push_back(qualified + "::" + name);
  }
  return found;
}

std::string launcher_source(const std::vector<std::string>& kernels) {
  std::string out = "\n# 1 \"<theanine CUDA emulator launchers>\"\n";
  for (const std::string& q : kernels) {
    const std::string symbol = q.substr(q.rfind("::") + 2);
    out += "extern \"C\" __attribute__((visibility(\"default\"))) th_emu_bound* " +
           symbol + "__th_emu_bind(void** params) { return th_emu::bind(&" + q +
           ", params); }\n";
  }
  return out;
}

std::string nvrtc_style_log(const std::string& compiler_output) {
  std::istringstream in(compiler_output);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    // file:LINE:COLUMN: message  ->  file(LINE): message
    size_t p = 0;
    bool done = false;
    while (!done && (p = line.find(':', p)) != std::string::npos) {
      size_t a = p + 1, b = a;
      while (b < line.size() && std::isdigit(static_cast<unsigned char>(line[b]))) ++b;
      if (b > a && b < line.size() && line[b] == ':') {
        size_t c = b + 1, d = c;
        while (d < line.size() && std::isdigit(static_cast<unsigned char>(line[d]))) ++d;
        if (d > c && d + 1 < line.size() && line[d] == ':' && line[d + 1] == ' ') {
          line =
              line.substr(0, p) + "(" + line.substr(a, b - a) + "):" + line.substr(d + 1);
          done = true;
        }
      }
      ++p;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace theanine::cuda_emu
