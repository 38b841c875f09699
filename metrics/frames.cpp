#include "metrics/frames.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "metrics/gaussian_ssim.hpp"
#include "metrics/skimage_ssim.hpp"

namespace ffn {

namespace {

constexpr double k_peak = 255.0;

std::string size_text(const cv::Mat& m) { return fmt::format("{}x{}", m.cols, m.rows); }

// `where` prefixes the message ("frame 3: "), so a video comparison names the frame.
void require_comparable(const cv::Mat& a, const cv::Mat& b, const std::string& where, SsimKind kind) {
  if (a.type() != CV_8UC3 || b.type() != CV_8UC3)
    throw std::invalid_argument(fmt::format("{}{} vs {}: frames must be 8-bit 3-channel (CV_8UC3)", where,
                                            cv::typeToString(a.type()), cv::typeToString(b.type())));
  if (a.size() != b.size())
    throw std::invalid_argument(fmt::format("{}{} vs {}", where, size_text(a), size_text(b)));
  // scikit-image raises "win_size exceeds image extent" here; so do we, in one line.
  if (kind == SsimKind::skimage && std::min(a.cols, a.rows) < k_skimage_ssim_window)
    throw std::invalid_argument(fmt::format("{}{}: smaller than the {}x{} window of the skimage SSIM (scikit-image "
                                            "refuses such frames too)",
                                            where, size_text(a), k_skimage_ssim_window, k_skimage_ssim_window));
}

// The sums of (a[i] - b[i])^2 and of |a[i] - b[i]| over n bytes, in integers: exact. Sums of
// 32768 squares (each at most 255^2) fit in 32 bits, which the AVX2 clone adds eight or sixteen
// at a time; cv::norm takes about five times as long for the one sum.
struct DifferenceSums {
  std::uint64_t squared = 0, absolute = 0;
};
__attribute__((target_clones("arch=x86-64-v3", "default"))) DifferenceSums difference_sums(
    const std::uint8_t* __restrict a, const std::uint8_t* __restrict b, std::size_t n) {
  constexpr std::size_t k_chunk = 32768;
  DifferenceSums total;
  for (std::size_t start = 0; start < n; start += k_chunk) {
    const std::size_t end = std::min(n, start + k_chunk);
    std::uint32_t squared = 0, absolute = 0;
    for (std::size_t i = start; i < end; ++i) {
      const int d = a[i] - b[i];
      squared += static_cast<std::uint32_t>(d * d);
      absolute += static_cast<std::uint32_t>(d < 0 ? -d : d);
    }
    total.squared += squared;
    total.absolute += absolute;
  }
  return total;
}

// Mean squared and mean absolute difference over all pixels and channels. The 8-bit differences
// are summed in integers, so the sums are exact and identical frames give exactly 0.
struct Differences {
  double mse = 0, mad = 0;
};
Differences differences(const cv::Mat& a, const cv::Mat& b) {
  const std::size_t row_bytes = static_cast<std::size_t>(a.cols) * a.elemSize();
  DifferenceSums sums;
  if (a.isContinuous() && b.isContinuous()) {
    sums = difference_sums(a.ptr<std::uint8_t>(), b.ptr<std::uint8_t>(), row_bytes * a.rows);
  } else {
    for (int y = 0; y < a.rows; ++y) {
      const DifferenceSums row = difference_sums(a.ptr<std::uint8_t>(y), b.ptr<std::uint8_t>(y), row_bytes);
      sums.squared += row.squared;
      sums.absolute += row.absolute;
    }
  }
  const double values = static_cast<double>(a.total()) * a.channels();
  return {static_cast<double>(sums.squared) / values, static_cast<double>(sums.absolute) / values};
}

double psnr_from_mse(double m) {
  return m == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(k_peak * k_peak / m);
}

// Both kinds average the per-channel means, as QualitySSIM and scikit-image's channel_axis do.
double ssim_unchecked(const cv::Mat& a, const cv::Mat& b, cv::Mat* map, SsimKind kind) {
  const cv::Vec3d s = kind == SsimKind::skimage ? skimage_ssim(a, b, map) : gaussian_ssim(a, b, map);
  return (s[0] + s[1] + s[2]) / 3;
}

}  // namespace

std::string_view ssim_kind_name(SsimKind kind) { return kind == SsimKind::skimage ? "skimage" : "gaussian"; }

std::optional<SsimKind> parse_ssim_kind(std::string_view name) {
  for (const SsimKind k : {SsimKind::gaussian, SsimKind::skimage})
    if (ssim_kind_name(k) == name) return k;
  return std::nullopt;
}

std::string_view ssim_kind_description(SsimKind kind) {
  return kind == SsimKind::skimage
             ? "scikit-image structural_similarity (7x7 uniform window, sample covariance, 3-pixel border "
               "cropped), mean of the channels"
             : "Wang et al. 2004 (11x11 Gaussian, sigma 1.5), mean of the map, averaged over the channels";
}

double psnr_db(const cv::Mat& a, const cv::Mat& b) {
  require_comparable(a, b, "", SsimKind::gaussian);
  return psnr_from_mse(differences(a, b).mse);
}

double mean_absolute_difference(const cv::Mat& a, const cv::Mat& b) {
  require_comparable(a, b, "", SsimKind::gaussian);
  return differences(a, b).mad;
}

double ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map, SsimKind kind) {
  require_comparable(a, b, "", kind);
  return ssim_unchecked(a, b, map, kind);
}

ScoredFrame score_frame(const cv::Mat& a, const cv::Mat& b, std::size_t index, SsimKind kind) {
  require_comparable(a, b, fmt::format("frame {}: ", index), kind);
  const Differences d = differences(a, b);
  return {{psnr_from_mse(d.mse), ssim_unchecked(a, b, nullptr, kind), d.mad}, d.mse, a.size()};
}

VideoScore summarize(const std::vector<ScoredFrame>& frames, SsimKind kind) {
  if (frames.empty()) throw std::invalid_argument("no frames to compare");
  VideoScore v;
  v.frame_size = frames[0].size;
  v.ssim_kind = kind;
  double mse_sum = 0, ssim_sum = 0, mad_sum = 0;
  v.psnr_min_db = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const FrameScore& f = frames[i].score;
    v.frames.push_back(f);
    mse_sum += frames[i].mse;
    ssim_sum += f.ssim;
    mad_sum += f.mad;
    v.psnr_min_db = std::min(v.psnr_min_db, f.psnr_db);
    if (f.mad > v.frames[v.worst_mad_frame].mad) v.worst_mad_frame = i;
    const FrameScore& worst = v.frames[v.worst_frame];
    if (f.ssim < worst.ssim || (f.ssim == worst.ssim && f.psnr_db < worst.psnr_db)) v.worst_frame = i;
    const FrameScore& worst_psnr = v.frames[v.worst_psnr_frame];
    if (f.psnr_db < worst_psnr.psnr_db || (f.psnr_db == worst_psnr.psnr_db && f.ssim < worst_psnr.ssim))
      v.worst_psnr_frame = i;
  }
  v.ssim_min = v.frames[v.worst_frame].ssim;
  v.psnr_mean_db = psnr_from_mse(mse_sum / static_cast<double>(frames.size()));
  v.ssim_mean = ssim_sum / static_cast<double>(frames.size());
  v.mad_mean = mad_sum / static_cast<double>(frames.size());
  v.mad_max = v.frames[v.worst_mad_frame].mad;
  return v;
}

VideoScore compare_videos(const Video& a, const Video& b, SsimKind kind) {
  if (a.size() != b.size())
    throw std::invalid_argument(fmt::format("frame counts differ: {} vs {}", a.size(), b.size()));
  if (a.empty()) throw std::invalid_argument("no frames to compare");
  for (std::size_t i = 0; i < a.size(); ++i) require_comparable(a[i], b[i], fmt::format("frame {}: ", i), kind);

  std::vector<ScoredFrame> scored(a.size());
  // OpenCV runs the calls nested inside a parallel_for_ serially, so whole frames, not the rows
  // of each blur, are spread over the cores: one hand-off per frame instead of one per call.
  cv::parallel_for_(cv::Range(0, static_cast<int>(a.size())), [&](const cv::Range& r) {
    for (int i = r.start; i < r.end; ++i) scored[i] = score_frame(a[i], b[i], i, kind);
  });
  return summarize(scored, kind);
}

}  // namespace ffn
