#pragma once
// The exception classes every layer throws. The Python module maps each one to a
// Python exception class (TypeError, ValueError, ...) of the same meaning.
#include <stdexcept>
#include <string>

namespace theanine {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A dtype or ndim that does not fit (Python: TypeError).
class TypeError : public Error {
 public:
  using Error::Error;
};
// Shapes that do not broadcast or match (Python: ValueError).
class ShapeError : public Error {
 public:
  using Error::Error;
};
// A bad value: unknown option, wrong number of arguments (Python: ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};
// An index out of range (Python: IndexError).
class IndexError : public Error {
 public:
  using Error::Error;
};
// An input that the outputs never use (Python: theanine.UnusedInputError).
class UnusedInputError : public Error {
 public:
  using Error::Error;
};
// A variable that the outputs need but no input provides.
class MissingInputError : public Error {
 public:
  using Error::Error;
};
// grad(): a `wrt` variable the cost does not depend on (Python:
// theanine.gradient.DisconnectedInputError, a ValueError).
class DisconnectedInputError : public ValueError {
 public:
  using ValueError::ValueError;
};
// A file that is missing, truncated or corrupt (Python: OSError).
class IOError : public Error {
 public:
  using Error::Error;
};
// Work a CUDA graph capture cannot record (runtime/cuda_graph.h); caught by
// whoever captures, who then runs the work without a graph.
class CaptureUnsupported : public Error {
 public:
  using Error::Error;
};

// Inside a catch block: re-throws the exception being handled as the same
// theanine exception class with `prefix` put before its message (which node,
// which line). Exceptions that are not theanine's pass through unchanged.
[[noreturn]] void rethrow_with_prefix(const std::string& prefix);

}  // namespace theanine
