// The skimage SSIM (metrics/skimage_ssim.hpp) against scikit-image's formula written out in fp64
// window by window, sharing nothing with the implementation but the definition; its map against
// the same with scipy's 'reflect' borders; frames smaller than the window refused in one line.
// tests/skimage_ssim_reference.py holds it against scikit-image itself.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

#include "frame_patterns.hpp"
#include "metrics/frames.hpp"
#include "metrics/skimage_ssim.hpp"
#include "tests/error_of.hpp"

using namespace ffn;
using ffn::test::error_of;
using ffn::test::structured_frame;
using ffn::test::with_noise;

namespace {

// scipy.ndimage's 'reflect' (d c b a | a b c d | d c b a), for an index at most one length out.
int reflect(int i, int n) { return i < 0 ? -i - 1 : i >= n ? 2 * n - 1 - i : i; }

// structural_similarity's S at one pixel of one channel, literally: the 7x7 means, the sample
// covariances (cov_norm = 49/48), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2.
double reference_pixel(const cv::Mat& a, const cv::Mat& b, int x, int y, int c) {
  double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
  for (int dy = -3; dy <= 3; ++dy)
    for (int dx = -3; dx <= 3; ++dx) {
      const int sy = reflect(y + dy, a.rows), sx = reflect(x + dx, a.cols);
      const double va = a.at<cv::Vec3b>(sy, sx)[c], vb = b.at<cv::Vec3b>(sy, sx)[c];
      ux += va / 49;
      uy += vb / 49;
      uxx += va * va / 49;
      uyy += vb * vb / 49;
      uxy += va * vb / 49;
    }
  const double cov_norm = 49.0 / 48.0;
  const double vx = cov_norm * (uxx - ux * ux), vy = cov_norm * (uyy - uy * uy), vxy = cov_norm * (uxy - ux * uy);
  const double c1 = std::pow(0.01 * 255, 2), c2 = std::pow(0.03 * 255, 2);
  return (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
}

// The mean over the map cropped by 3 pixels on every side, per channel, then over the channels.
double reference_ssim(const cv::Mat& a, const cv::Mat& b) {
  double total = 0;
  for (int c = 0; c < 3; ++c) {
    double sum = 0;
    for (int y = 3; y < a.rows - 3; ++y)
      for (int x = 3; x < a.cols - 3; ++x) sum += reference_pixel(a, b, x, y, c);
    total += sum / ((a.rows - 6.0) * (a.cols - 6.0));
  }
  return total / 3;
}

}  // namespace

TEST_CASE("skimage SSIM agrees with scikit-image's formula in fp64, frames of odd and even sizes", "[frames]") {
  // 7x7: one window; 8x7, 7x8: one row or column of windows; then odd and even sizes, and one
  // past the 32-column strips of the Gaussian SSIM, which this does not use.
  const std::pair<int, int> sizes[] = {{7, 7}, {8, 7}, {7, 8}, {13, 9}, {31, 17}, {64, 48}, {101, 67}};
  for (const auto& [w, h] : sizes)
    for (const double sigma : {1.0, 6.0, 40.0}) {
      INFO(w << "x" << h << ", noise sigma " << sigma);
      const cv::Mat a = structured_frame(w, h, 1), b = with_noise(a, sigma, static_cast<std::uint64_t>(w * h));
      const double expected = reference_ssim(a, b);
      CHECK(std::fabs(ssim(a, b, nullptr, SsimKind::skimage) - expected) < 1e-12);
    }
}

TEST_CASE("skimage SSIM: per channel, symmetric, exactly 1 for identical frames, below 1 otherwise", "[frames]") {
  const cv::Mat a = structured_frame(96, 64, 0), b = with_noise(a, 5, 11);
  CHECK(ssim(a, a.clone(), nullptr, SsimKind::skimage) == 1.0);
  CHECK(ssim(a, b, nullptr, SsimKind::skimage) == Approx(ssim(b, a, nullptr, SsimKind::skimage)).margin(1e-15));
  CHECK(ssim(a, b, nullptr, SsimKind::skimage) < 1.0);
  // Noise on one channel lowers only that channel's mean.
  std::vector<cv::Mat> channels_a, channels_b;
  cv::split(a, channels_a);
  cv::split(b, channels_b);
  channels_a[1] = channels_b[1];
  cv::Mat noisy_green;
  cv::merge(channels_a, noisy_green);
  const cv::Vec3d s = skimage_ssim(a, noisy_green);
  CHECK(s[0] == 1.0);
  CHECK(s[2] == 1.0);
  CHECK(s[1] < 1.0);
  CHECK(ssim(a, noisy_green, nullptr, SsimKind::skimage) == Approx((2 + s[1]) / 3).epsilon(1e-15));
}

TEST_CASE("skimage SSIM: its map is scikit-image's full map, borders by scipy's reflect", "[frames]") {
  const cv::Mat a = structured_frame(23, 15, 2), b = with_noise(a, 9, 5);
  cv::Mat map;
  const double s = ssim(a, b, &map, SsimKind::skimage);
  REQUIRE(map.type() == CV_32FC1);
  REQUIRE(map.size() == a.size());
  double worst = 0;
  for (int y = 0; y < a.rows; ++y)
    for (int x = 0; x < a.cols; ++x) {
      const double expected =
          (reference_pixel(a, b, x, y, 0) + reference_pixel(a, b, x, y, 1) + reference_pixel(a, b, x, y, 2)) / 3;
      worst = std::max(worst, std::fabs(map.at<float>(y, x) - expected));
    }
  CHECK(worst < 1e-6);  // float map
  // The score is the cropped map's mean, not the full map's.
  CHECK(cv::mean(map(cv::Rect(3, 3, a.cols - 6, a.rows - 6)))[0] == Approx(s).margin(1e-6));
  CHECK(ssim(a, b, nullptr, SsimKind::skimage) == s);
}

TEST_CASE("skimage SSIM refuses frames smaller than its 7x7 window in one line, as scikit-image does", "[frames]") {
  for (const auto& [w, h] : {std::pair{6, 7}, {7, 6}, {5, 5}, {2, 40}}) {
    INFO(w << "x" << h);
    const cv::Mat a = structured_frame(w, h, 0);
    const std::string expected = fmt::format("{}x{}: smaller than the 7x7 window of the skimage SSIM (scikit-image "
                                             "refuses such frames too)",
                                             w, h);
    CHECK(error_of<std::invalid_argument>([&] { ssim(a, a, nullptr, SsimKind::skimage); }) == expected);
    CHECK(error_of<std::invalid_argument>([&] { compare_videos({a, a}, {a, a}, SsimKind::skimage); }) ==
          "frame 0: " + expected);
    // The Gaussian SSIM, with reflect-101 borders, scores them.
    CHECK(ssim(a, a, nullptr, SsimKind::gaussian) == 1.0);
  }
}

TEST_CASE("SSIM kinds: names round-trip, the video records which one scored it", "[frames]") {
  for (const SsimKind k : {SsimKind::gaussian, SsimKind::skimage}) CHECK(parse_ssim_kind(ssim_kind_name(k)) == k);
  CHECK_FALSE(parse_ssim_kind("ssim").has_value());
  const Video a = {structured_frame(32, 24, 0)}, b = {with_noise(a[0], 3, 1)};
  CHECK(compare_videos(a, b).ssim_kind == SsimKind::gaussian);
  const VideoScore s = compare_videos(a, b, SsimKind::skimage);
  CHECK(s.ssim_kind == SsimKind::skimage);
  CHECK(s.frames[0].ssim == ssim(a[0], b[0], nullptr, SsimKind::skimage));
  CHECK(s.frames[0].ssim != ssim(a[0], b[0], nullptr, SsimKind::gaussian));
}
