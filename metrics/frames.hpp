#pragma once
// Frame metrics (DESIGN section 4) through OpenCV contrib `quality`:
//   PSNR per frame: 10 log10(255^2 / MSE) over all pixels and channels; +inf for identical
//   frames (printed "inf", stored as IEEE +inf).
//   SSIM per frame, one of two definitions (SsimKind):
//     gaussian: Wang et al. 2004 as cv::quality::QualitySSIM defines it (11x11 Gaussian window,
//       sigma 1.5, K1 0.01, K2 0.03, L 255, reflect-101 borders, mean over the map), averaged
//       over the three channels; computed by gaussian_ssim.hpp, which the tests hold against
//       QualitySSIM itself;
//     skimage: scikit-image's structural_similarity with its defaults (7x7 uniform window,
//       sample covariance, border cropped before the mean), channel_axis and data_range 255,
//       what the serving stack's diffusion CI uses; computed by skimage_ssim.hpp, which the
//       tests hold against scikit-image itself. Frames smaller than its 7x7 window have no
//       score (scikit-image raises; here std::invalid_argument).
//   MAD per frame: mean absolute difference over all pixels and channels, in 8-bit levels
//     (the stack's CI's "mean absolute pixel difference"), from an exact integer sum.
// A video is a sequence of 8-bit, 3-channel frames of one size (cv::Mat CV_8UC3, BGR as
// OpenCV holds them).
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ffn {

using Video = std::vector<cv::Mat>;

enum class SsimKind { gaussian, skimage };
// "gaussian", "skimage": the names of --ssim, goldens and reports.
std::string_view ssim_kind_name(SsimKind kind);
std::optional<SsimKind> parse_ssim_kind(std::string_view name);
// The definition in a few words, for the headers of tables and reports.
std::string_view ssim_kind_description(SsimKind kind);

struct FrameScore {
  double psnr_db = 0;
  double ssim = 0;
  double mad = 0;  // mean absolute difference, 8-bit levels
};

struct VideoScore {
  std::vector<FrameScore> frames;
  double psnr_mean_db = 0;  // PSNR of the mean MSE over frames (ffmpeg's "average"); +inf only if all identical
  double psnr_min_db = 0;   // worst frame
  double ssim_mean = 0, ssim_min = 0;
  double mad_mean = 0, mad_max = 0;  // over frames (all of one size: the mean is the video's MAD)
  std::size_t worst_frame = 0;       // lowest SSIM (ties: lowest PSNR)
  std::size_t worst_psnr_frame = 0;  // lowest PSNR (ties: lowest SSIM)
  std::size_t worst_mad_frame = 0;   // largest MAD (ties: the first)
  SsimKind ssim_kind = SsimKind::gaussian;  // which SSIM the ssim numbers are
  cv::Size frame_size;
};

double psnr_db(const cv::Mat& a, const cv::Mat& b);
double mean_absolute_difference(const cv::Mat& a, const cv::Mat& b);
// SSIM averaged over channels; `map`, when given, receives the per-pixel SSIM map (CV_32FC1,
// channel mean) for pictures.
double ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map = nullptr, SsimKind kind = SsimKind::gaussian);

// Frame counts and sizes must match, and frames be large enough for `kind`: otherwise
// std::invalid_argument naming both.
VideoScore compare_videos(const Video& a, const Video& b, SsimKind kind = SsimKind::gaussian);

// The parts of compare_videos, for comparisons that score frames as they arrive
// (streamed_comparison.hpp). score_frame checks the pair (std::invalid_argument "frame I: ...");
// summarize takes the frames in order, at least one.
struct ScoredFrame {
  FrameScore score;
  double mse = 0;  // the video's PSNR is that of the mean MSE
  cv::Size size;
};
ScoredFrame score_frame(const cv::Mat& a, const cv::Mat& b, std::size_t index, SsimKind kind);
VideoScore summarize(const std::vector<ScoredFrame>& frames, SsimKind kind);

}  // namespace ffn
