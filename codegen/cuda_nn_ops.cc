// cuda_nn_ops(): the device entries of the neural-network ops, each file of
// codegen/cuda_nn_*.cc contributing those of one family.
#include "codegen/cuda_nn_common.h"
#include "codegen/cuda_nn_entries.h"
#include "codegen/cuda_op_table.h"

namespace theanine {

std::vector<CudaOpEntry> cuda_nn_ops() {
  std::vector<CudaOpEntry> all;
  for (auto entries :
       {cuda_nn::conv_entries, cuda_nn::pool_entries, cuda_nn::softmax_entries,
        cuda_nn::random_entries, cuda_nn::index_entries}) {
    std::vector<CudaOpEntry> e = entries();
    all.insert(all.end(), e.begin(), e.end());
  }
  return all;
}

namespace cuda_nn {

std::vector<const CudaSourceModule*> all_modules() {
  std::vector<const CudaSourceModule*> all{&util_module()};
  for (auto modules :
       {conv_modules, pool_modules, softmax_modules, random_modules, index_modules}) {
    std::vector<const CudaSourceModule*> m = modules();
    all.insert(all.end(), m.begin(), m.end());
  }
  return all;
}

}  // namespace cuda_nn
}  // namespace theanine
