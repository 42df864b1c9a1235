#include "runtime/png_plot.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "runtime/atomic_file.h"
#include "runtime/bitmap_font.h"
#include "runtime/error.h"

namespace theanine {
namespace {

struct Rgb {
  uint8_t r, g, b;
};

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kGrid{225, 225, 225};
constexpr Rgb kText{40, 40, 40};
// Distinct hues that stay apart for the common forms of colour blindness.
constexpr Rgb kPalette[] = {{0, 114, 178},   {213, 94, 0},  {0, 158, 115},
                            {204, 121, 167}, {230, 159, 0}, {86, 180, 233},
                            {120, 120, 120}, {0, 0, 0}};

constexpr int kTextScale = 2;  // font dots to pixels
constexpr int kCharW = font::kAdvance * kTextScale;
constexpr int kLineH = font::kGlyphHeight * kTextScale;

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), px_(static_cast<size_t>(w) * h * 3, 255) {}
  int width() const { return w_; }
  int height() const { return h_; }

  // Mixes `c` into the pixel with weight `alpha` in [0, 1].
  void blend(int x, int y, Rgb c, double alpha = 1.0) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_ || !(alpha > 0)) return;
    alpha = std::min(alpha, 1.0);
    uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
    const uint8_t rgb[3] = {c.r, c.g, c.b};
    for (int i = 0; i < 3; ++i)
      p[i] = static_cast<uint8_t>(std::lround(p[i] + (rgb[i] - p[i]) * alpha));
  }
  void fill(int x0, int y0, int x1, int y1, Rgb c) {  // inclusive corners
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) blend(x, y, c);
  }
  // An anti-aliased segment of the given width: each pixel is covered by how far
  // its centre lies inside the stroke.
  void line(double x0, double y0, double x1, double y1, double width, Rgb c) {
    const double r = width / 2;
    const int bx0 = static_cast<int>(std::floor(std::min(x0, x1) - r - 1));
    const int bx1 = static_cast<int>(std::ceil(std::max(x0, x1) + r + 1));
    const int by0 = static_cast<int>(std::floor(std::min(y0, y1) - r - 1));
    const int by1 = static_cast<int>(std::ceil(std::max(y0, y1) + r + 1));
    const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = by0; y <= by1; ++y) {
      for (int x = bx0; x <= bx1; ++x) {
        double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
        t = std::clamp(t, 0.0, 1.0);
        const double d = std::hypot(x - (x0 + t * dx), y - (y0 + t * dy));
        blend(x, y, c, r + 0.5 - d);
      }
    }
  }
  void disc(double cx, double cy, double radius, Rgb c) {
    line(cx, cy, cx, cy, 2 * radius, c);
  }
  // Text with its top-left corner at (x, y); `vertical` turns it a quarter turn
  // counter-clockwise, reading upwards from (x, y) as its bottom-left corner.
  void text(int x, int y, const std::string& s, Rgb c, bool vertical = false) {
    for (size_t k = 0; k < s.size(); ++k) {
      for (int row = 0; row < font::kGlyphHeight; ++row) {
        for (int col = 0; col < font::kGlyphWidth; ++col) {
          if (!font::ink(s[k], col, row)) continue;
          const int u = static_cast<int>(k) * kCharW + col * kTextScale;
          const int v = row * kTextScale;
          for (int a = 0; a < kTextScale; ++a)
            for (int b = 0; b < kTextScale; ++b)
              vertical ? blend(x + v + b, y - u - a, c) : blend(x + u + a, y + v + b, c);
        }
      }
    }
  }
  const std::vector<uint8_t>& pixels() const { return px_; }

 private:
  int w_, h_;
  std::vector<uint8_t> px_;  // RGB, row-major
};

int text_width(const std::string& s) {
  return s.empty() ? 0 : static_cast<int>(s.size()) * kCharW - kTextScale;
}

// Evenly spaced round values (1, 2 or 5 times a power of ten apart) covering
// [lo, hi] with about `target` intervals.
struct Ticks {
  double lo, hi, step;
  int decimals;
  int count() const { return static_cast<int>(std::lround((hi - lo) / step)) + 1; }
  double at(int i) const { return lo + i * step; }
};

Ticks nice_ticks(double lo, double hi, int target, bool integers) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 0.5 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag * 10;
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * mag * (1 + 1e-9)) {
      step = m * mag;
      break;
    }
  if (integers) step = std::max(1.0, std::round(step));
  Ticks t{std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step,
          0};
  t.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return t;
}

std::string tick_label(double v, int decimals) {
  if (std::abs(v) < 1e-12) v = 0;  // no "-0.00"
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// ---- PNG encoding -----------------------------------------------------------

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(v >> shift));
}

void chunk(std::string& out, const char type[5], const std::string& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type, 4);
  out += data;
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data() + start),
                          static_cast<uInt>(out.size() - start));
  put_be32(out, static_cast<uint32_t>(crc));
}

std::string encode_png(const Canvas& c) {
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, c.width());
  put_be32(ihdr, c.height());
  ihdr +=
      std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter/interlace
  chunk(out, "IHDR", ihdr);
  // Each scanline starts with its filter type: 0, the bytes as they are.
  const size_t row = static_cast<size_t>(c.width()) * 3;
  std::string raw;
  raw.reserve((row + 1) * c.height());
  for (int y = 0; y < c.height(); ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(c.pixels().data() + y * row), row);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string idat(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(idat.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK)
    throw ValueError("line_chart_png: compression failed");
  idat.resize(size);
  chunk(out, "IDAT", idat);
  chunk(out, "IEND", "");
  return out;
}

}  // namespace

std::string line_chart_png(const LineChart& chart) {
  if (chart.width < 200 || chart.width > 8192 || chart.height < 150 ||
      chart.height > 8192)
    throw ValueError("line_chart_png: the size " + std::to_string(chart.width) + "x" +
                     std::to_string(chart.height) +
                     " is out of range (width 200 to 8192, height 150 to 8192)");
  Canvas canvas(chart.width, chart.height);

  // Data ranges: x over epochs 1..n, y over every finite value.
  size_t n = 1;
  double ylo = std::numeric_limits<double>::infinity(), yhi = -ylo;
  for (const PlotSeries& s : chart.series) {
    n = std::max(n, s.values.size());
    for (double v : s.values)
      if (std::isfinite(v)) {
        ylo = std::min(ylo, v);
        yhi = std::max(yhi, v);
      }
  }
  if (!std::isfinite(ylo)) ylo = 0, yhi = 1;
  // A little room around the data keeps points off the axes, but not below zero
  // for data that is never negative (losses, error rates).
  const double margin = 0.03 * (yhi - ylo);
  ylo = ylo >= 0 ? std::max(0.0, ylo - margin) : ylo - margin;
  yhi += margin;

  // Layout: title and legend rows above the plot, tick labels and the axis
  // labels outside it on the left and below. The tick counts follow the room
  // there is, so that labels never crowd.
  const int pad = 12;
  const int top = pad + (chart.title.empty() ? 0 : kLineH + 8) + kLineH + 12;
  const int bottom = chart.height - (pad + kLineH + 8 + kLineH + 8);
  const int right = chart.width - 28;
  const Ticks yt = nice_ticks(ylo, yhi, std::clamp((bottom - top) / 50, 1, 8),
                              /*integers=*/false);
  int label_w = 0;
  for (int i = 0; i < yt.count(); ++i)
    label_w = std::max(label_w, text_width(tick_label(yt.at(i), yt.decimals)));
  const int left = pad + (chart.y_label.empty() ? 0 : kLineH + 8) + label_w + 10;
  if (right - left < 40 || bottom - top < 40)
    throw ValueError("line_chart_png: the size " + std::to_string(chart.width) + "x" +
                     std::to_string(chart.height) + " leaves no room for the plot");
  const int x_label_w = text_width(std::to_string(n)) + 3 * kCharW;
  const Ticks xt =
      nice_ticks(1, std::max<double>(2, n), std::clamp((right - left) / x_label_w, 1, 10),
                 /*integers=*/true);
  const double x0 = 1, x1 = std::max(xt.hi, 2.0);
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) {
    return bottom - (y - yt.lo) / (yt.hi - yt.lo) * (bottom - top);
  };

  // Grid, ticks and their labels.
  for (int i = 0; i < yt.count(); ++i) {
    const double v = yt.at(i);
    const int y = static_cast<int>(std::lround(py(v)));
    canvas.fill(left, y, right, y, kGrid);
    canvas.fill(left - 5, y, left - 1, y, kBlack);
    const std::string s = tick_label(v, yt.decimals);
    canvas.text(left - 8 - text_width(s), y - 7 * kTextScale / 2, s, kText);
  }
  for (int i = 0; i < xt.count(); ++i) {
    const double v = xt.at(i);
    if (v < x0 - 1e-9) continue;
    const int x = static_cast<int>(std::lround(px(v)));
    canvas.fill(x, top, x, bottom, kGrid);
    canvas.fill(x, bottom + 1, x, bottom + 5, kBlack);
    const std::string s = tick_label(v, 0);
    canvas.text(x - text_width(s) / 2, bottom + 9, s, kText);
  }
  canvas.fill(left, top, left, bottom, kBlack);
  canvas.fill(left, bottom, right, bottom, kBlack);

  // The series: lines between consecutive finite points, a dot on each point.
  for (size_t k = 0; k < chart.series.size(); ++k) {
    const Rgb color = kPalette[k % std::size(kPalette)];
    const std::vector<double>& v = chart.series[k].values;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) continue;
      if (i + 1 < v.size() && std::isfinite(v[i + 1]))
        canvas.line(px(i + 1), py(v[i]), px(i + 2), py(v[i + 1]), 2.5, color);
      canvas.disc(px(i + 1), py(v[i]), 3.5, color);
    }
  }

  // Title, axis labels and the legend row.
  int y = pad;
  if (!chart.title.empty()) {
    canvas.text((chart.width - text_width(chart.title)) / 2, y, chart.title, kBlack);
    y += kLineH + 8;
  }
  int x = left;
  for (size_t k = 0; k < chart.series.size(); ++k) {
    if (chart.series[k].name.empty()) continue;
    const Rgb color = kPalette[k % std::size(kPalette)];
    const double mid = y + 7 * kTextScale / 2.0;
    canvas.line(x, mid, x + 24, mid, 2.5, color);
    canvas.disc(x + 12, mid, 3.5, color);
    canvas.text(x + 32, y, chart.series[k].name, kText);
    x += 32 + text_width(chart.series[k].name) + 24;
  }
  if (!chart.x_label.empty())
    canvas.text((left + right - text_width(chart.x_label)) / 2, bottom + 9 + kLineH + 8,
                chart.x_label, kText);
  if (!chart.y_label.empty())
    canvas.text(pad, (top + bottom + text_width(chart.y_label)) / 2, chart.y_label, kText,
                /*vertical=*/true);
  return encode_png(canvas);
}

void write_line_chart_png(const std::string& path, const LineChart& chart) {
  write_file_atomically(path, line_chart_png(chart));
}

}  // namespace theanine
