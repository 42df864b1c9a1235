#pragma once
// Where a node was created, so errors can name the user's line. C++ callers pass
// std::source_location; the Python module installs a provider that reports the
// first Python frame outside the theanine package instead.
#include <functional>
#include <source_location>
#include <string>

namespace theanine {

using Here = std::source_location;

struct SourceLoc {
  std::string file;
  int line = 0;
  std::string function;
  bool known() const { return line > 0; }
  std::string str() const;  // "file:line" or "<unknown>"
};

// The location to record for a node created now: the installed provider's
// answer when there is one, else the C++ caller's location.
SourceLoc user_loc(const Here& cpp_loc);

using SourceLocProvider = std::function<bool(SourceLoc*)>;
void set_source_loc_provider(SourceLocProvider provider);

}  // namespace theanine
