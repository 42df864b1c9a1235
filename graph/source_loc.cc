#include "graph/source_loc.h"

namespace theanine {

namespace {
SourceLocProvider& provider() {
  static SourceLocProvider p;
  return p;
}
}  // namespace

std::string SourceLoc::str() const {
  if (!known()) return "<unknown location>";
  return file + ":" + std::to_string(line);
}

SourceLoc user_loc(const Here& cpp_loc) {
  SourceLoc loc;
  if (provider() && provider()(&loc)) return loc;
  loc.file = cpp_loc.file_name();
  loc.line = static_cast<int>(cpp_loc.line());
  loc.function = cpp_loc.function_name();
  return loc;
}

void set_source_loc_provider(SourceLocProvider p) { provider() = std::move(p); }

}  // namespace theanine
