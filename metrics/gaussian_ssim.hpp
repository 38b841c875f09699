#pragma once
// SSIM of two 8-bit 3-channel frames as DESIGN section 4 defines it, which is what OpenCV
// contrib's quality::QualitySSIM computes: Wang et al. 2004 with an 11x11 Gaussian window
// (sigma 1.5, OpenCV's float taps), reflect-101 borders, K1 0.01, K2 0.03, L 255, the mean of
// the map per channel.
//
// QualitySSIM takes ~30 ms of CPU per 768x512 frame here: five separate float blurs over
// whole images and about twenty full-size temporaries. This computes the same map in one pass
// over column strips of 32 pixels (a ring of horizontally filtered rows per strip, small
// enough to stay in L1; symmetric taps; two output rows per vertical pass) from four window
// sums instead of five, in 3.3-3.6 ms with the AVX-512VL kernels and 5.5 ms with the portable
// ones (tests/bench_frame_metrics.cpp). QualitySSIM stays the independent reference in the tests
// (tests/test_frames.cpp: means within 1e-5 of it, and both within 2e-6 of an fp64 SSIM; ours
// is the closer of the two).
//
// The window sums are taken over the values centred at 128 and the means shifted back: the
// variances and the covariance are shift-invariant, and centring keeps the numbers whose
// difference they are 4x smaller than over 0..255. The variances enter the formula only as
// their sum, taken as var(a-b) + 2 cov(a, b): one window sum of (a-b)^2 in place of a^2 and
// b^2, and small, hence exact to more digits, where the frames are close.
//
// Each tap pair is one fused multiply-add, rounded once, on every machine: the x86-64-v3 clone
// (AVX2 + FMA), the AVX-512VL horizontal pass and the baseline clone (the C library's fmaf) do
// the same operations in the same order, so a score does not depend on the machine that
// computed it.
#include <opencv2/core.hpp>

namespace ffn {

// Mean SSIM per channel (B, G, R). Both frames CV_8UC3 of one size (not checked here).
// `map`, when given, receives the per-pixel SSIM map averaged over the channels (CV_32FC1).
cv::Vec3d gaussian_ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map = nullptr);

namespace detail {
// For the tests: with `portable`, the horizontal pass takes the portable kernel even where the
// AVX-512 one could run (both must give the same bits). Returns whether the machine has the
// AVX-512 one. Not thread-safe; call it with no SSIM running.
bool use_portable_ssim_kernels(bool portable);
}  // namespace detail

}  // namespace ffn
