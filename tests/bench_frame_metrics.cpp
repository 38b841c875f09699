// bench_frame_metrics: CPU per 768x512 frame pair of the frame metrics (both SSIMs, PSNR, MAD),
// against the OpenCV routines they replace, on one thread (ci/bench-frames.sh prints it). The machine is shared and
// its speed drifts, so the routines take turns and each keeps its least time of five rounds of 20
// frames; compare the ratios, not figures from different runs.
#include <fmt/format.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/quality/qualityssim.hpp>
#include <time.h>

#include <algorithm>
#include <functional>
#include <string_view>
#include <vector>

#include "frame_patterns.hpp"
#include "metrics/frames.hpp"
#include "metrics/gaussian_ssim.hpp"
#include "metrics/skimage_ssim.hpp"

namespace {

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main() {
  using namespace ffn;
  constexpr int k_frames = 20, k_rounds = 5;
  cv::setNumThreads(1);
  Video a, b;
  for (int t = 0; t < k_frames; ++t) {
    a.push_back(test::structured_frame(768, 512, t));
    b.push_back(test::with_noise(a.back(), 4, t));
  }
  const bool have_avx512 = detail::use_portable_ssim_kernels(false);
  struct Routine {
    const char* name;
    std::function<void(const cv::Mat&, const cv::Mat&)> run;
    double best = 1e30;
  };
  std::vector<Routine> routines{
      {"QualitySSIM", [](const cv::Mat& x, const cv::Mat& y) { cv::quality::QualitySSIM::compute(x, y, cv::noArray()); }},
      {have_avx512 ? "ssim (AVX-512)" : "ssim", [](const cv::Mat& x, const cv::Mat& y) { gaussian_ssim(x, y); }},
      {"skimage ssim", [](const cv::Mat& x, const cv::Mat& y) { skimage_ssim(x, y); }},
      {"ssim (portable)",
       [](const cv::Mat& x, const cv::Mat& y) {
         detail::use_portable_ssim_kernels(true);
         gaussian_ssim(x, y);
         detail::use_portable_ssim_kernels(false);
       }},
      {"cv::norm L2SQR", [](const cv::Mat& x, const cv::Mat& y) { cv::norm(x, y, cv::NORM_L2SQR); }},
      {"psnr_db", [](const cv::Mat& x, const cv::Mat& y) { psnr_db(x, y); }},
      {"mad", [](const cv::Mat& x, const cv::Mat& y) { mean_absolute_difference(x, y); }},
  };
  for (int round = 0; round < k_rounds; ++round)
    for (Routine& r : routines) {
      const double start = thread_seconds();
      for (int i = 0; i < k_frames; ++i) r.run(a[i], b[i]);
      r.best = std::min(r.best, (thread_seconds() - start) / k_frames);
    }
  fmt::print("# CPU ms per 768x512 frame pair, one thread, least of {} rounds of {} frames\n", k_rounds, k_frames);
  for (const Routine& r : routines) fmt::print("{:<16} {:8.3f}\n", r.name, r.best * 1e3);
  // The two SSIMs of one frame pair: the skimage one must not be the slower (README, "Frames").
  const auto best = [&](std::string_view name) {
    for (const Routine& r : routines)
      if (name == r.name) return r.best;
    return 0.0;
  };
  const double gaussian = best(routines[1].name), skimage = best("skimage ssim");
  fmt::print("skimage / gaussian ssim: {:.2f} ({})\n", skimage / gaussian,
             skimage <= gaussian ? "no slower" : "SLOWER");
}
