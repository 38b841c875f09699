#pragma once
// SSIM of two 8-bit 3-channel frames as scikit-image computes it with its defaults, which is
// what the serving stack's diffusion CI calls: `structural_similarity(a, b, channel_axis=-1,
// data_range=255)` on uint8 RGB frames. Read from skimage/metrics/_structural_similarity.py,
// `structural_similarity` (0.19 as Debian ships it, and the current main branch):
//   - with channel_axis, each channel is scored on its own and the result is the plain mean of
//     the per-channel means;
//   - per channel: scipy.ndimage.uniform_filter with a 7x7 window (win_size 7 when
//     gaussian_weights is off), so every statistic is a plain mean over the 49 pixels;
//   - use_sample_covariance (default True): variances and the covariance are scaled by
//     cov_norm = NP / (NP - 1), NP = 49;
//   - K1 0.01, K2 0.03, C1 = (K1 R)^2, C2 = (K2 R)^2 with R = data_range = 255;
//   - S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2));
//   - the mean is taken after cropping (win_size - 1) / 2 = 3 pixels off every side
//     (skimage.util.crop), so only windows that lie wholly inside the frame count and the
//     filter's border mode ('reflect') never enters the score;
//   - a side shorter than the window raises ValueError ("win_size exceeds image extent").
//
// Here the window sums of a, b, a^2 + b^2 and a b over 8-bit values are integers, summed exactly
// (running column sums down the frame, seven taps along the row); the formula is evaluated in
// double on those exact sums, so a score differs from scikit-image's float64 one only by
// scikit-image's own rounding (tests/skimage_ssim_reference.py holds them within 1e-6; the
// measured difference is around 1e-15). Identical frames give exactly 1.
#include <opencv2/core.hpp>

namespace ffn {

// scikit-image's default window side: frames narrower or lower than this have no score.
inline constexpr int k_skimage_ssim_window = 7;

// Mean SSIM per channel (B, G, R). Both frames CV_8UC3 of one size, each side at least
// k_skimage_ssim_window (neither checked here). `map`, when given, receives the full-size SSIM
// map averaged over the channels (CV_32FC1), with the border pixels computed from windows
// reflected at the frame's edges as scipy's 'reflect' mode does (what
// structural_similarity(..., full=True) returns in scikit-image 0.19); the mean never reads it.
cv::Vec3d skimage_ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map = nullptr);

}  // namespace ffn
