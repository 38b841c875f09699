#include "metrics/frames.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "metrics/gaussian_ssim.hpp"

namespace ffn {

namespace {

constexpr double k_peak = 255.0;

std::string size_text(const cv::Mat& m) { return fmt::format("{}x{}", m.cols, m.rows); }

// `where` prefixes the message ("frame 3: "), so a video comparison names the frame.
void require_comparable(const cv::Mat& a, const cv::Mat& b, const std::string& where) {
  if (a.type() != CV_8UC3 || b.type() != CV_8UC3)
    throw std::invalid_argument(fmt::format("{}{} vs {}: frames must be 8-bit 3-channel (CV_8UC3)", where,
                                            cv::typeToString(a.type()), cv::typeToString(b.type())));
  if (a.size() != b.size())
    throw std::invalid_argument(fmt::format("{}{} vs {}", where, size_text(a), size_text(b)));
}

// The sum of (a[i] - b[i])^2 over n bytes, in integers: exact. Sums of 32768 squares (each at
// most 255^2) fit in 32 bits, which the AVX2 clone adds eight or sixteen at a time; cv::norm
// takes about five times as long for the same sum.
__attribute__((target_clones("arch=x86-64-v3", "default"))) std::uint64_t squared_differences(
    const std::uint8_t* __restrict a, const std::uint8_t* __restrict b, std::size_t n) {
  constexpr std::size_t k_chunk = 32768;
  std::uint64_t total = 0;
  for (std::size_t start = 0; start < n; start += k_chunk) {
    const std::size_t end = std::min(n, start + k_chunk);
    std::uint32_t sum = 0;
    for (std::size_t i = start; i < end; ++i) {
      const int d = a[i] - b[i];
      sum += static_cast<std::uint32_t>(d * d);
    }
    total += sum;
  }
  return total;
}

// Mean squared error over all pixels and channels. The squared 8-bit differences are summed in
// integers, so the sum is exact and identical frames give exactly 0.
double mse(const cv::Mat& a, const cv::Mat& b) {
  const std::size_t row_bytes = static_cast<std::size_t>(a.cols) * a.elemSize();
  std::uint64_t sum = 0;
  if (a.isContinuous() && b.isContinuous()) {
    sum = squared_differences(a.ptr<std::uint8_t>(), b.ptr<std::uint8_t>(), row_bytes * a.rows);
  } else {
    for (int y = 0; y < a.rows; ++y) sum += squared_differences(a.ptr<std::uint8_t>(y), b.ptr<std::uint8_t>(y), row_bytes);
  }
  return static_cast<double>(sum) / (static_cast<double>(a.total()) * a.channels());
}

double psnr_from_mse(double m) {
  return m == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(k_peak * k_peak / m);
}

double ssim_unchecked(const cv::Mat& a, const cv::Mat& b, cv::Mat* map) {
  const cv::Vec3d s = gaussian_ssim(a, b, map);
  return (s[0] + s[1] + s[2]) / 3;
}

}  // namespace

double psnr_db(const cv::Mat& a, const cv::Mat& b) {
  require_comparable(a, b, "");
  return psnr_from_mse(mse(a, b));
}

double ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map) {
  require_comparable(a, b, "");
  return ssim_unchecked(a, b, map);
}

ScoredFrame score_frame(const cv::Mat& a, const cv::Mat& b, std::size_t index) {
  require_comparable(a, b, fmt::format("frame {}: ", index));
  const double m = mse(a, b);
  return {{psnr_from_mse(m), ssim_unchecked(a, b, nullptr)}, m, a.size()};
}

VideoScore summarize(const std::vector<ScoredFrame>& frames) {
  if (frames.empty()) throw std::invalid_argument("no frames to compare");
  VideoScore v;
  v.frame_size = frames[0].size;
  double mse_sum = 0, ssim_sum = 0;
  v.psnr_min_db = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const FrameScore& f = frames[i].score;
    v.frames.push_back(f);
    mse_sum += frames[i].mse;
    ssim_sum += f.ssim;
    v.psnr_min_db = std::min(v.psnr_min_db, f.psnr_db);
    const FrameScore& worst = v.frames[v.worst_frame];
    if (f.ssim < worst.ssim || (f.ssim == worst.ssim && f.psnr_db < worst.psnr_db)) v.worst_frame = i;
    const FrameScore& worst_psnr = v.frames[v.worst_psnr_frame];
    if (f.psnr_db < worst_psnr.psnr_db || (f.psnr_db == worst_psnr.psnr_db && f.ssim < worst_psnr.ssim))
      v.worst_psnr_frame = i;
  }
  v.ssim_min = v.frames[v.worst_frame].ssim;
  v.psnr_mean_db = psnr_from_mse(mse_sum / static_cast<double>(frames.size()));
  v.ssim_mean = ssim_sum / static_cast<double>(frames.size());
  return v;
}

VideoScore compare_videos(const Video& a, const Video& b) {
  if (a.size() != b.size())
    throw std::invalid_argument(fmt::format("frame counts differ: {} vs {}", a.size(), b.size()));
  if (a.empty()) throw std::invalid_argument("no frames to compare");
  for (std::size_t i = 0; i < a.size(); ++i) require_comparable(a[i], b[i], fmt::format("frame {}: ", i));

  std::vector<ScoredFrame> scored(a.size());
  // OpenCV runs the calls nested inside a parallel_for_ serially, so whole frames, not the rows
  // of each blur, are spread over the cores: one hand-off per frame instead of one per call.
  cv::parallel_for_(cv::Range(0, static_cast<int>(a.size())), [&](const cv::Range& r) {
    for (int i = r.start; i < r.end; ++i) scored[i] = score_frame(a[i], b[i], i);
  });
  return summarize(scored);
}

}  // namespace ffn
