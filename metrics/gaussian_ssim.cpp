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
// The window sums of a pixel over the centred values: a, b, (a-b)^2, a*b. The formula needs
// the two variances only as their sum, var_a + var_b = var(a-b) + 2 cov(a, b), so four
// filters, not five; and var(a-b) is small where the frames are close, where SSIM needs its
// digits. Differences and products of centred 8-bit values are integers, exact in float.
constexpr int k_sums = 4;
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

// The centred values of a padded run of both frames and their products, the four rows the
// horizontal pass filters.
__attribute__((target_clones("avx2", "default"))) void centre_and_multiply(const std::uint8_t* __restrict run_a,
                                                                             const std::uint8_t* __restrict run_b,
                                                                             int n, float* __restrict centred_a,
                                                                             float* __restrict centred_b,
                                                                             float* __restrict dd,
                                                                             float* __restrict ab) {
  for (int i = 0; i < n; ++i) {
    const float va = static_cast<float>(run_a[i]) - k_centre, vb = static_cast<float>(run_b[i]) - k_centre;
    centred_a[i] = va;
    centred_b[i] = vb;
    dd[i] = (va - vb) * (va - vb);
    ab[i] = va * vb;
  }
}

using WindowRows = std::array<std::array<const float*, k_taps>, k_sums>;

// The vertical pass of one window sum over its eleven horizontally filtered rows. One sum at a
// time: eleven row pointers stay in registers, where all forty-four would not.
__attribute__((target_clones("avx2", "default"))) void filter_down_column(const std::array<const float*, k_taps>& rows,
                                                                            const float* __restrict taps,
                                                                            float* __restrict out, int n) {
  const float* r[k_taps];
  for (int k = 0; k < k_taps; ++k) r[k] = rows[k];
  for (int j = 0; j < n; ++j) {
    float v = taps[k_radius] * r[k_radius][j];
#pragma GCC unroll 5
    for (int k = 1; k <= k_radius; ++k) v += taps[k_radius + k] * (r[k_radius - k][j] + r[k_radius + k][j]);
    out[j] = v;
  }
}

// Wang et al.'s formula over the four window sums of a row. For identical frames the window
// sum of (a-b)^2 and the difference of the means are 0 and 2 mu_a mu_b = mu_a^2 + mu_b^2 bit for
// bit, so the map is exactly 1.
__attribute__((target_clones("avx2", "default"))) void ssim_formula(const float* __restrict mean_a,
                                                                      const float* __restrict mean_b,
                                                                      const float* __restrict mean_dd,
                                                                      const float* __restrict mean_ab,
                                                                      float* __restrict map, int n) {
  for (int j = 0; j < n; ++j) {
    const float mu_a = mean_a[j] + k_centre, mu_b = mean_b[j] + k_centre;
    const float cov = mean_ab[j] - mean_a[j] * mean_b[j];
    const float mean_d = mean_a[j] - mean_b[j];
    const float variances = (mean_dd[j] - mean_d * mean_d) + 2 * cov;
    map[j] = ((2 * mu_a * mu_b + k_c1) * (2 * cov + k_c2)) / ((mu_a * mu_a + mu_b * mu_b + k_c1) * (variances + k_c2));
  }
}

// One row of the SSIM map: the vertical pass of each window sum, then the formula.
void ssim_map_row(const WindowRows& rows, const float* taps, float* means, float* map, int n) {
  for (int q = 0; q < k_sums; ++q) filter_down_column(rows[q], taps, means + static_cast<std::size_t>(q) * n, n);
  ssim_formula(means, means + n, means + 2 * n, means + 3 * n, map, n);
}

}  // namespace

cv::Vec3d gaussian_ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map) {
  static const Taps taps = gaussian_taps();
  const int width = a.cols, height = a.rows;
  // The frame is scored in strips of columns, so that the ring of one strip (5 sums x 16 rows
  // x 64 pixels, 60 KB) stays in the L2 cache while the vertical pass reads eleven rows of it
  // per output row; whole rows would stream 0.5 MB from memory per output row at 768 pixels.
  constexpr int k_strip = 32;
  const int max_n = std::min(width, k_strip) * k_channels;
  const int max_padded = max_n + 2 * k_radius * k_channels;

  // Reused across calls: fresh buffers per frame would be page-faulted in every time.
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<std::size_t>(k_sums) * max_padded + static_cast<std::size_t>(k_sums) * k_ring * max_n +
                 static_cast<std::size_t>(k_sums) * max_n + max_n);
  float* const centred_a = scratch.data();
  float* const centred_b = centred_a + max_padded;
  float* const products[2] = {centred_b + max_padded, centred_b + 2 * max_padded};
  float* const ring = centred_a + static_cast<std::size_t>(k_sums) * max_padded;
  float* const means = ring + static_cast<std::size_t>(k_sums) * k_ring * max_n;  // the window sums of a map row
  float* const map_row = means + static_cast<std::size_t>(k_sums) * max_n;
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

    // Away from the frame's left and right edges the padded strip is one contiguous run of bytes;
    // at the edges it is gathered through the reflected columns first.
    const bool interior = x0 >= k_radius && x0 + strip + k_radius <= width;
    std::vector<std::uint8_t> gathered_a(interior ? 0 : padded), gathered_b(interior ? 0 : padded);
    const auto filter_source_row = [&](int y) {
      const std::uint8_t* row_a = a.ptr<std::uint8_t>(y);
      const std::uint8_t* row_b = b.ptr<std::uint8_t>(y);
      const std::uint8_t* run_a = gathered_a.data();
      const std::uint8_t* run_b = gathered_b.data();
      if (interior) {
        run_a = row_a + (x0 - k_radius) * k_channels;
        run_b = row_b + (x0 - k_radius) * k_channels;
      } else {
        for (int p = 0; p < strip + 2 * k_radius; ++p)
          for (int c = 0; c < k_channels; ++c) {
            gathered_a[p * k_channels + c] = row_a[source_column[p] * k_channels + c];
            gathered_b[p * k_channels + c] = row_b[source_column[p] * k_channels + c];
          }
      }
      centre_and_multiply(run_a, run_b, padded, centred_a, centred_b, products[0], products[1]);
      const float* sources[k_sums] = {centred_a, centred_b, products[0], products[1]};
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
      ssim_map_row(rows, taps.data(), means, map_row, n);
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
