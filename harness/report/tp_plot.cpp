#include "harness/report/tp_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "harness/report/xml_escape.hpp"

namespace ffn {

namespace {

// Three plots side by side fit a 1280-pixel window with the page's margins.
constexpr double k_width = 384, k_height = 250;
constexpr double k_left = 56, k_right = k_width - 12, k_top = 30, k_bottom = k_height - 40;
constexpr double k_band = 28;  // room for the special band beyond the axis
constexpr std::string_view k_fail_color = "#cf222e";

// The y scale of a row: ticks lo, lo + step, ... hi, in scaled units (decades on a log axis).
struct Scale {
  bool log = false;
  double lo = 0, hi = 1, step = 1;
  bool has_special = false;
  bool band_below = false;  // the special value of a log axis (0) lies below it, +inf dB above

  double scaled(double v) const { return log ? std::log10(v) : v; }
};

bool is_special(const TpAxis& axis, double v) { return axis.special && v == *axis.special; }
bool on_scale(const TpAxis& axis, double v) { return std::isfinite(v) && (!axis.log || v > 0); }

// 1, 2 or 5 times a power of ten: at most about six ticks over the span.
double nice_step(double span) {
  const double raw = span / 5;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

Scale scale_of(const TpAxis& axis, const std::vector<TpPlot>& plots) {
  Scale s;
  s.log = axis.log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  auto take = [&](double v) {
    lo = std::min(lo, s.scaled(v));
    hi = std::max(hi, s.scaled(v));
  };
  for (const TpPlot& plot : plots) {
    for (const TpSeries& series : plot.series)
      for (const TpPoint& p : series.points) {
        if (is_special(axis, p.value)) s.has_special = true;
        else if (on_scale(axis, p.value)) take(p.value);
      }
    for (const TpBound& b : plot.bounds)
      if (on_scale(axis, b.value)) take(b.value);
  }
  if (lo > hi) {  // nothing on the scale: an axis only for the special band
    lo = axis.log ? -4 : 0;
    hi = axis.log ? -1 : 1;
  }
  // Nothing sits on the frame: a value within a twentieth of a tick of the edge extends the
  // axis by a tick (the margin budget 1 would otherwise be the frame's top line).
  if (axis.log) {
    s.lo = std::floor(lo - 0.05);
    s.hi = std::max(std::ceil(hi + 0.05), s.lo + 1);
    s.step = std::ceil((s.hi - s.lo) / 8);
  } else {
    s.step = nice_step(std::max(hi - lo, std::max(std::abs(hi), 1.0) * 1e-3));
    s.lo = std::floor(lo / s.step - 0.05) * s.step;
    s.hi = std::ceil(hi / s.step + 0.05) * s.step;
    if (axis.upper_limit) s.hi = std::min(s.hi, *axis.upper_limit);
  }
  s.band_below = axis.log;
  return s;
}

std::string render_plot(const TpAxis& axis, const Scale& scale, const std::vector<int>& tps, const TpPlot& plot) {
  const double axis_top = k_top + (scale.has_special && !scale.band_below ? k_band : 0);
  const double axis_bottom = k_bottom - (scale.has_special && scale.band_below ? k_band : 0);
  const double special_y = scale.band_below ? k_bottom - 10 : k_top + 10;
  auto y_at = [&](double scaled) {
    return axis_bottom - (scaled - scale.lo) / (scale.hi - scale.lo) * (axis_bottom - axis_top);
  };
  auto y_of = [&](double v) { return is_special(axis, v) ? special_y : y_at(scale.scaled(v)); };
  const double x_lo = std::log2(tps.front()), x_hi = std::log2(tps.back());
  auto x_of = [&](int tp) {
    const double span = x_hi - x_lo;
    const double t = span > 0 ? (std::log2(tp) - x_lo + 0.15 * span) / (1.3 * span) : 0.5;
    return k_left + t * (k_right - k_left);
  };

  std::string svg;
  auto out = std::back_inserter(svg);
  fmt::format_to(out,
                 "<svg id=\"{0}\" class=\"plot\" width=\"{1}\" height=\"{2}\" viewBox=\"0 0 {1} {2}\" role=\"img\" "
                 "aria-label=\"{3}\">\n<text class=\"title\" x=\"{4}\" y=\"18\" text-anchor=\"middle\">{3}</text>\n",
                 xml_escape(plot.id), k_width, k_height, xml_escape(plot.title), (k_left + k_right) / 2);
  fmt::format_to(out, "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", k_left, k_top,
                 k_right - k_left, k_bottom - k_top);

  // Ticks at whole multiples of the step, so that the labels are round numbers.
  for (double k = std::ceil(scale.lo / scale.step - 1e-9); k * scale.step <= scale.hi + 1e-9 * scale.step; ++k) {
    const double t = k * scale.step, y = y_at(t);
    fmt::format_to(out, "<line class=\"grid\" x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>", k_left, y, k_right,
                   y);
    const std::string label = scale.log ? fmt::format("10<tspan dy=\"-6\" font-size=\"9\">{}</tspan>", std::lround(t))
                                        : fmt::format("{:g}", t);
    fmt::format_to(out, "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", k_left - 6, y + 4, label);
    if (scale.log && scale.step == 1 && t < scale.hi)
      for (int m = 2; m <= 9; ++m)
        fmt::format_to(out, "<line class=\"minor\" x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\"/>", k_left,
                       y_at(t + std::log10(m)), k_right);
  }
  if (scale.has_special) {
    // A white gap in the axis line between two slashes: the axis does not reach the band.
    const double gap_y = scale.band_below ? axis_bottom + 5 : axis_top - 16;
    fmt::format_to(out,
                   "<line class=\"grid special\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>"
                   "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>"
                   "<rect x=\"{6}\" y=\"{7}\" width=\"12\" height=\"11\" fill=\"#fff\"/>"
                   "<path class=\"break\" d=\"M{6} {8}l12 -5M{6} {9}l12 -5\"/>\n",
                   k_left, special_y, k_right, k_left - 6, special_y + 4, xml_escape(axis.special_label), k_left - 6,
                   gap_y, gap_y + 5, gap_y + 11);
  }
  for (const int tp : tps)
    fmt::format_to(out,
                   "<line class=\"tick\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\"/>"
                   "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                   x_of(tp), k_bottom, k_bottom + 5, k_bottom + 18, tp);
  fmt::format_to(out, "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">tp</text>\n",
                 (k_left + k_right) / 2, k_height - 6);
  fmt::format_to(out,
                 "<text class=\"axis\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                 (k_top + k_bottom) / 2, xml_escape(axis.label));

  for (const TpBound& b : plot.bounds) {
    if (!on_scale(axis, b.value)) continue;
    const double y = y_of(b.value);
    // Above its line, unless the line runs along the top, where the best values crowd.
    const double label_y = y - axis_top < 16 ? y + 12 : y - 4;
    fmt::format_to(out,
                   "<line class=\"bound\" x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"{3}\"/>"
                   "<text class=\"bound-label\" x=\"{4}\" y=\"{5:.1f}\" text-anchor=\"end\" fill=\"{3}\">{6}</text>\n",
                   k_left, y, k_right, k_fail_color, k_right - 4, label_y, xml_escape(b.label));
  }
  // Lines first, then the points, failing ones last: a red point is never hidden.
  std::string points, failing;
  for (const TpSeries& s : plot.series) {
    std::string line;
    for (const TpPoint& p : s.points) {
      if (!is_special(axis, p.value) && !on_scale(axis, p.value)) continue;
      const double x = x_of(p.tp), y = y_of(p.value);
      line += fmt::format("{}{:.1f},{:.1f}", line.empty() ? "" : " ", x, y);
      const std::string title =
          xml_escape(fmt::format("{}, tp {}: {:.3g}{}", s.label, p.tp, p.value, p.fails ? " (fails)" : ""));
      if (p.fails)
        fmt::format_to(std::back_inserter(failing),
                       "<circle class=\"point fail\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\" stroke=\"#fff\">"
                       "<title>{}</title></circle>",
                       x, y, k_fail_color, title);
      else
        fmt::format_to(std::back_inserter(points),
                       "<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\">"
                       "<title>{}</title></circle>",
                       x, y, s.color, title);
    }
    const std::string dash = s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash);
    fmt::format_to(out, "<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                   s.color, dash, line);
  }
  svg += points + "\n" + failing + "\n</svg>\n";
  return svg;
}

}  // namespace

std::string render_tp_plot_row(const TpAxis& axis, const std::vector<TpPlot>& plots) {
  std::vector<int> tps;
  for (const TpPlot& plot : plots)
    for (const TpSeries& s : plot.series)
      for (const TpPoint& p : s.points) tps.push_back(p.tp);
  std::sort(tps.begin(), tps.end());
  tps.erase(std::unique(tps.begin(), tps.end()), tps.end());
  if (tps.empty()) return {};

  const Scale scale = scale_of(axis, plots);
  std::string html = "<div class=\"plot-row\">\n";
  for (const TpPlot& plot : plots) html += render_plot(axis, scale, tps, plot);
  html += "</div>\n";
  if (scale.has_special) html += "<p class=\"note\">" + xml_escape(axis.special_note) + "</p>\n";

  std::string missing;
  for (const TpPlot& plot : plots)
    for (const TpSeries& s : plot.series)
      for (const TpPoint& p : s.points)
        if (!is_special(axis, p.value) && !on_scale(axis, p.value))
          missing += fmt::format("{}{}: {} tp {} ({:.3g})", missing.empty() ? "" : ", ", plot.title, s.label, p.tp,
                                 p.value);
  if (!missing.empty()) html += "<p class=\"note\">Not plotted (off the scale): " + xml_escape(missing) + "</p>\n";
  return html;
}

std::string render_tp_legend(const std::vector<TpSeries>& series, const std::string& bound_meaning) {
  auto item = [](const std::string& swatch, const std::string& label) {
    return fmt::format("<li><svg width=\"30\" height=\"12\" aria-hidden=\"true\">{}</svg>{}</li>", swatch,
                       xml_escape(label));
  };
  std::string html = "<ul class=\"legend\">\n";
  for (const TpSeries& s : series) {
    const std::string dash = s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", s.dash);
    html += item(fmt::format("<line x1=\"1\" y1=\"6\" x2=\"29\" y2=\"6\" stroke=\"{0}\" stroke-width=\"2\"{1}/>"
                             "<circle cx=\"15\" cy=\"6\" r=\"3.5\" fill=\"{0}\"/>",
                             s.color, dash),
                 s.label);
  }
  html += item(fmt::format("<circle cx=\"15\" cy=\"6\" r=\"5\" fill=\"{}\"/>", k_fail_color), "fails its bound");
  html += item(fmt::format("<line class=\"bound\" x1=\"1\" y1=\"6\" x2=\"29\" y2=\"6\" stroke=\"{}\"/>", k_fail_color),
               bound_meaning);
  html += "</ul>\n";
  return html;
}

}  // namespace ffn
