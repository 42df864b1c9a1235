// _core.read_idx, _core.find_idx_file and _core.load_mnist: the IDX reader of
// runtime/idx.h, returning NumPy arrays (theanine.datasets wraps them).
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/idx.h"

namespace theanine::py {

void bind_data(pybind11::module_& m) {
  m.attr("DEFAULT_MNIST_DIR") = kDefaultMnistDir;
  m.def(
      "read_idx",
      [](const std::string& path) {
        NDArray a;
        {
          // Decompressing a large file takes a while; other threads may run.
          pyb::gil_scoped_release release;
          a = read_idx(path);
        }
        return numpy_from_ndarray(a);
      },
      pyb::arg("path"),
      "Reads an IDX file (plain or gzipped) into a NumPy array of the file's dtype.");
  m.def("find_idx_file", &find_idx_file, pyb::arg("dir"), pyb::arg("stem"),
        "The path of `stem` or `stem.gz` in `dir`, accepting both MNIST spellings.");
  m.def(
      "load_mnist",
      [](const std::string& dir) {
        MnistData d;
        {
          pyb::gil_scoped_release release;
          d = load_mnist(dir);
        }
        auto pair = [](const MnistSplit& s) {
          return pyb::make_tuple(numpy_from_ndarray(s.x), numpy_from_ndarray(s.y));
        };
        return pyb::make_tuple(pair(d.train), pair(d.valid), pair(d.test));
      },
      pyb::arg("dir") = std::string(kDefaultMnistDir),
      "((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) from an MNIST-format "
      "folder: float32 images (N, rows*cols) in [0, 1] and int32 labels.");
}

}  // namespace theanine::py
