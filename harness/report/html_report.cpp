#include "harness/report/html_report.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#if FFN_PARITY_VIDEO_IO
#endif
#include <opencv2/imgproc.hpp>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "harness/report/tp_plot.hpp"
#include "harness/report/xml_escape.hpp"
#include "metrics/frame_io.hpp"

namespace ffn {

namespace {

namespace fs = std::filesystem;

// Rollout frames are small (192x128 by default) and their differences sit in single pixels:
// pictures are enlarged by whole factors (every pixel a visible block) to at least this width.
constexpr int k_min_picture_width = 384;
// The difference heatmap's gain maps the largest difference to 255, but no more than this:
// a 1-level difference at full brightness would make a near-perfect frame look broken.
constexpr int k_max_gain = 64;

std::string base64(const std::vector<uchar>& bytes) {
  static constexpr std::string_view k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = unsigned(bytes[i]) << 16 | unsigned(bytes[i + 1]) << 8 | bytes[i + 2];
    for (const int shift : {18, 12, 6, 0}) out += k_alphabet[(v >> shift) & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const unsigned v = unsigned(bytes[i]) << 16 | (rest == 2 ? unsigned(bytes[i + 1]) << 8 : 0u);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += rest == 2 ? k_alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Numbers as the table shows them: NaN as a dash, infinities spelled out.
std::string sci(double v, int digits = 2) {
  if (std::isnan(v)) return "\u2013";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}e}", v, digits);
}
std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "\u2013";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}f}", v, digits);
}

double rel_l2(const Comparison& c) { return std::sqrt(c.stats.nmse); }

std::string case_label(const CaseConfig& c) {
  return fmt::format("tp {} \u00b7 {} \u00b7 {}", c.tp, c.precision().name, allreduce_model_name(c.allreduce));
}

// The command as a POSIX shell would read it back: arguments beyond the safe characters in
// single quotes, so the header's line can be pasted to run the same sweep again.
std::string shell_command(const std::vector<std::string>& arguments) {
  static constexpr std::string_view k_shell_safe = "_-+=:,./@%";
  std::string out;
  for (const std::string& a : arguments) {
    if (!out.empty()) out += ' ';
    const bool safe = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || k_shell_safe.find(c) != std::string_view::npos;
    });
    if (safe) {
      out += a;
      continue;
    }
    out += '\'';
    for (const char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pictures

struct Picture {
  std::string file;  // name inside the report directory
  std::string data_uri;
  int width = 0, height = 0;
};

cv::Mat enlarge(const cv::Mat& image) {
  const int factor = image.cols >= k_min_picture_width ? 1 : (k_min_picture_width + image.cols - 1) / image.cols;
  cv::Mat out;
  cv::resize(image, out, cv::Size(image.cols * factor, image.rows * factor), 0, 0, cv::INTER_NEAREST);
  return out;
}

Picture save_picture(const fs::path& dir, const std::string& file, const cv::Mat& image) {
  const cv::Mat big = enlarge(image);
  const fs::path path = dir / file;
  const std::vector<unsigned char> png = encode_png(big, path.string());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  if (!out.flush()) throw std::runtime_error(fmt::format("{}: cannot write the PNG", path.string()));
  return {file, "data:image/png;base64," + base64(png), big.cols, big.rows};
}

// |a - b|, the largest of the three channels at each pixel, in 8-bit levels.
cv::Mat largest_channel_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  std::vector<cv::Mat> channels;
  cv::split(diff, channels);
  return cv::max(cv::max(channels[0], channels[1]), channels[2]);
}

// The colour scales of a report's maps, one per kind, so that equal colours mean equal
// differences across precisions: the largest difference of the report and its lowest SSIM are
// the brightest colour of their maps.
struct MapScales {
  int gain = k_max_gain;  // levels of difference to colormap levels (saturating at 255)
  double lowest_ssim = 1;

  static MapScales of(double largest_difference, double lowest_ssim) {
    MapScales s;
    if (largest_difference > 0) s.gain = std::clamp(static_cast<int>(255 / largest_difference), 1, k_max_gain);
    s.lowest_ssim = lowest_ssim;
    return s;
  }
  double brightest_difference() const { return 255.0 / gain; }
};

cv::Mat heatmap(const cv::Mat& difference, const MapScales& scales) {
  cv::Mat amplified, image;
  difference.convertTo(amplified, CV_8U, scales.gain);  // saturates at 255
  cv::applyColorMap(amplified, image, cv::COLORMAP_INFERNO);
  return image;
}

// 1 is black, the report's lowest SSIM the brightest colour.
cv::Mat ssim_picture(const cv::Mat& ssim_map, const MapScales& scales) {
  const double span = std::max(1 - scales.lowest_ssim, 1e-9);
  cv::Mat scaled, image;
  ssim_map.convertTo(scaled, CV_8U, -255 / span, 255 / span);
  cv::applyColorMap(scaled, image, cv::COLORMAP_INFERNO);
  return image;
}

// A horizontal legend of the inferno colormap, taken from OpenCV's own table.
std::string colorbar(int width, const std::string& left, const std::string& right, int id) {
  cv::Mat ramp(1, 256, CV_8UC1), colors;
  for (int i = 0; i < 256; ++i) ramp.at<uchar>(0, i) = static_cast<uchar>(i);
  cv::applyColorMap(ramp, colors, cv::COLORMAP_INFERNO);
  std::string stops;
  for (int i = 0; i <= 8; ++i) {
    const int level = std::min(255, i * 32);
    const cv::Vec3b bgr = colors.at<cv::Vec3b>(0, level);
    stops += fmt::format("<stop offset=\"{:.3f}\" stop-color=\"#{:02x}{:02x}{:02x}\"/>", level / 255.0, bgr[2],
                         bgr[1], bgr[0]);
  }
  return fmt::format(
      "<svg class=\"colorbar\" width=\"{0}\" height=\"30\" viewBox=\"0 0 {0} 30\" aria-hidden=\"true\">"
      "<defs><linearGradient id=\"inferno-{1}\">{2}</linearGradient></defs>"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"10\" fill=\"url(#inferno-{1})\"/>"
      "<text x=\"0\" y=\"25\">{3}</text><text x=\"{0}\" y=\"25\" text-anchor=\"end\">{4}</text></svg>",
      width, id, stops, xml_escape(left), xml_escape(right));
}

// ---------------------------------------------------------------------------------------------
// Plots of what the verdict compared, against tp: one line per (precision, AllReduce model).

// No red: red marks the points that fail their bound.
constexpr std::array<std::string_view, 9> k_palette{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                                    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr std::array<std::string_view, 3> k_dashes{"", "7 4", "2 3"};

// A case's point on a plot: its value and whether it fails the bound its verdict used.
struct Judged {
  double value = 0;
  bool fails = false;
};
// nullopt where a case has no such point (no frames).
using JudgedOf = std::function<std::optional<Judged>(const CaseResult&)>;

// Series in the order the sweep ran them: colour by precision, dash pattern by AllReduce model.
std::vector<TpSeries> plot_series(const std::vector<CaseResult>& results, const JudgedOf& judged) {
  std::vector<std::string> precisions, models;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  std::vector<TpSeries> series;
  for (const auto& r : results) {
    const std::optional<Judged> j = judged(r);
    if (!j) continue;
    const std::string precision = r.config.precision().name;
    const std::string model(allreduce_model_name(r.config.allreduce));
    if (std::find(precisions.begin(), precisions.end(), precision) == precisions.end())
      precisions.push_back(precision);
    if (std::find(models.begin(), models.end(), model) == models.end()) models.push_back(model);
    const auto [it, added] = index.try_emplace({precision, model}, series.size());
    if (added) {
      const std::size_t p = std::find(precisions.begin(), precisions.end(), precision) - precisions.begin();
      const std::size_t m = std::find(models.begin(), models.end(), model) - models.begin();
      series.push_back({precision + " / " + model, std::string(k_palette[p % k_palette.size()]),
                        std::string(k_dashes[m % k_dashes.size()]), {}});
    }
    series[it->second].points.push_back({r.config.tp, j->value, j->fails});
  }
  for (auto& s : series)
    std::stable_sort(s.points.begin(), s.points.end(), [](const auto& a, const auto& b) { return a.tp < b.tp; });
  return series;
}

// The three comparisons a verdict judges, as the plots' ids and titles name them.
struct ComparisonPlot {
  std::string_view id, title;
  double (*margin)(const CaseResult&);   // the margin the verdict used
  const VideoScore FrameResult::*video;  // the frames it judged
};
constexpr std::array<ComparisonPlot, 3> k_comparisons{{
    {"parity", "parity: sharded vs allgather", [](const CaseResult& r) { return r.parity_margin(); },
     &FrameResult::parity},
    {"allgather", "allgather vs fp64 reference",
     [](const CaseResult& r) { return r.allgather_ref.verdict.margin(); }, &FrameResult::allgather_ref},
    {"sharded", "sharded vs fp64 reference", [](const CaseResult& r) { return r.sharded_ref.verdict.margin(); },
     &FrameResult::sharded_ref},
}};

// The frame thresholds as lines: one per value, naming the precisions it applies to when
// they differ.
std::vector<TpBound> threshold_bounds(const std::vector<CaseResult>& results, double FrameThresholds::*threshold,
                                      std::string_view unit) {
  std::vector<std::pair<double, std::vector<std::string>>> values;
  for (const auto& r : results) {
    if (!r.frames) continue;
    const double v = r.frames->thresholds.*threshold;
    const std::string precision = r.config.precision().name;
    auto it = std::find_if(values.begin(), values.end(), [&](const auto& e) { return e.first == v; });
    if (it == values.end()) it = values.insert(values.end(), {v, {}});
    if (std::find(it->second.begin(), it->second.end(), precision) == it->second.end())
      it->second.push_back(precision);
  }
  std::vector<TpBound> bounds;
  for (const auto& [v, names] : values) {
    std::string label = fmt::format("\u2265 {:g}{}", v, unit);
    if (values.size() > 1)
      for (std::size_t i = 0; i < names.size(); ++i) label += (i == 0 ? " " : ", ") + names[i];
    bounds.push_back({v, label});
  }
  return bounds;
}

// What the verdict compared, against tp: the margins of the three comparisons and, with
// frames, their worst frames' PSNR and SSIM against the thresholds.
void verdict_plots(std::string& html, const std::vector<CaseResult>& results, bool frames) {
  html += "<h2>Verdict against tp</h2>\n";
  html += fmt::format(
      "<p class=\"note\">What each case&#39;s verdict compared: the margin of each comparison (worst error over its "
      "budget) must stay below 1{}. Red points fail. The plots of a row share their axis.</p>\n",
      frames ? "; every frame&#39;s PSNR and SSIM must reach the precision&#39;s threshold" : "");
  html += render_tp_legend(
      plot_series(results, [](const CaseResult& r) { return std::optional<Judged>(Judged{r.margin(), false}); }),
      frames ? "budget (margin 1) or threshold" : "budget (margin 1)");

  std::vector<TpPlot> margins;
  for (const ComparisonPlot& c : k_comparisons)
    margins.push_back({fmt::format("plot-margin-{}", c.id), std::string(c.title),
                       plot_series(results,
                                   [&](const CaseResult& r) {
                                     const double m = c.margin(r);
                                     return std::optional<Judged>(Judged{m, !(m < 1)});
                                   }),
                       {{1.0, "budget"}}});
  html += "<h3>Margin: error over budget</h3>\n";
  html += render_tp_plot_row({"margin (log)", true, 0.0, "0",
                              "Points on the dashed line below the axis break: outputs identical bit for bit "
                              "(margin 0).",
                              std::nullopt},
                             margins);
  if (!frames) return;

  struct FrameMetric {
    std::string_view id, heading;
    TpAxis axis;
    double VideoScore::*worst;
    double FrameThresholds::*threshold;
    std::string_view unit;
  };
  const FrameMetric metrics[] = {
      {"psnr", "Frames: PSNR of the worst frame",
       {"min PSNR (dB)", false, std::numeric_limits<double>::infinity(), "inf",
        "Points on the dashed line above the axis break: identical frames (PSNR inf).", std::nullopt},
       &VideoScore::psnr_min_db, &FrameThresholds::min_psnr_db, " dB"},
      {"ssim", "Frames: SSIM of the worst frame", {"min SSIM", false, std::nullopt, "", "", 1.0},
       &VideoScore::ssim_min, &FrameThresholds::min_ssim, ""},
  };
  for (const FrameMetric& m : metrics) {
    std::vector<TpPlot> plots;
    for (const ComparisonPlot& c : k_comparisons)
      plots.push_back({fmt::format("plot-{}-{}", m.id, c.id), std::string(c.title),
                       plot_series(results,
                                   [&](const CaseResult& r) -> std::optional<Judged> {
                                     if (!r.frames) return std::nullopt;
                                     const double v = (*r.frames.*c.video).*m.worst;
                                     return Judged{v, v < r.frames->thresholds.*m.threshold};
                                   }),
                       threshold_bounds(results, m.threshold, m.unit)});
    html += fmt::format("<h3>{}</h3>\n", m.heading);
    html += render_tp_plot_row(m.axis, plots);
  }
}

// ---------------------------------------------------------------------------------------------
// The page

constexpr std::string_view k_style = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 20px 24px; color: #1f2328; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
p { margin: 6px 0; line-height: 1.45; }
.meta { color: #57606a; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; margin: 8px 0; font-size: 13px; }
dl.run dt { color: #57606a; }
dl.run dd { margin: 0; }
dl.run code { word-break: break-all; }
.overall { font-size: 17px; font-weight: 600; }
.overall.pass, td.verdict.pass { color: #1a7f37; }
.overall.fail, td.verdict.fail { color: #cf222e; }
.explain { max-width: 1100px; font-size: 14px; color: #3d444d; }
.explain p { margin: 3px 0; }
.table-wrap { overflow-x: auto; margin-top: 12px; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #d0d7de; padding: 2px 4px; }
th { background: #f3f4f6; font-weight: 600; }
thead tr:first-child th { text-align: center; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { text-align: left; }
td.verdict { text-align: left; font-weight: 600; }
td.margin { background: #f6f8fa; }
/* Where the table is wider than the window, the verdict stays in view at its right edge. */
th.verdict, td.verdict { position: sticky; right: 0; background: #fff;
  box-shadow: inset 1px 0 0 #d0d7de, inset -1px 0 0 #d0d7de; }
th.verdict { background: #f3f4f6; }
tr.reason td { text-align: left; white-space: normal; font-size: 12px; color: #3d444d; border-top: none; }
tr.case.group td { border-top: 2px solid #8c959f; }
tr.fail td { background: #ffebe9; }
tr.fail td:first-child { box-shadow: inset 4px 0 0 #cf222e; }
tr.case.fail td { border-bottom: none; }
td.over { color: #cf222e; font-weight: 600; }
td.identical { color: #8c959f; }
.plot-row { display: flex; flex-wrap: wrap; gap: 12px; }
svg.plot { font-size: 11px; background: #fff; }
svg.plot .title { font-size: 13px; font-weight: 600; }
svg.plot .axis { font-size: 12px; }
svg.plot .frame { fill: none; stroke: #57606a; }
svg.plot .grid { stroke: #d8dee4; }
svg.plot .grid.special { stroke-dasharray: 3 3; }
svg.plot .minor { stroke: #f0f2f4; }
svg.plot .tick, svg.plot .break { stroke: #57606a; fill: none; }
.bound { stroke-width: 1.5; stroke-dasharray: 6 3; }
/* A white halo keeps a threshold's label legible where a series crosses it. */
svg.plot .bound-label { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px;
  stroke-linejoin: round; }
ul.legend { list-style: none; padding: 0; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 4px 18px;
  font-size: 13px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
h3 { font-size: 15px; margin: 16px 0 4px; }
.note { font-size: 13px; color: #57606a; }
figure.case { margin: 18px 0 28px; }
figure.case > figcaption { font-size: 15px; font-weight: 600; margin-bottom: 8px; }
figure.case > figcaption .detail { font-weight: 400; color: #57606a; }
.pictures { display: grid; grid-template-columns: repeat(2, max-content); gap: 14px 18px; }
.pictures figure { margin: 0; }
.pictures img { display: block; image-rendering: pixelated; border: 1px solid #d0d7de; }
.pictures figcaption { font-size: 13px; color: #3d444d; margin-top: 3px; max-width: 420px; }
.pictures .file { color: #8c959f; font-size: 12px; }
svg.colorbar { display: block; margin-top: 3px; font-size: 11px; overflow: visible; }
)";

// The SSIM definitions the cases' frames were scored with (one per run), in words.
std::string frames_ssim_text(const std::vector<CaseResult>& results) {
  std::vector<std::string> kinds;
  for (const CaseResult& r : results)
    if (r.frames) {
      const SsimKind k = r.frames->parity.ssim_kind;
      const std::string text = fmt::format("{} ({})", ssim_kind_name(k), ssim_kind_description(k));
      if (std::find(kinds.begin(), kinds.end(), text) == kinds.end()) kinds.push_back(text);
    }
  return fmt::format("{}", fmt::join(kinds, "; "));
}

void explanation(std::string& html, const std::vector<CaseResult>& results, bool quantized, bool frames) {
  html +=
      "<div class=\"explain\">\n"
      "<p><b>parity</b>: the sharded FFN output against the allgather output, same inputs and precision. "
      "<b>vs reference</b>: each path against the fp64 reference.</p>\n"
      "<p><b>rel L2</b> = \u2016a \u2212 e\u2016 / \u2016e\u2016. <b>margin</b> = the worst error over its budget, "
      "element-wise or norm-wise: below 1 passes (parity&#39;s includes, for schemes with rank-local input "
      "scales, the reduction order: the sharded path with group-wide scales against allgather). The margins "
      "are the verdict, shaded; numbers in red exceed their budget or threshold.</p>\n"
      "<p><b>allclose %</b>: elements outside torch.testing.assert_close&#39;s default tolerance for the dtype: "
      "<b>information only</b>; correct sharded code fails it near zero.</p>\n";
  if (quantized)
    html +=
        "<p><b>scale / order part</b> (quantized schemes): the parity error split into its causes, as rel L2 "
        "against the allgather output: per-token input scales computed over the rank-local shard, and the "
        "reduction order.</p>\n";
  if (frames)
    html +=
        "<p><b>frames</b>: both paths and the reference rolled out through a residual stack of FFN layers and "
        "decoded to 8-bit video; PSNR (dB) and SSIM are the minimum over the frames, <b>ref</b> the worse of "
        "the two paths against the reference&#39;s video; inf = identical frames; <b>parity MAD</b>: the largest "
        "mean absolute difference of a frame, in 8-bit levels; <b>min PSNR / SSIM, max MAD</b>: what every "
        "frame must reach (no MAD limit: -). SSIM: " +
        xml_escape(frames_ssim_text(results)) + ".</p>\n";
  html += "</div>\n";
}

// Where the results came from, one labelled line each: enough to run the sweep again on the
// same build and to tell two reports apart.
void run_header(std::string& html, const RunContext& c) {
  const auto line = [&](std::string_view id, std::string_view label, const std::string& value_html) {
    html += fmt::format("<dt>{}</dt><dd id=\"run-{}\">{}</dd>\n", label, id, value_html);
  };
  html += "<dl class=\"run\">\n";
  line("command", "command", "<code>" + xml_escape(shell_command(c.command)) + "</code>");
  line("version", "version", xml_escape(fmt::format("ffn-parity {}, commit {}", c.version, c.commit)));
  line("backend", "backend", xml_escape(c.backend));
  line("device", "device", xml_escape(c.device));
  line("libraries", "libraries", xml_escape(c.libraries));
  line("date", "date", xml_escape(c.date));
  html += "</dl>\n";
}

std::string cell(const std::string& text, bool over = false) {
  return fmt::format("<td{}>{}</td>", over ? " class=\"over\"" : "", xml_escape(text));
}
std::string margin_cell(double m) {
  return fmt::format("<td class=\"margin{}\">{}</td>", !(m < 1) ? " over" : "", xml_escape(fixed(m, 3)));
}

void summary_table(std::string& html, const std::vector<CaseResult>& results, bool quantized, bool frames) {
  html += "<div class=\"table-wrap\">\n<table id=\"summary\">\n<thead>\n"
          "<tr><th colspan=\"3\">case</th><th colspan=\"4\">parity</th>";
  if (quantized) html += "<th colspan=\"2\">parity parts</th>";
  html += "<th colspan=\"2\">allgather vs ref</th><th colspan=\"2\">sharded vs ref</th>";
  if (frames) html += "<th colspan=\"6\">frames (worst frame)</th>";
  html += "<th rowspan=\"2\" class=\"verdict\">verdict</th></tr>\n<tr><th>tp</th><th>precision</th><th>allreduce</th>"
          "<th>max abs</th><th>rel L2</th><th>margin</th><th>allclose %</th>";
  if (quantized) html += "<th>scale</th><th>order</th>";
  html += "<th>rel L2</th><th>margin</th><th>rel L2</th><th>margin</th>";
  if (frames)
    html += "<th>parity PSNR</th><th>parity SSIM</th><th>parity MAD</th><th>ref PSNR</th><th>ref SSIM</th>"
            "<th>min PSNR / SSIM, max MAD</th>";
  html += "</tr>\n</thead>\n<tbody>\n";

  const int columns = 12 + (quantized ? 2 : 0) + (frames ? 6 : 0);
  std::string previous_precision;
  for (const auto& r : results) {
    const char* status = r.pass ? "pass" : "fail";
    const std::string precision = r.config.precision().name;
    // A rule between precisions: the eye reads a tp series down one block.
    const bool group_start = &r != &results.front() && precision != previous_precision;
    previous_precision = precision;
    html += fmt::format("<tr class=\"case {}{}\" id=\"row-{}\">", status, group_start ? " group" : "",
                        xml_escape(r.config.name()));
    html += fmt::format("<td>{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td>", r.config.tp,
                        xml_escape(r.config.precision().name),
                        xml_escape(std::string(allreduce_model_name(r.config.allreduce))));
    // The parity margin the verdict used: with rank-local input scales it includes the order parity.
    html += cell(sci(r.parity.stats.max_abs)) + cell(sci(rel_l2(r.parity))) + margin_cell(r.parity_margin()) +
            cell(fixed(100.0 * r.parity.stats.mismatch_fraction(), 2));
    if (quantized) html += cell(sci(r.scale_part_rel_l2)) + cell(sci(r.order_part_rel_l2));
    html += cell(sci(rel_l2(r.allgather_ref))) + margin_cell(r.allgather_ref.verdict.margin()) +
            cell(sci(rel_l2(r.sharded_ref))) + margin_cell(r.sharded_ref.verdict.margin());
    if (frames) {
      if (r.frames) {
        const FrameResult& f = *r.frames;
        const FrameThresholds& t = f.thresholds;
        const double ref_psnr = std::min(f.allgather_ref.psnr_min_db, f.sharded_ref.psnr_min_db);
        const double ref_ssim = std::min(f.allgather_ref.ssim_min, f.sharded_ref.ssim_min);
        html += cell(fixed(f.parity.psnr_min_db, 2), f.parity.psnr_min_db < t.min_psnr_db) +
                cell(fixed(f.parity.ssim_min, 4), f.parity.ssim_min < t.min_ssim) +
                cell(fixed(f.parity.mad_max, 4), t.max_mad && f.parity.mad_max > *t.max_mad) +
                cell(fixed(ref_psnr, 2), ref_psnr < t.min_psnr_db) + cell(fixed(ref_ssim, 4), ref_ssim < t.min_ssim) +
                cell(fmt::format("{:g} / {:g}, {}", t.min_psnr_db, t.min_ssim,
                                 t.max_mad ? fmt::format("{:g}", *t.max_mad) : "-"));
      } else {
        html += "<td colspan=\"6\" class=\"identical\">no frames</td>";
      }
    }
    html += fmt::format("<td class=\"verdict {}\">{}</td></tr>\n", status, r.pass ? "PASS" : "FAIL");
    // The reason on a row of its own, as the terminal table prints it: in the verdict cell a
    // long reason would squeeze the column into a tall, narrow strip.
    if (!r.pass)
      html += fmt::format("<tr class=\"reason fail\"><td colspan=\"{}\">FAIL {}: {}</td></tr>\n", columns,
                          xml_escape(r.config.name()), xml_escape(r.reason));
  }
  html += "</tbody>\n</table>\n</div>\n";
}

std::string picture_html(const Picture& p, const std::string& alt, const std::string& caption,
                         const std::string& extra = {}) {
  return fmt::format(
      "<figure><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\" data-file=\"{}\"/>{}<figcaption>{} "
      "<span class=\"file\">{}</span></figcaption></figure>\n",
      p.data_uri, p.width, p.height, xml_escape(alt), xml_escape(p.file), extra, xml_escape(caption),
      xml_escape(p.file));
}

// Of each precision, the case whose frames differ most between the paths (lowest parity SSIM,
// then PSNR), in the sweep's order: the precisions side by side. Cases whose paths decode to
// identical frames have nothing to show.
std::vector<std::size_t> worst_case_per_precision(const std::vector<CaseResult>& results) {
  auto worse = [](const VideoScore& x, const VideoScore& y) {
    return x.ssim_min != y.ssim_min ? x.ssim_min < y.ssim_min : x.psnr_min_db < y.psnr_min_db;
  };
  std::vector<std::size_t> shown;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CaseResult& r = results[i];
    if (!r.frames || !std::isfinite(r.frames->parity.psnr_min_db)) continue;
    const auto same = std::find_if(shown.begin(), shown.end(), [&](std::size_t j) {
      return results[j].config.precision().name == r.config.precision().name;
    });
    if (same == shown.end()) shown.push_back(i);
    else if (worse(r.frames->parity, results[*same].frames->parity)) *same = i;
  }
  return shown;
}

// The worst parity frame of a shown case, and what its maps are made of.
struct WorstFrame {
  std::size_t case_index = 0, frame = 0;
  cv::Mat difference, ssim_map;
  double largest_difference = 0, lowest_ssim = 1;
};

// The worst parity frame of the worst case of each precision, with its difference heatmap and
// SSIM map on the report's scales. Returns the names of the pictures written.
std::set<std::string> worst_frames(std::string& html, const fs::path& dir, const std::vector<CaseResult>& results) {
  std::vector<WorstFrame> shown;
  double largest_difference = 0, lowest_ssim = 1;
  for (const std::size_t i : worst_case_per_precision(results)) {
    const FrameResult& f = *results[i].frames;
    WorstFrame w{i, f.parity.worst_frame, {}, {}, 0, 1};
    const cv::Mat &a = f.videos.allgather[w.frame], &b = f.videos.sharded[w.frame];
    w.difference = largest_channel_difference(a, b);
    cv::minMaxLoc(w.difference, nullptr, &w.largest_difference);
    ssim(a, b, &w.ssim_map, f.parity.ssim_kind);
    cv::minMaxLoc(w.ssim_map, &w.lowest_ssim, nullptr);
    largest_difference = std::max(largest_difference, w.largest_difference);
    lowest_ssim = std::min(lowest_ssim, w.lowest_ssim);
    shown.push_back(std::move(w));
  }

  html += "<h2>Worst frames</h2>\n";
  if (shown.empty()) {
    html += "<p>Every case decodes to identical frames on both paths: nothing to show.</p>\n";
    return {};
  }
  const MapScales scales = MapScales::of(largest_difference, lowest_ssim);
  // The colour bars' end labels, which the captions repeat.
  const std::string brightest_difference = fmt::format("\u2265 {:.3g} levels", scales.brightest_difference());
  const std::string brightest_ssim = fmt::format("{:.4f}", scales.lowest_ssim);
  html += fmt::format(
      "<p class=\"note\">Of each precision, the frame with the lowest parity SSIM of its worst case by parity SSIM "
      "(cases whose paths decode to identical frames are left out). Pixels are enlarged as blocks. All heatmaps "
      "share one colour scale (\u00d7{} gain: black 0, brightest {}), all SSIM maps another (black 1, brightest "
      "{}, the lowest SSIM shown): equal colours are equal differences.</p>\n",
      scales.gain, xml_escape(brightest_difference), brightest_ssim);
  int colorbar_id = 0;
  std::set<std::string> written;
  for (const WorstFrame& w : shown) {
    const CaseResult& r = results[w.case_index];
    const FrameResult& f = *r.frames;
    const FrameScore& score = f.parity.frames[w.frame];
    const cv::Mat &a = f.videos.allgather[w.frame], &b = f.videos.sharded[w.frame];
    const std::string stem = fmt::format("case{:02}-tp{}-{}-{}-frame{}", w.case_index, r.config.tp,
                                         r.config.precision().name, allreduce_model_name(r.config.allreduce), w.frame);
    const Picture pa = save_picture(dir, stem + "-allgather.png", a);
    const Picture pb = save_picture(dir, stem + "-sharded.png", b);
    const Picture ph = save_picture(dir, stem + "-diff.png", heatmap(w.difference, scales));
    const Picture ps = save_picture(dir, stem + "-ssim.png", ssim_picture(w.ssim_map, scales));
    written.insert({pa.file, pb.file, ph.file, ps.file});

    html += fmt::format(
        "<figure class=\"case\" id=\"frames-{}\">\n<figcaption>{}: frame {} (frames 0\u2013{}) <span class=\"detail\">"
        "parity PSNR {} dB, SSIM {:.4f} (case: min PSNR {} dB, min SSIM {:.4f}; {})</span></figcaption>\n"
        "<div class=\"pictures\">\n",
        xml_escape(r.config.name()), xml_escape(case_label(r.config)), w.frame, f.videos.allgather.size() - 1,
        fixed(score.psnr_db, 2), score.ssim, fixed(f.parity.psnr_min_db, 2), f.parity.ssim_min,
        r.pass ? "PASS" : "FAIL");
    html += picture_html(pa, "allgather frame", fmt::format("allgather, frame {} ({}x{} px)", w.frame, a.cols, a.rows));
    html += picture_html(pb, "sharded frame", fmt::format("sharded, frame {}", w.frame));
    html += picture_html(ph, "absolute difference heatmap",
                         fmt::format("|allgather \u2212 sharded|, largest channel: up to {:g} of 255 levels here; "
                                     "report scale \u00d7{}, black 0, brightest {}",
                                     w.largest_difference, scales.gain, brightest_difference),
                         colorbar(ph.width, "0", brightest_difference, colorbar_id++));
    html += picture_html(ps, "SSIM map",
                         fmt::format("SSIM map (channel mean): down to {:.4f} here; report scale black 1, "
                                     "brightest {}",
                                     w.lowest_ssim, brightest_ssim),
                         colorbar(ps.width, "1", brightest_ssim, colorbar_id++));
    html += "</div>\n</figure>\n";
  }
  return written;
}

// What worst_frames names its pictures: a file so named that this report did not write is an
// earlier report's, and would be mistaken for one of this run's.
bool is_report_picture(const std::string& name) {
  static const std::regex pattern(R"(case[0-9]{2,}-tp[0-9]+-.+-frame[0-9]+-(allgather|sharded|diff|ssim)\.png)");
  return std::regex_match(name, pattern);
}

void remove_stale_pictures(const fs::path& dir, const std::set<std::string>& written) {
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (is_report_picture(name) && !written.contains(name)) stale.push_back(entry.path());
  }
  for (const fs::path& path : stale) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec)
      throw std::runtime_error(
          fmt::format("{}: cannot remove the previous report's picture: {}", path.string(), ec.message()));
  }
}

void write_file(const fs::path& path, const std::string& text) {
  // Through a temporary and a rename: a reader never sees half a page.
  const fs::path tmp = fs::path(path).concat(".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write: {}", tmp.string(), std::strerror(errno)));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot write: {}", path.string(), ec.message()));
}

}  // namespace

void prepare_report_dir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw std::runtime_error(fmt::format("{}: exists and is not a directory", dir));
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the directory: {}", dir, ec.message()));
  // Permissions alone do not tell (root, read-only mounts): try what the report will do.
  const fs::path probe = fs::path(dir) / fmt::format(".ffn-parity-probe-{}", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot write in the directory: {}", dir, std::strerror(errno)));
  ::close(fd);
  fs::remove(probe, ec);
}

std::string write_html_report(const std::string& dir, const RunContext& context, const SweepConfig& sweep,
                              const std::vector<CaseResult>& results) {
  prepare_report_dir(dir);
  bool quantized = false, frames = false;
  std::size_t passed = 0;
  for (const auto& r : results) {
    quantized |= !std::isnan(r.scale_part_rel_l2);
    frames |= r.frames.has_value();
    passed += r.pass;
  }
  const std::size_t failed = results.size() - passed;

  std::string html;
  html += fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>ffn-parity report: {}, {} cases, {} failed</title>\n<style>{}</style>\n</head>\n<body>\n",
      xml_escape(sweep.shape.name), results.size(), failed, k_style);
  html += "<h1>ffn-parity report</h1>\n";
  run_header(html, context);
  std::string meta = fmt::format("shape {} (dim {}, inner {}) \u00b7 {} tokens \u00b7 seed {}", sweep.shape.name,
                                 sweep.shape.dim, sweep.shape.inner, sweep.tokens, sweep.seed);
  if (sweep.outlier_channels > 0)
    meta += fmt::format(" \u00b7 {} outlier channels \u00d7{}", sweep.outlier_channels, sweep.outlier_scale);
  if (frames)
    for (const auto& r : results)
      if (r.frames && !r.frames->videos.allgather.empty()) {
        const Video& v = r.frames->videos.allgather;
        meta += fmt::format(" \u00b7 frames: {} of {}x{} px", v.size(), v.front().cols, v.front().rows);
        break;
      }
  html += "<p class=\"meta\">" + xml_escape(meta) + "</p>\n";
  html += fmt::format("<p class=\"overall {}\">{} passed, {} failed</p>\n", failed ? "fail" : "pass", passed, failed);

  html += "<h2>Summary</h2>\n";
  explanation(html, results, quantized, frames);
  summary_table(html, results, quantized, frames);

  verdict_plots(html, results, frames);

  const std::set<std::string> pictures = frames ? worst_frames(html, dir, results) : std::set<std::string>{};
  html += "</body>\n</html>\n";
  const fs::path index = fs::path(dir) / "index.html";
  write_file(index, html);
  remove_stale_pictures(dir, pictures);
  return index.string();
}

}  // namespace ffn
