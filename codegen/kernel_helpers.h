#pragma once
// The run-time helper table compiled kernels receive as their last argument.
// A scalar op a backend has no native spelling for is evaluated by calling the
// scalar-op table's own reference row function with n = 1, through this table,
// so the kernel computes what the reference path computes and no address is
// baked into cached machine code.
namespace theanine {

// Slot of an op's evaluation in the table.
enum class HelperKind : int { Float = 0, Int = 1, Bool = 2 };
inline int helper_slot(int op_id, HelperKind kind) {
  return 3 * op_id + static_cast<int>(kind);
}
// The table: for each scalar op, eval_float, eval_int, eval_bool (null where
// the op has none).
void* const* kernel_helpers();

}  // namespace theanine
