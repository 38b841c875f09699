#include "metrics/gaussian_ssim.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace ffn {

namespace {

constexpr int k_radius = 5;
constexpr int k_taps = 2 * k_radius + 1;
constexpr int k_channels = 3;
// Horizontally filtered rows kept per window sum. Output row y reads source rows
// reflect101(y-5 .. y+5), which for a frame of more than 16 rows all lie in [y-5, y+5], and
// for a smaller frame are all its rows: 16 slots never drop a row still needed.
constexpr int k_ring = 16;
// The window sums of a pixel: a, b, a*a, b*b, a*b over the centred values.
constexpr int k_sums = 5;
constexpr float k_centre = 128;
constexpr float k_c1 = 6.5025f;   // (K1 L)^2 = (0.01 * 255)^2
constexpr float k_c2 = 58.5225f;  // (K2 L)^2 = (0.03 * 255)^2

using Taps = std::array<float, k_taps>;

// The taps GaussianBlur applies to float images: getGaussianKernel in the float depth.
Taps gaussian_taps() {
  const cv::Mat k = cv::getGaussianKernel(k_taps, 1.5, CV_32F);
  Taps taps;
  for (int i = 0; i < k_taps; ++i) taps[i] = k.at<float>(i);
  return taps;
}

// The hot loops are compiled twice, for AVX2 and for the baseline, picked at load time. The
// file is built with -ffp-contract=off, so both give the same bits: scores do not depend on
// the machine.

// out[j] = sum_k taps[k] * in[j + 3k] over a border-padded interleaved row: the taps step by
// whole pixels, so the channels never mix. The window is symmetric: pairs share a multiply.
__attribute__((target_clones("avx2", "default"))) void filter_along_row(const float* __restrict in,
                                                                          float* __restrict out, int n,
                                                                          const float* __restrict taps) {
  for (int j = 0; j < n; ++j) {
    const float* centre = in + j + k_radius * k_channels;
    float s = taps[k_radius] * centre[0];
#pragma GCC unroll 5
    for (int k = 1; k <= k_radius; ++k) s += taps[k_radius + k] * (centre[-k * k_channels] + centre[k * k_channels]);
    out[j] = s;
  }
}

using WindowRows = std::array<std::array<const float*, k_taps>, k_sums>;

// One row of the SSIM map: the vertical pass over the eleven filtered rows of each window sum,
// then Wang et al.'s formula in QualitySSIM's arrangement.
__attribute__((target_clones("avx2", "default"))) void ssim_map_row(const WindowRows& rows,
                                                                      const float* __restrict taps,
                                                                      float* __restrict map, int n) {
  for (int j = 0; j < n; ++j) {
    float s[k_sums];
#pragma GCC unroll 5
    for (int q = 0; q < k_sums; ++q) {
      float v = taps[k_radius] * rows[q][k_radius][j];
#pragma GCC unroll 5
      for (int k = 1; k <= k_radius; ++k) v += taps[k_radius + k] * (rows[q][k_radius - k][j] + rows[q][k_radius + k][j]);
      s[q] = v;
    }
    const float mu_a = s[0] + k_centre, mu_b = s[1] + k_centre;
    const float var_a = s[2] - s[0] * s[0], var_b = s[3] - s[1] * s[1], cov = s[4] - s[0] * s[1];
    map[j] = ((2 * mu_a * mu_b + k_c1) * (2 * cov + k_c2)) /
             ((mu_a * mu_a + mu_b * mu_b + k_c1) * (var_a + var_b + k_c2));
  }
}

}  // namespace

cv::Vec3d gaussian_ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map) {
  static const Taps taps = gaussian_taps();
  const int width = a.cols, height = a.rows;
  // The frame is scored in strips of columns, so that the ring of one strip (5 sums x 16 rows
  // x 64 pixels, 60 KB) stays in the L2 cache while the vertical pass reads eleven rows of it
  // per output row; whole rows would stream 0.5 MB from memory per output row at 768 pixels.
  constexpr int k_strip = 64;
  const int max_n = std::min(width, k_strip) * k_channels;
  const int max_padded = max_n + 2 * k_radius * k_channels;

  // Reused across calls: fresh buffers per frame would be page-faulted in every time.
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<std::size_t>(k_sums) * max_padded + static_cast<std::size_t>(k_sums) * k_ring * max_n +
                 max_n);
  float* const centred_a = scratch.data();
  float* const centred_b = centred_a + max_padded;
  float* const products[3] = {centred_b + max_padded, centred_b + 2 * max_padded, centred_b + 3 * max_padded};
  float* const ring = centred_b + 4 * max_padded;
  float* const map_row = ring + static_cast<std::size_t>(k_sums) * k_ring * max_n;
  const auto ring_row = [&](int sum, int y) {
    return ring + (static_cast<std::size_t>(sum) * k_ring + static_cast<std::size_t>(y % k_ring)) * max_n;
  };

  if (map) map->create(height, width, CV_32FC1);
  double sums[k_channels] = {0, 0, 0};
  std::vector<int> source_column(k_strip + 2 * k_radius);
  std::vector<double> column_sums(max_n);  // the map summed down each column of a strip
  for (int x0 = 0; x0 < width; x0 += k_strip) {
    const int strip = std::min(k_strip, width - x0);
    const int n = strip * k_channels, padded = n + 2 * k_radius * k_channels;
    for (int p = 0; p < strip + 2 * k_radius; ++p)
      source_column[p] = cv::borderInterpolate(x0 + p - k_radius, width, cv::BORDER_REFLECT_101);

    // Away from the frame's left and right edges the padded strip is one contiguous run of bytes.
    const bool interior = x0 >= k_radius && x0 + strip + k_radius <= width;
    const auto filter_source_row = [&](int y) {
      const std::uint8_t* row_a = a.ptr<std::uint8_t>(y);
      const std::uint8_t* row_b = b.ptr<std::uint8_t>(y);
      if (interior) {
        const std::uint8_t* run_a = row_a + (x0 - k_radius) * k_channels;
        const std::uint8_t* run_b = row_b + (x0 - k_radius) * k_channels;
        for (int i = 0; i < padded; ++i) {
          centred_a[i] = static_cast<float>(run_a[i]) - k_centre;
          centred_b[i] = static_cast<float>(run_b[i]) - k_centre;
        }
      } else {
        for (int p = 0; p < strip + 2 * k_radius; ++p)
          for (int c = 0; c < k_channels; ++c) {
            centred_a[p * k_channels + c] = static_cast<float>(row_a[source_column[p] * k_channels + c]) - k_centre;
            centred_b[p * k_channels + c] = static_cast<float>(row_b[source_column[p] * k_channels + c]) - k_centre;
          }
      }
      for (int i = 0; i < padded; ++i) {
        products[0][i] = centred_a[i] * centred_a[i];
        products[1][i] = centred_b[i] * centred_b[i];
        products[2][i] = centred_a[i] * centred_b[i];
      }
      const float* sources[k_sums] = {centred_a, centred_b, products[0], products[1], products[2]};
      for (int q = 0; q < k_sums; ++q) filter_along_row(sources[q], ring_row(q, y), n, taps.data());
    };

    int filtered = 0;  // source rows [0, filtered) of this strip are in the ring
    std::fill_n(column_sums.begin(), n, 0.0);
    for (int y = 0; y < height; ++y) {
      for (const int last = std::min(height - 1, y + k_radius); filtered <= last;) filter_source_row(filtered++);
      WindowRows rows;
      for (int k = 0; k < k_taps; ++k) {
        const int source = cv::borderInterpolate(y - k_radius + k, height, cv::BORDER_REFLECT_101);
        for (int q = 0; q < k_sums; ++q) rows[q][k] = ring_row(q, source);
      }
      ssim_map_row(rows, taps.data(), map_row, n);
      for (int j = 0; j < n; ++j) column_sums[j] += map_row[j];
      if (map) {
        float* out = map->ptr<float>(y) + x0;
        for (int x = 0; x < strip; ++x)
          out[x] = (map_row[x * k_channels] + map_row[x * k_channels + 1] + map_row[x * k_channels + 2]) / 3;
      }
    }
    for (int j = 0; j < n; ++j) sums[j % k_channels] += column_sums[j];
  }
  const double pixels = static_cast<double>(width) * height;
  return {sums[0] / pixels, sums[1] / pixels, sums[2] / pixels};
}

}  // namespace ffn
