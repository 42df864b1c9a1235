#pragma once
// Learning-curve charts as PNG files without a plotting library: a line chart of
// named series over epochs (axes with tick labels, grid, legend, title) drawn
// with a small built-in bitmap font and encoded as an 8-bit RGB PNG through zlib.
// The output is deterministic: the same chart gives the same bytes.
#include <string>
#include <vector>

namespace theanine {

struct PlotSeries {
  std::string name;            // legend entry (none when empty)
  std::vector<double> values;  // values[i] is plotted at x = i + 1 (epoch i + 1);
                               // NaN and infinities are left out (a gap)
};

struct LineChart {
  std::string title;
  std::string x_label = "epoch";
  std::string y_label;
  std::vector<PlotSeries> series;
  int width = 800;   // pixels, 200 to 8192
  int height = 500;  // pixels, 150 to 8192
};

// The PNG file's bytes. ValueError for a size out of range.
std::string line_chart_png(const LineChart& chart);

// Writes line_chart_png(chart) to `path` atomically (a temporary file renamed
// over it). IOError when the file cannot be written.
void write_line_chart_png(const std::string& path, const LineChart& chart);

}  // namespace theanine
