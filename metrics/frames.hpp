#pragma once
// Frame metrics (DESIGN section 4) through OpenCV contrib `quality`:
//   PSNR per frame: 10 log10(255^2 / MSE) over all pixels and channels; +inf for identical
//   frames (printed "inf", stored as IEEE +inf).
//   SSIM per frame: Wang et al. 2004 as cv::quality::QualitySSIM defines it (11x11 Gaussian
//   window, sigma 1.5, K1 0.01, K2 0.03, L 255, reflect-101 borders, mean over the map),
//   averaged over the three channels; computed by gaussian_ssim.hpp, which the tests hold
//   against QualitySSIM itself.
// A video is a sequence of 8-bit, 3-channel frames of one size (cv::Mat CV_8UC3, BGR as
// OpenCV holds them).
#include <opencv2/core.hpp>
#include <vector>

namespace ffn {

using Video = std::vector<cv::Mat>;

struct FrameScore {
  double psnr_db = 0;
  double ssim = 0;
};

struct VideoScore {
  std::vector<FrameScore> frames;
  double psnr_mean_db = 0;  // PSNR of the mean MSE over frames (ffmpeg's "average"); +inf only if all identical
  double psnr_min_db = 0;   // worst frame
  double ssim_mean = 0, ssim_min = 0;
  std::size_t worst_frame = 0;       // lowest SSIM (ties: lowest PSNR)
  std::size_t worst_psnr_frame = 0;  // lowest PSNR (ties: lowest SSIM)
  cv::Size frame_size;
};

double psnr_db(const cv::Mat& a, const cv::Mat& b);
// SSIM averaged over channels; `map`, when given, receives the per-pixel SSIM map (CV_32FC1,
// channel mean) for pictures.
double ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map = nullptr);

// Frame counts and sizes must match: otherwise std::invalid_argument naming both.
VideoScore compare_videos(const Video& a, const Video& b);

// The parts of compare_videos, for comparisons that score frames as they arrive
// (streamed_comparison.hpp). score_frame checks the pair (std::invalid_argument "frame I: ...");
// summarize takes the frames in order, at least one.
struct ScoredFrame {
  FrameScore score;
  double mse = 0;  // the video's PSNR is that of the mean MSE
  cv::Size size;
};
ScoredFrame score_frame(const cv::Mat& a, const cv::Mat& b, std::size_t index);
VideoScore summarize(const std::vector<ScoredFrame>& frames);

}  // namespace ffn
