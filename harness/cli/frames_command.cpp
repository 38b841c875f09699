#include "harness/cli/frames_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "goldens/golden_file.hpp"
#include "goldens/golden_frames.hpp"
#include "harness/cli/output_paths.hpp"
#include "harness/cli/ssim_option.hpp"
#include "harness/cli/validators.hpp"
#include "harness/version.hpp"
#include "metrics/frame_io.hpp"
#include "metrics/streamed_comparison.hpp"

namespace ffn::cli {

namespace {

namespace fs = std::filesystem;

// Every error line names the subcommand it came from.
constexpr const char* k_compare_err = "ffn-parity frames compare: error: ";
constexpr const char* k_bless_err = "ffn-parity frames bless: error: ";
// A PNG directory carries no frame rate; LTX-2 renders at 24 fps.
constexpr double k_default_fps = 24;

// ---- compare --------------------------------------------------------------------------

struct CompareOptions {
  std::string a, b;
  std::optional<double> min_psnr, min_ssim, max_mad;
  std::string ssim = std::string(ssim_kind_name(SsimKind::gaussian));
  std::string format = "table";

  SsimKind ssim_kind() const { return *ssim_kind_of(ssim); }
};

bool frame_passes(const FrameScore& f, const CompareOptions& o) {
  return (!o.min_psnr || f.psnr_db >= *o.min_psnr) && (!o.min_ssim || f.ssim >= *o.min_ssim) &&
         (!o.max_mad || f.mad <= *o.max_mad);
}

std::string thresholds_text(const CompareOptions& o) {
  std::vector<std::string> parts;
  if (o.min_psnr) parts.push_back(fmt::format("psnr >= {} dB", *o.min_psnr));
  if (o.min_ssim) parts.push_back(fmt::format("ssim >= {}", *o.min_ssim));
  if (o.max_mad) parts.push_back(fmt::format("mad <= {}", *o.max_mad));
  return fmt::format("{}", fmt::join(parts, " and "));
}

void print_table(const CompareOptions& o, const VideoScore& s, std::size_t failed) {
  fmt::print("# ffn-parity frames compare: {} frames of {}x{}\n#  A: {}\n#  B: {}\n", s.frames.size(), s.frame_size.width, s.frame_size.height,
             o.a, o.b);
  fmt::print("# psnr = 10 log10(255^2 / MSE) over all pixels and channels (inf: identical); ssim ({}) = {}; "
             "mad = mean absolute difference over all pixels and channels, 8-bit levels\n",
             ssim_kind_name(s.ssim_kind), ssim_kind_description(s.ssim_kind));
  fmt::print("# frame  psnr_db    ssim      mad\n");
  for (std::size_t i = 0; i < s.frames.size(); ++i)
    fmt::print("{:>7} {:>8.2f}  {:.4f} {:>8.4f}{}\n", i, s.frames[i].psnr_db, s.frames[i].ssim, s.frames[i].mad,
               frame_passes(s.frames[i], o) ? "" : "  FAIL");
  fmt::print("psnr {:.2f} dB (of the mean MSE), min {:.2f} dB at frame {}; ssim mean {:.4f}, min {:.4f} at frame {}; "
             "mad mean {:.4f}, max {:.4f} at frame {}\n",
             s.psnr_mean_db, s.psnr_min_db, s.worst_psnr_frame, s.ssim_mean, s.ssim_min, s.worst_frame, s.mad_mean,
             s.mad_max, s.worst_mad_frame);
  if (!o.min_psnr && !o.min_ssim && !o.max_mad)
    fmt::print("no thresholds given (--min-psnr, --min-ssim, --max-mad): information only\n");
  else if (failed == 0)
    fmt::print("PASS: every frame has {}\n", thresholds_text(o));
  else
    fmt::print("FAIL: {} of {} frames miss {}\n", failed, s.frames.size(), thresholds_text(o));
}

void print_json(const CompareOptions& o, const VideoScore& s, std::size_t failed) {
  using nlohmann::json;
  // JSON has no infinities: identical frames (PSNR +inf) are written "inf", as `run` does.
  const auto psnr = [](double db) { return std::isinf(db) ? json("inf") : json(db); };
  json frames = json::array();
  for (std::size_t i = 0; i < s.frames.size(); ++i)
    frames.push_back({{"frame", i}, {"psnr_db", psnr(s.frames[i].psnr_db)}, {"ssim", s.frames[i].ssim},
                      {"mad", s.frames[i].mad}, {"pass", frame_passes(s.frames[i], o)}});
  const json doc = {{"tool", "ffn-parity"},
                    {"version", k_version},
                    {"command", "frames compare"},
                    {"a", o.a},
                    {"b", o.b},
                    {"width", s.frame_size.width},
                    {"height", s.frame_size.height},
                    {"min_psnr_db", o.min_psnr ? json(*o.min_psnr) : json(nullptr)},
                    {"min_ssim", o.min_ssim ? json(*o.min_ssim) : json(nullptr)},
                    {"max_mad", o.max_mad ? json(*o.max_mad) : json(nullptr)},
                    {"ssim_kind", ssim_kind_name(s.ssim_kind)},
                    {"frames", frames},
                    {"psnr_mean_db", psnr(s.psnr_mean_db)},
                    {"psnr_min_db", psnr(s.psnr_min_db)},
                    {"ssim_mean", s.ssim_mean},
                    {"ssim_min", s.ssim_min},
                    {"worst_frame_psnr", s.worst_psnr_frame},
                    {"worst_frame_ssim", s.worst_frame},
                    {"mad_mean", s.mad_mean},
                    {"mad_max", s.mad_max},
                    {"worst_frame_mad", s.worst_mad_frame},
                    {"passed", s.frames.size() - failed},
                    {"failed", failed}};
  std::cout << doc.dump(2) << "\n";
}

int compare(const CompareOptions& o) {
  VideoScore s;
  // The readers (and the stderr capture of a video reader) end before an error is printed.
  try {
    const std::unique_ptr<FrameReader> a = open_frame_source(o.a);
    const std::unique_ptr<FrameReader> b = open_frame_source(o.b);
    s = compare_streams(*a, *b, o.ssim_kind());
  } catch (const std::runtime_error& e) {  // FrameIoError, GoldenError: the message names the file
    std::cerr << k_compare_err << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << k_compare_err << fmt::format("{} vs {}: {}", o.a, o.b, e.what()) << "\n";
    return 2;
  }
  std::size_t failed = 0;
  for (const FrameScore& f : s.frames) failed += !frame_passes(f, o);
  if (o.format == "json")
    print_json(o, s, failed);
  else
    print_table(o, s, failed);
  return failed == 0 ? 0 : 1;
}

// ---- bless ----------------------------------------------------------------------------

struct BlessOptions {
  std::string video, output;
  std::optional<double> fps;
  bool force = false;
};

int bless(const BlessOptions& o) {
  if (const std::string why = check_output_file("-o", o.output); !why.empty()) {
    std::cerr << k_bless_err << why << "\n";
    return 2;
  }
  Video video;
  double fps = 0;
  try {
    std::error_code ec;
    const bool dir = fs::is_directory(o.video, ec);
    video = dir ? read_png_dir(o.video) : read_video_file(o.video);
    const double declared = o.fps ? *o.fps : dir ? 0 : read_video_fps(o.video);
    fps = declared > 0 ? declared : k_default_fps;
  } catch (const FrameIoError& e) {
    std::cerr << k_bless_err << e.what() << "\n";
    return 2;
  }
  try {
    write_frames_golden(o.output, video, fps, o.video, o.force);
  } catch (const GoldenError& e) {
    std::cerr << k_bless_err << e.what() << "\n";
    return 2;
  }
  fmt::print("blessed {} frames of {}x{} at {} fps from {} into {} ({})\n", video.size(), video[0].cols, video[0].rows,
             fps, o.video, o.output, k_frames_dataset);
  return 0;
}

}  // namespace

void add_frames_command(CLI::App& app, int* exit_code) {
  CLI::App* frames = app.add_subcommand("frames", "PSNR, SSIM and MAD of decoded video frames; golden frames");
  frames->require_subcommand(1);

  auto c = std::make_shared<CompareOptions>();
  CLI::App* compare_cmd = frames->add_subcommand(
      "compare",
      "PSNR, SSIM and mean absolute difference of each frame of A against B, their mean and worst, and a "
      "verdict. A side is a "
      "directory of PNG frames (in name order), FILE.h5[:DATASET] (golden frames, default "
      "frames/video), or a video file. Exit status: 0 every frame meets the thresholds (always, without "
      "any), 1 a frame misses one, 2 bad usage or input.");
  compare_cmd->add_option("a", c->a, "Frames A")->required();
  compare_cmd->add_option("b", c->b, "Frames B")->required();
  compare_cmd->add_option("--min-psnr", c->min_psnr, "Fail a frame whose PSNR (dB) is below this")
      ->check(number_check<double>());
  compare_cmd->add_option("--min-ssim", c->min_ssim, "Fail a frame whose SSIM is below this")
      ->check(number_check<double>())
      ->check(in_range(-1, 1));
  compare_cmd->add_option("--max-mad", c->max_mad,
                          "Fail a frame whose mean absolute difference (8-bit levels) is above this")
      ->check(number_check<double>())
      ->check(in_range(0, 255));
  add_ssim_option(compare_cmd, c->ssim, "default gaussian");
  compare_cmd->add_option("--format", c->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  compare_cmd->callback([c, exit_code] { *exit_code = compare(*c); });

  auto b = std::make_shared<BlessOptions>();
  CLI::App* bless_cmd = frames->add_subcommand(
      "bless", "Store the frames of a video file or PNG directory as a golden (dataset /frames/video; "
               "atomic write, refuses to overwrite without --force). Exit status: 0 written, 2 bad usage "
               "or an input or output that cannot be used.");
  bless_cmd->add_option("video", b->video, "Video file or directory of PNG frames")->required();
  bless_cmd->add_option("-o,--output", b->output, "Golden file to write")->required();
  bless_cmd
      ->add_option("--fps", b->fps,
                   "Frame rate to record (default: the video's own; 24 for PNG frames or a video that "
                   "declares none)")
      ->check(number_check<double>())
      ->check(in_range(1e-3, 1e6));
  bless_cmd->add_flag("--force", b->force, "Replace an existing golden");
  bless_cmd->callback([b, exit_code] { *exit_code = bless(*b); });
}

}  // namespace ffn::cli
