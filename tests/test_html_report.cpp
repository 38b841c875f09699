// The HTML report: a well-formed, self-contained page with the run's provenance at the top,
// one row per case with the margins the verdict used, embedded PNGs that decode to the
// pictures written next to it (and no other pictures there, after a re-run), plots of every
// comparison with their bounds and failing points in red, heatmaps and SSIM maps on one colour
// scale, and failing cases marked.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/report/html_report.hpp"
#include "harness/run/case_runner.hpp"
#include "harness/tp/shape.hpp"
#include "metrics/frames.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
namespace fs = std::filesystem;

using ffn::test::TempDir;

namespace {

// What the header shows; an argument with a space and a quote, as a shell would need it quoted.
RunContext test_context() {
  return {{"build/harness/ffn-parity", "run", "--report", "it's here", "--tp", "1,2"},
          "9.8.7", "abc123def456-dirty", "cpu", "Test CPU 9000 @ 3.0GHz", "OpenBLAS 0.3.21, OpenCV 4.6.0",
          "2026-01-02T03:04:05Z"};
}

SweepConfig tiny_sweep() {
  SweepConfig s;
  s.shape = *find_shape("tiny");
  s.tokens = s.shape.default_tokens;
  s.tps = {1, 2};
  s.precisions = {DType::bf16, *find_precision("fp8-dynamic")};
  return s;
}

FrameOptions small_rollout() {
  FrameOptions f;
  f.rollout = {2, 2, 4, 6, 4};  // 2 layers, 2 frames of 4x6 tokens, 4-pixel patches: 24x16 px
  return f;
}

std::vector<CaseResult> run_with(const FrameOptions& frames) {
  return run_cases(expand(tiny_sweep()), {}, {}, &frames);
}

// Catch2 runs a test case once per section: the sweep runs once.
const std::vector<CaseResult>& passing_results() {
  static const std::vector<CaseResult> results = run_with(small_rollout());
  return results;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t i = text.find(what); i != std::string::npos; i = text.find(what, i + what.size())) ++n;
  return n;
}

// Every opened tag of the tracked kinds is closed, innermost first; an <img> must close itself
// ("/>"), as a void element has no end tag. Returns the first problem, or "" when balanced.
std::string tag_balance_problem(const std::string& html) {
  static const std::set<std::string> tracked{"html", "head", "body", "table", "tr", "td", "th",
                                             "svg",  "figure", "img", "div", "p", "h1", "h2", "h3",
                                             "dl",   "dt",     "dd",  "code", "ul", "li"};
  std::vector<std::string> open;
  for (std::size_t i = html.find('<'); i != std::string::npos; i = html.find('<', i)) {
    if (html.compare(i, 4, "<!--") == 0) {
      i = html.find("-->", i);
      if (i == std::string::npos) return "unterminated comment";
      continue;
    }
    const std::size_t end = html.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    const std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.starts_with('!')) continue;  // DOCTYPE
    const bool closing = tag.starts_with('/');
    const bool self_closing = tag.ends_with('/');
    std::string name;
    for (std::size_t k = closing ? 1 : 0; k < tag.size() && std::isalnum(static_cast<unsigned char>(tag[k])); ++k)
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(tag[k])));
    if (!tracked.contains(name)) continue;
    if (closing) {
      if (open.empty()) return "</" + name + "> closes nothing";
      if (open.back() != name) return "</" + name + "> closes <" + open.back() + ">";
      open.pop_back();
    } else if (!self_closing) {
      if (name == "img") return "<img> without />";
      open.push_back(name);
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

std::vector<uchar> base64_decode(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uchar> out;
  unsigned bits = 0;
  int count_bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    const std::size_t v = alphabet.find(c);
    if (v == std::string::npos) throw std::invalid_argument("not base64");
    bits = (bits << 6) | static_cast<unsigned>(v);
    count_bits += 6;
    if (count_bits >= 8) {
      count_bits -= 8;
      out.push_back(static_cast<uchar>((bits >> count_bits) & 0xff));
    }
  }
  return out;
}

std::string attribute(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const std::size_t start = tag.find(key);
  if (start == std::string::npos) return {};
  const std::size_t from = start + key.size();
  return tag.substr(from, tag.find('"', from) - from);
}

std::vector<std::string> img_tags(const std::string& html) {
  std::vector<std::string> tags;
  for (std::size_t i = html.find("<img "); i != std::string::npos; i = html.find("<img ", i + 1))
    tags.push_back(html.substr(i, html.find('>', i) - i + 1));
  return tags;
}

// The class tokens of each row of the summary table that stands for a case.
std::vector<std::set<std::string>> case_rows(const std::string& html) {
  const std::size_t start = html.find("<table id=\"summary\"");
  const std::string table = html.substr(start, html.find("</table>", start) - start);
  std::vector<std::set<std::string>> rows;
  for (std::size_t i = table.find("<tr"); i != std::string::npos; i = table.find("<tr", i + 1)) {
    std::istringstream classes(attribute(table.substr(i, table.find('>', i) - i), "class"));
    std::set<std::string> tokens{std::istream_iterator<std::string>(classes), {}};
    if (tokens.contains("case")) rows.push_back(std::move(tokens));
  }
  return rows;
}

// The text inside the element with this id, tags included, up to the element's end tag.
std::string element_text(const std::string& html, const std::string& tag, const std::string& id) {
  const std::size_t start = html.find("<" + tag + " id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  const std::size_t from = html.find('>', start) + 1;
  return html.substr(from, html.find("</" + tag + ">", from) - from);
}

// The texts of the cells of this class in the table row with this id, in order.
std::vector<std::string> cells_of_class(const std::string& html, const std::string& row_id, const std::string& cls) {
  const std::size_t start = html.find("<tr class=\"case");
  const std::size_t row = html.find("id=\"" + row_id + "\"", start);
  if (row == std::string::npos) return {};
  const std::string tr = html.substr(row, html.find("</tr>", row) - row);
  std::vector<std::string> texts;
  const std::string open = "<td class=\"" + cls;
  for (std::size_t i = tr.find(open); i != std::string::npos; i = tr.find(open, i + 1)) {
    const std::size_t from = tr.find('>', i) + 1;
    texts.push_back(tr.substr(from, tr.find("</td>", from) - from));
  }
  return texts;
}

// The inline SVG element with this id, from its start tag to its end tag.
std::string svg_with_id(const std::string& html, const std::string& id) {
  const std::size_t start = html.find("<svg id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  return html.substr(start, html.find("</svg>", start) + 6 - start);
}

// Pictures are enlarged by whole factors to at least 384 pixels wide.
cv::Size expected_picture_size(const cv::Mat& frame) {
  const int factor = frame.cols >= 384 ? 1 : (384 + frame.cols - 1) / frame.cols;
  return {frame.cols * factor, frame.rows * factor};
}

// The files of a report directory, by name.
std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// The files the page's pictures name, each once.
std::multiset<std::string> referenced_files(const std::string& html) {
  std::multiset<std::string> files;
  for (const auto& tag : img_tags(html)) files.insert(attribute(tag, "data-file"));
  return files;
}

// The embedded picture of this kind ("diff", "ssim", ...) in the worst-frames figure of a case.
cv::Mat figure_picture(const std::string& html, const std::string& case_name, const std::string& kind) {
  const std::size_t start = html.find("<figure class=\"case\" id=\"frames-" + case_name + "\"");
  if (start == std::string::npos) return {};
  const std::string figure = html.substr(start, html.find("</div>\n</figure>", start) - start);
  for (const auto& tag : img_tags(figure))
    if (attribute(tag, "data-file").ends_with("-" + kind + ".png")) {
      const std::string src = attribute(tag, "src");
      return cv::imdecode(base64_decode(src.substr(src.find(',') + 1)), cv::IMREAD_COLOR);
    }
  return {};
}

// The texts from the end of each tag that starts with `open` to the next `close`, in order.
std::vector<std::string> between(const std::string& text, const std::string& open, const std::string& close) {
  std::vector<std::string> parts;
  for (std::size_t i = text.find(open); i != std::string::npos; i = text.find(open, i + 1)) {
    const std::size_t from = text.find('>', i) + 1;
    parts.push_back(text.substr(from, text.find(close, from) - from));
  }
  return parts;
}

// The highest level of the inferno colormap a picture shows (its colours are the colormap's).
int hottest_level(const cv::Mat& picture) {
  cv::Mat ramp(1, 256, CV_8UC1), colors;
  for (int i = 0; i < 256; ++i) ramp.at<uchar>(0, i) = static_cast<uchar>(i);
  cv::applyColorMap(ramp, colors, cv::COLORMAP_INFERNO);
  int hottest = -1;
  for (int y = 0; y < picture.rows; ++y)
    for (int x = 0; x < picture.cols; ++x)
      for (int level = 255; level > hottest; --level)
        if (colors.at<cv::Vec3b>(0, level) == picture.at<cv::Vec3b>(y, x)) {
          hottest = level;
          break;
        }
  return hottest;
}

std::size_t cases_with_differing_frames(const std::vector<CaseResult>& results) {
  std::size_t n = 0;
  for (const auto& r : results) n += std::isfinite(r.frames->parity.psnr_min_db);
  return n;
}

}  // namespace

TEST_CASE("html report: the report of a passing sweep with frames is a well-formed, self-contained page") {
  const std::vector<CaseResult>& results = passing_results();
  REQUIRE(results.size() == 4);
  for (const auto& r : results) REQUIRE(r.pass);
  TempDir dir("ffn-html-report-test");
  write_html_report((dir.path() / "report").string(), test_context(), tiny_sweep(), results);
  const fs::path index = dir.path() / "report" / "index.html";
  REQUIRE(fs::is_regular_file(index));
  const std::string html = read_text(index);

  SECTION("well-formed") {
    CHECK(html.starts_with("<!DOCTYPE html>"));
    CHECK(count(html, "<html") == 1);
    INFO(tag_balance_problem(html));
    CHECK(tag_balance_problem(html).empty());
  }
  SECTION("the header: command line, version and commit, backend, device, date") {
    CHECK(element_text(html, "dd", "run-command") ==
          "<code>build/harness/ffn-parity run --report &apos;it&apos;\\&apos;&apos;s here&apos; --tp 1,2</code>");
    CHECK(element_text(html, "dd", "run-version") == "ffn-parity 9.8.7, commit abc123def456-dirty");
    CHECK(element_text(html, "dd", "run-backend") == "cpu");
    CHECK(element_text(html, "dd", "run-device") == "Test CPU 9000 @ 3.0GHz");
    CHECK(element_text(html, "dd", "run-libraries") == "OpenBLAS 0.3.21, OpenCV 4.6.0");
    CHECK(element_text(html, "dd", "run-date") == "2026-01-02T03:04:05Z");
  }
  SECTION("one row per case, none marked failing") {
    const auto rows = case_rows(html);
    CHECK(rows.size() == results.size());
    for (const auto& row : rows) CHECK((row.contains("pass") && !row.contains("fail")));
  }
  SECTION("the margins are the verdict's: parity with its order part, each path against the reference") {
    for (const auto& r : results) {
      INFO(r.config.name());
      const std::vector<std::string> margins = cells_of_class(html, "row-" + r.config.name(), "margin");
      REQUIRE(margins.size() == 3);
      CHECK(margins[0] == fmt::format("{:.3f}", r.parity_margin()));
      CHECK(margins[1] == fmt::format("{:.3f}", r.allgather_ref.verdict.margin()));
      CHECK(margins[2] == fmt::format("{:.3f}", r.sharded_ref.verdict.margin()));
    }
  }
  SECTION("self-contained") {
    CHECK(count(html, "http://") == 0);
    CHECK(count(html, "https://") == 0);
    CHECK(count(html, "src=\"/") == 0);
    CHECK(count(html, "<script") == 0);
    CHECK(count(html, "<link") == 0);
  }
  SECTION("embedded pictures decode to the PNG files next to the page") {
    // tp 1 decodes to identical frames and is left out: the tp 2 cases are shown.
    const std::size_t shown = std::min<std::size_t>(3, cases_with_differing_frames(results));
    REQUIRE(shown == 2);
    CHECK(count(html, "<figure class=\"case\"") == shown);
    const std::vector<std::string> tags = img_tags(html);
    REQUIRE(tags.size() == 4 * shown);  // allgather, sharded, difference, SSIM map
    const cv::Size expected = expected_picture_size(results.front().frames->videos.allgather.front());
    CHECK(expected.width >= 384);
    for (const auto& tag : tags) {
      INFO(tag.substr(0, 200));
      const std::string src = attribute(tag, "src");
      const std::string prefix = "data:image/png;base64,";
      REQUIRE(src.starts_with(prefix));
      const cv::Mat embedded = cv::imdecode(base64_decode(src.substr(prefix.size())), cv::IMREAD_UNCHANGED);
      REQUIRE(!embedded.empty());
      CHECK(embedded.size() == expected);
      CHECK(embedded.type() == CV_8UC3);
      const fs::path file = dir.path() / "report" / attribute(tag, "data-file");
      REQUIRE(fs::is_regular_file(file));
      const cv::Mat written = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
      REQUIRE(written.size() == embedded.size());
      CHECK(cv::norm(written, embedded, cv::NORM_INF) == 0);
    }
    std::size_t pngs = 0;
    for (const auto& e : fs::directory_iterator(dir.path() / "report"))
      if (e.path().extension() == ".png") {
        ++pngs;
        CHECK(!cv::imread(e.path().string()).empty());
      }
    CHECK(pngs == tags.size());
  }
  SECTION("plots: every comparison the verdict judged, one line per series, the bounds, no failing point") {
    for (const std::string comparison : {"parity", "allgather", "sharded"}) {
      const std::string margin = svg_with_id(html, "plot-margin-" + comparison);
      INFO(comparison);
      REQUIRE(!margin.empty());
      CHECK(count(margin, "<polyline") == 2);  // bf16 / ring, fp8-dynamic / ring
      CHECK(count(margin, "bf16 / ring") >= 1);
      CHECK(count(margin, "fp8-dynamic / ring") >= 1);
      CHECK(count(margin, "<line class=\"bound\"") == 1);  // the budget, margin 1
      for (const std::string metric : {"psnr", "ssim"}) {
        const std::string plot = svg_with_id(html, "plot-" + metric + "-" + comparison);
        INFO(metric);
        REQUIRE(!plot.empty());
        CHECK(count(plot, "<polyline") == 2);
        CHECK(count(plot, "<line class=\"bound\"") == 2);  // the thresholds of bf16 and fp8-dynamic
      }
    }
    CHECK(count(html, "class=\"point fail\"") == 0);
    // The parity margin plotted is the verdict's: fp8-dynamic's includes its order parity.
    REQUIRE(results[3].config.name() == "tiny/t8/tp2/fp8-dynamic/ring/s0");
    const std::string fp8_tp2 = fmt::format("fp8-dynamic / ring, tp 2: {:.3g}<", results[3].parity_margin());
    CHECK(count(svg_with_id(html, "plot-margin-parity"), fp8_tp2) == 1);
  }
}

TEST_CASE("html report: failing cases are marked and their reasons escaped") {
  FrameOptions frames = small_rollout();
  frames.min_psnr_db = 1000;  // no rollout reaches it against the reference
  const std::vector<CaseResult> results = run_with(frames);
  for (const auto& r : results) REQUIRE(!r.pass);
  TempDir dir("ffn-html-report-test");
  write_html_report(dir.path().string(), test_context(), tiny_sweep(), results);
  const std::string html = read_text(dir.path() / "index.html");
  INFO(tag_balance_problem(html));
  CHECK(tag_balance_problem(html).empty());
  const auto rows = case_rows(html);
  CHECK(rows.size() == results.size());
  for (const auto& row : rows) CHECK(row.contains("fail"));
  for (const auto& r : results) CHECK(count(html, "FAIL " + r.config.name() + ": ") == 1);
  CHECK(count(html, "<td class=\"verdict fail\">FAIL") == results.size());
  CHECK(count(html, "&lt; 1000 dB") >= results.size());  // "min PSNR ... < 1000 dB", escaped
  CHECK(count(html, "< 1000 dB") == 0);
  CHECK(count(html, "0 failed") == 0);
  // Red where a comparison failed: every path against the reference below 1000 dB, parity
  // where the paths' frames differ (tp 2); the margins hold.
  for (const std::string comparison : {"allgather", "sharded"})
    CHECK(count(svg_with_id(html, "plot-psnr-" + comparison), "class=\"point fail\"") == results.size());
  CHECK(count(svg_with_id(html, "plot-psnr-parity"), "class=\"point fail\"") == cases_with_differing_frames(results));
  for (const std::string comparison : {"parity", "allgather", "sharded"})
    CHECK(count(svg_with_id(html, "plot-margin-" + comparison), "class=\"point fail\"") == 0);
}

TEST_CASE("html report: a report directory that cannot be made is refused naming it") {
  TempDir dir("ffn-html-report-test");
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "file") << "x";
  const std::string bad = (dir.path() / "file" / "report").string();
  CHECK_THROWS_WITH(prepare_report_dir(bad), Catch::Matchers::StartsWith(bad));
  CHECK_THROWS_AS(write_html_report(bad, test_context(), tiny_sweep(), {}), std::runtime_error);
}

TEST_CASE("html report: re-running into a directory replaces the previous run's files") {
  const std::vector<CaseResult>& all = passing_results();
  TempDir dir("ffn-html-report-test");
  const fs::path report = dir.path() / "report";
  write_html_report(report.string(), test_context(), tiny_sweep(), all);
  const std::set<std::string> first = files_in(report);
  std::ofstream(report / "notes.txt") << "not the report's";

  // The bf16 cases alone: the fp8-dynamic pictures of the first run are stale now.
  const std::vector<CaseResult> bf16(all.begin(), all.begin() + 2);
  REQUIRE(bf16.back().config.precision().name == std::string("bf16"));
  write_html_report(report.string(), test_context(), tiny_sweep(), bf16);
  const std::string html = read_text(report / "index.html");
  const std::multiset<std::string> referenced = referenced_files(html);
  REQUIRE(!referenced.empty());
  std::set<std::string> expected(referenced.begin(), referenced.end());
  CHECK(expected.size() == referenced.size());  // one picture per file
  expected.insert({"index.html", "notes.txt"});
  CHECK(files_in(report) == expected);
  // Some of the first run's pictures were not the second's: those were stale.
  CHECK(std::any_of(first.begin(), first.end(), [&](const std::string& f) { return !expected.contains(f); }));
}

TEST_CASE("html report: a previous run's picture that cannot be removed is named") {
  TempDir dir("ffn-html-report-test");
  // Named as the report names its pictures, but a directory with something in it.
  const fs::path stale = dir.path() / "case07-tp8-bf16-ring-frame3-diff.png";
  fs::create_directories(stale / "inside");
  try {
    write_html_report(dir.path().string(), test_context(), tiny_sweep(), passing_results());
    FAIL("a stale picture that cannot be removed went unreported");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith(stale.string() + ": cannot remove"));
  }
}

// Four precisions at tp 2, whose frames differ by a level (bf16) to many (nvfp4).
SweepConfig four_precisions_sweep() {
  SweepConfig sweep = tiny_sweep();
  sweep.tps = {2};
  sweep.precisions = {DType::bf16, DType::fp16, *find_precision("fp8-dynamic"), *find_precision("nvfp4")};
  return sweep;
}

TEST_CASE("html report: the worst frames of each precision, on one colour scale, as the colour bars say") {
  const FrameOptions frames = small_rollout();
  std::vector<CaseResult> results = run_cases(expand(four_precisions_sweep()), {}, {}, &frames);
  REQUIRE(cases_with_differing_frames(results) == 4);
  // The rollout is small and its frames differ by a few levels: a blemish 40 levels deep on
  // nvfp4's sharded frame makes one map far hotter than the others.
  FrameResult& nvfp4 = *results.back().frames;
  cv::Mat& blemished = nvfp4.videos.sharded[nvfp4.parity.worst_frame];
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      for (uchar& v : blemished.at<cv::Vec3b>(y, x).val) v = static_cast<uchar>(v < 128 ? v + 40 : v - 40);
  TempDir dir("ffn-html-report-test");
  write_html_report(dir.path().string(), test_context(), four_precisions_sweep(), results);
  const std::string html = read_text(dir.path() / "index.html");

  SECTION("one figure per precision") {
    for (const auto& r : results) CHECK(count(html, "<figure class=\"case\" id=\"frames-" + r.config.name()) == 1);
  }
  SECTION("a level of difference, an SSIM value, is the same colour in every map") {
    std::vector<double> diff_gains, largest_diffs, lowest_ssims;
    std::vector<int> ssim_levels;
    for (const auto& r : results) {
      const cv::Mat heat = figure_picture(html, r.config.name(), "diff");
      const cv::Mat ssim_picture = figure_picture(html, r.config.name(), "ssim");
      if (heat.empty() || ssim_picture.empty()) continue;  // not shown: the section above fails
      const std::size_t w = r.frames->parity.worst_frame;
      const cv::Mat &a = r.frames->videos.allgather[w], &b = r.frames->videos.sharded[w];
      cv::Mat diff, map;
      cv::absdiff(a, b, diff);
      double largest = 0, lowest = 1;
      cv::minMaxLoc(diff.reshape(1), nullptr, &largest);
      ssim(a, b, &map);
      cv::minMaxLoc(map, &lowest, nullptr);
      diff_gains.push_back(hottest_level(heat) / largest);
      largest_diffs.push_back(largest);
      ssim_levels.push_back(hottest_level(ssim_picture));
      lowest_ssims.push_back(lowest);
    }
    REQUIRE(largest_diffs.size() >= 2);
    REQUIRE(*std::min_element(largest_diffs.begin(), largest_diffs.end()) * 4 <
            *std::max_element(largest_diffs.begin(), largest_diffs.end()));
    for (const double gain : diff_gains) CHECK(gain == diff_gains.front());
    // The report's lowest SSIM is the top of the scale; another map reaches its share of it.
    const double report_lowest = *std::min_element(lowest_ssims.begin(), lowest_ssims.end());
    for (std::size_t i = 0; i < lowest_ssims.size(); ++i)
      CHECK(std::abs(ssim_levels[i] - 255 * (1 - lowest_ssims[i]) / (1 - report_lowest)) <= 1);
  }
  SECTION("every colour bar of a kind is the same, its end label the one its caption names") {
    for (const std::string kind : {"diff", "ssim"}) {
      INFO(kind);
      std::set<std::string> bars;
      for (const std::string& picture : between(html, "<figure>", "</figure>")) {
        if (picture.find("-" + kind + ".png") == std::string::npos) continue;
        const std::vector<std::string> labels = between(picture, "<text", "</text>");
        REQUIRE(labels.size() == 2);
        const std::string caption = between(picture, "<figcaption", "</figcaption>").front();
        CHECK_THAT(caption, Catch::Matchers::Contains(labels.back()));
        bars.insert(labels.front() + " .. " + labels.back());
      }
      CHECK(bars.size() == 1);
    }
  }
}
