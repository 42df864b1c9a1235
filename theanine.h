#pragma once
// The C++ API in one header: build graphs with operators and the functions of
// ops/, compile them with theanine::function, call with NDArrays.
//
//   using namespace theanine;
//   Var x = make_input(TensorType(DType::Float32, {-1, 784}), "x");
//   Var W = make_shared(NDArray::zeros(DType::Float32, {784, 10}), "W");
//   Var cost = mean(sqr(dot(x, W) - 1.0));
//   Function f = function({x}, {cost}, {{W, W - 0.1 * grad(cost, W)}});
#include "codegen/function.h"
#include "graph/fgraph.h"
#include "graph/op.h"
#include "graph/variable.h"
#include "ops/batchnorm.h"
#include "ops/blas.h"
#include "ops/conv.h"
#include "ops/elemwise.h"
#include "ops/gradient.h"
#include "ops/nnet.h"
#include "ops/one_hot.h"
#include "ops/op_util.h"
#include "ops/operators.h"
#include "ops/pool.h"
#include "ops/random.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "ops/subtensor.h"
#include "ops/updates.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/ndarray.h"
#include "runtime/npz.h"
#include "runtime/png_plot.h"
#include "runtime/thread_pool.h"
