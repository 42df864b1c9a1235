#pragma once
// Batch normalization as in theano.tensor.nnet.bn, built from elementwise and
// reduction ops (no op of its own): the rewriter fuses the elementwise parts and
// the gradient comes from the ops' rules.
//
// The parameters (gamma, beta, means, variances) come in one of two forms: the
// input's ndim with 1 along the normalized axes, or without those axes at all
// (ndim = input ndim - number of axes). The statistics returned have the form
// of gamma.
#include <string>
#include <vector>

#include "graph/variable.h"

namespace theanine {

// The normalized axes for Theano's spellings: "per-activation" is (0,),
// "spatial" is (0, 2, 3, ...). ValueError for anything else.
std::vector<int> batchnorm_axes(const std::string& spec, int ndim);
// `axes` sorted and checked: non-empty, each in [0, ndim), none twice.
std::vector<int> batchnorm_axes(std::vector<int> axes, int ndim);

struct BatchNormTrainResult {
  Var out;     // (inputs - mean) * gamma * invstd + beta
  Var mean;    // the mean over `axes`
  Var invstd;  // 1 / sqrt(var + epsilon), var the biased variance over `axes`
  // With running averages given: running * (1 - factor) + stat * factor, the
  // variance corrected to the unbiased one (times m / (m - 1) for m values).
  Var running_mean, running_var;
};

// Normalizes `inputs` by the statistics of this batch. `running_mean` and
// `running_var` are both given or both null. ValueError for epsilon below 1e-5
// (Theano's limit), bad axes or parameters of the wrong ndim.
BatchNormTrainResult batch_normalization_train(
    const Var& inputs, const Var& gamma, const Var& beta, const std::vector<int>& axes,
    double epsilon = 1e-4, double running_average_factor = 0.1,
    const Var& running_mean = Var(), const Var& running_var = Var(),
    const Here& loc = Here::current());

// Normalizes `inputs` by given statistics: (inputs - mean) * gamma /
// sqrt(var + epsilon) + beta.
Var batch_normalization_test(const Var& inputs, const Var& gamma, const Var& beta,
                             const Var& mean, const Var& var,
                             const std::vector<int>& axes, double epsilon = 1e-4,
                             const Here& loc = Here::current());

// Theano's elementwise batch_normalization: (inputs - mean) * (gamma / std) + beta,
// every operand broadcast as in any elementwise op.
Var batch_normalization(const Var& inputs, const Var& gamma, const Var& beta,
                        const Var& mean, const Var& std,
                        const Here& loc = Here::current());

}  // namespace theanine
