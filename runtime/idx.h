#pragma once
// The IDX file format (MNIST and its mirrors): reading plain or gzipped files into
// NDArrays, finding them under the names mirrors use, and the MNIST train /
// validation / test splits of the classic Theano tutorial.
#include <string>

#include "runtime/ndarray.h"

namespace theanine {

// Where Debian's dataset-fashion-mnist package puts its files.
inline constexpr const char* kDefaultMnistDir = "/usr/share/datasets/fashion-mnist/";

// Reads an IDX file (gunzipped first when it starts with the gzip magic) into a
// contiguous array of the file's dtype. Throws IOError naming the file when it is
// missing, not IDX, truncated, corrupt or followed by extra bytes.
NDArray read_idx(const std::string& path);

// The path of `stem` or `stem.gz` in `dir`, also trying the other spelling of the
// "-idx3-ubyte" / ".idx3-ubyte" suffix; IOError listing the names tried if none is
// there.
std::string find_idx_file(const std::string& dir, const std::string& stem);

struct MnistSplit {
  NDArray x;  // float32 (N, rows * cols), scaled to [0, 1]
  NDArray y;  // int32 (N,)
};

struct MnistData {
  MnistSplit train, valid, test;
};

// Loads the four MNIST files from `dir`. The training file is split into train and
// validation sets: the last 10,000 images validate (the last sixth when there are
// fewer than 60,000, as in small test folders); the t10k files are the test set.
MnistData load_mnist(const std::string& dir = kDefaultMnistDir);

}  // namespace theanine
