// _core.read_idx, _core.find_idx_file and _core.load_mnist: the IDX reader of
// runtime/idx.h, returning NumPy arrays (theanine.datasets wraps them); the .npz
// reader and writer of runtime/npz.h (theanine.npz) and the learning-curve
// chart of runtime/png_plot.h (theanine.plot).
#include "python/bindings.h"
#include "python/convert.h"
#include "runtime/idx.h"
#include "runtime/npz.h"
#include "runtime/png_plot.h"

namespace theanine::py {
namespace {

std::vector<NamedArray> named_arrays(
    const std::vector<std::pair<std::string, pyb::object>>& items) {
  std::vector<NamedArray> arrays;
  for (const auto& [name, obj] : items)
    arrays.push_back(NamedArray{name, ndarray_from_object(obj, "array '" + name + "'")});
  return arrays;
}

void bind_npz(pybind11::module_& m) {
  m.def(
      "save_npz",
      [](const std::string& path,
         const std::vector<std::pair<std::string, pyb::object>>& items, bool compressed) {
        const std::vector<NamedArray> arrays = named_arrays(items);
        pyb::gil_scoped_release release;
        save_npz(path, arrays,
                 compressed ? NpzCompression::kDeflate : NpzCompression::kStored);
      },
      pyb::arg("path"), pyb::arg("arrays"), pyb::arg("compressed") = false,
      "Writes [(name, array), ...] to an .npz file atomically (stored, or deflated "
      "with compressed=True).");
  m.def(
      "npz_bytes",
      [](const std::vector<std::pair<std::string, pyb::object>>& items, bool compressed) {
        const std::vector<NamedArray> arrays = named_arrays(items);
        return pyb::bytes(npz_bytes(
            arrays, compressed ? NpzCompression::kDeflate : NpzCompression::kStored));
      },
      pyb::arg("arrays"), pyb::arg("compressed") = false,
      "The bytes save_npz would write.");
  m.def(
      "load_npz",
      [](const std::string& path) {
        std::optional<NpzFile> f;
        {
          pyb::gil_scoped_release release;
          f.emplace(load_npz(path));
        }
        pyb::list out;
        for (const NamedArray& a : f->arrays())
          out.append(pyb::make_tuple(a.name, numpy_from_ndarray(a.array)));
        return out;
      },
      pyb::arg("path"), "[(name, array), ...] of an .npz file, in archive order.");
}

void bind_png_plot(pybind11::module_& m) {
  auto chart = [](const std::vector<std::pair<std::string, std::vector<double>>>& series,
                  const std::string& title, const std::string& x_label,
                  const std::string& y_label, int width, int height) {
    LineChart c;
    c.title = title;
    c.x_label = x_label;
    c.y_label = y_label;
    c.width = width;
    c.height = height;
    for (const auto& [name, values] : series)
      c.series.push_back(PlotSeries{name, values});
    return c;
  };
  m.def(
      "line_chart_png",
      [chart](const std::vector<std::pair<std::string, std::vector<double>>>& series,
              const std::string& title, const std::string& x_label,
              const std::string& y_label, int width, int height) {
        return pyb::bytes(
            line_chart_png(chart(series, title, x_label, y_label, width, height)));
      },
      pyb::arg("series"), pyb::arg("title") = "", pyb::arg("x_label") = "epoch",
      pyb::arg("y_label") = "", pyb::arg("width") = 800, pyb::arg("height") = 500,
      "The PNG bytes of a line chart of [(name, values), ...] over epochs 1, 2, ...");
  m.def(
      "write_line_chart_png",
      [chart](const std::string& path,
              const std::vector<std::pair<std::string, std::vector<double>>>& series,
              const std::string& title, const std::string& x_label,
              const std::string& y_label, int width, int height) {
        write_line_chart_png(path, chart(series, title, x_label, y_label, width, height));
      },
      pyb::arg("path"), pyb::arg("series"), pyb::arg("title") = "",
      pyb::arg("x_label") = "epoch", pyb::arg("y_label") = "", pyb::arg("width") = 800,
      pyb::arg("height") = 500, "Writes line_chart_png(...) to path atomically.");
}

}  // namespace

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
  bind_npz(m);
  bind_png_plot(m);
}

}  // namespace theanine::py
