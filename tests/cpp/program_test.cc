#include "runtime/program.h"

#include <gtest/gtest.h>

#include "runtime/error.h"

namespace theanine {
namespace {

template <class E>
void expect_kept(const E& thrown) {
  Program p;
  p.instructions.push_back(
      {[thrown](std::vector<NDArray>&) { throw thrown; }, {}, "Node (at x.py:3)"});
  std::vector<NDArray> slots;
  try {
    p.run(slots);
    FAIL() << "no exception";
  } catch (const E& e) {
    EXPECT_EQ(std::string(e.what()), std::string("Node (at x.py:3): ") + thrown.what());
  }
}

TEST(Program, ErrorsKeepTheirClassAndGainTheNodeLabel) {
  expect_kept(TypeError("t"));
  expect_kept(ShapeError("s"));
  expect_kept(IndexError("i"));
  expect_kept(MissingInputError("m"));
  expect_kept(IOError("f"));
  expect_kept(DisconnectedInputError("d"));
}

TEST(Program, ReleasesSlotsAfterTheirLastUse) {
  Program p;
  p.num_slots = 2;
  p.instructions.push_back(
      {[](std::vector<NDArray>& s) { s[1] = s[0].copy(); }, {0}, "copy"});
  std::vector<NDArray> slots{NDArray::zeros(DType::Float32, {2}), NDArray()};
  p.run(slots);
  EXPECT_FALSE(slots[0].defined());
  EXPECT_TRUE(slots[1].defined());
}

}  // namespace
}  // namespace theanine
