#include "runtime/program.h"

#include "runtime/error.h"

namespace theanine {

namespace {
template <class E>
[[noreturn]] void rethrow_with(const E&, const std::string& msg) {
  throw E(msg);
}
}  // namespace

void Program::run(std::vector<NDArray>& slots) const {
  for (const Instruction& ins : instructions) {
    try {
      ins.run(slots);
    } catch (const TypeError& e) {
      rethrow_with(e, ins.label + ": " + e.what());
    } catch (const ShapeError& e) {
      rethrow_with(e, ins.label + ": " + e.what());
    } catch (const IndexError& e) {
      rethrow_with(e, ins.label + ": " + e.what());
    } catch (const ValueError& e) {
      rethrow_with(e, ins.label + ": " + e.what());
    } catch (const Error& e) {
      rethrow_with(e, ins.label + ": " + e.what());
    }
    for (int s : ins.release_after) slots[s] = NDArray();
  }
}

}  // namespace theanine
