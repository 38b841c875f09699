#pragma once
// Plots against tp for the HTML report, as inline SVG: x = tp on a log2 axis, one polyline per
// series, the bounds a verdict compares with as red dashed lines, and every point that fails
// its bound in red. The plots of a row share their y axis, so that the comparisons of a case
// (parity, each path against the reference) read side by side.
#include <optional>
#include <string>
#include <vector>

namespace ffn {

struct TpPoint {
  int tp = 1;
  double value = 0;
  bool fails = false;  // beyond the bound its verdict used
};

struct TpSeries {
  std::string label, color;
  std::string dash;  // an SVG stroke-dasharray; empty for a solid line
  std::vector<TpPoint> points;
};

// A line across a plot: a budget or a threshold.
struct TpBound {
  double value = 0;
  std::string label;
};

struct TpPlot {
  std::string id, title;
  std::vector<TpSeries> series;
  std::vector<TpBound> bounds;
};

// The y axis of a row of plots.
struct TpAxis {
  std::string label;
  bool log = false;
  // The value that means "identical" may lie off the scale (0 on a log axis, +inf dB): such
  // points sit on a band beyond the axis, past a break mark, labelled special_label and
  // explained under the row by special_note.
  std::optional<double> special;
  std::string special_label, special_note;
  std::optional<double> upper_limit;  // no value can exceed it (SSIM: 1): the axis ends there
};

// The plots side by side on one y axis, with the notes the row needs under them.
std::string render_tp_plot_row(const TpAxis& axis, const std::vector<TpPlot>& plots);

// What the lines and marks of the plots mean: each series (the same in every plot), a failing
// point, and a bound, described by `bound_meaning`.
std::string render_tp_legend(const std::vector<TpSeries>& series, const std::string& bound_meaning);

}  // namespace ffn
