#pragma once
// Helpers shared by the C++ tests: graph inputs and arrays, running a graph,
// reading an array's elements, and checking the exceptions code throws.
#include <gtest/gtest.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codegen/function.h"
#include "runtime/ndarray.h"

namespace theanine::testing {

// A graph input of type (d, s).
inline Var input(DType d, Shape s, std::string name = "") {
  return make_input(TensorType(d, std::move(s)), std::move(name));
}

// An array of shape s holding v in C order.
template <class T>
NDArray arr(const std::vector<T>& v, Shape s) {
  return NDArray::from_vector(v, std::move(s));
}

// Output 0 of function(ins, {out}), with the default options, called on args.
inline NDArray run1(const std::vector<Var>& ins, const Var& out,
                    const std::vector<NDArray>& args = {}) {
  std::vector<In> in(ins.begin(), ins.end());
  std::vector<Arg> a(args.begin(), args.end());
  return function(in, {out})(a).at(0);
}

// Every element of a, in C order, as a double.
inline std::vector<double> values(const NDArray& a) {
  std::vector<double> r;
  for (int64_t i = 0; i < a.size(); ++i) r.push_back(a.item_double(i));
  return r;
}

// The message of the E that f throws. When f throws nothing or an exception of
// another type, adds a test failure and returns nullopt.
template <class E, class F>
std::optional<std::string> caught_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return std::string(e.what());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return std::nullopt;
  }
  ADD_FAILURE() << "no exception thrown";
  return std::nullopt;
}

// The message of the E that f throws; "" (and a test failure) when f throws
// nothing or an exception of another type.
template <class E, class F>
std::string error_of(F&& f) {
  return caught_message<E>(std::forward<F>(f)).value_or("");
}

// Checks that f throws an E with every part in its message.
template <class E, class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  const std::optional<std::string> msg = caught_message<E>(std::forward<F>(f));
  if (!msg) return;
  for (const std::string& p : parts)
    EXPECT_NE(msg->find(p), std::string::npos)
        << "message '" << *msg << "' lacks '" << p << "'";
}

}  // namespace theanine::testing
