#include "metrics/skimage_ssim.hpp"

#include <cstdint>
#include <vector>

namespace ffn {

namespace {

constexpr int k_window = k_skimage_ssim_window;
constexpr int k_channels = 3;
constexpr std::int32_t k_pixels = k_window * k_window;  // NP in scikit-image

// scikit-image's constants, C1 = (K1 R)^2 and C2 = (K2 R)^2 with R = data_range = 255, in the
// units of the window sums below: the luminance terms are means times means (a factor NP^2),
// the contrast terms sample (co)variances (a factor NP (NP - 1), the cov_norm of
// use_sample_covariance folded in).
constexpr double k_c1 = (0.01 * 255) * (0.01 * 255);
constexpr double k_c2 = (0.03 * 255) * (0.03 * 255);
constexpr double k_c1_sums = k_c1 * k_pixels * k_pixels;
constexpr double k_c2_sums = k_c2 * k_pixels * (k_pixels - 1);

// Each channel's columns are k_channels apart in an interleaved row. A window sum of 49 bytes is
// at most 12495, of squares or products 3186225; every product formed below stays under 3.2e8,
// so int32 holds them exactly.
static_assert(std::int64_t{k_pixels} * k_pixels * 255 * 255 * 2 < (std::int64_t{1} << 31));

// The window sums of k_window rows, per column of an interleaved row: of a, of b, of
// a^2 + b^2 (the variances enter the formula only as their sum) and of a b.
struct ColumnSums {
  std::int32_t *a, *b, *squares, *products;
};

// Moves every column's window down one row: adds the bytes of the row entering (in_a, in_b)
// and removes those of the row leaving (out_a, out_b). All integers: the sums stay exact.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void slide_columns(
    const std::uint8_t* __restrict in_a, const std::uint8_t* __restrict in_b, const std::uint8_t* __restrict out_a,
    const std::uint8_t* __restrict out_b, int n, std::int32_t* __restrict sum_a, std::int32_t* __restrict sum_b,
    std::int32_t* __restrict sum_squares, std::int32_t* __restrict sum_products) {
  for (int i = 0; i < n; ++i) {
    const std::int32_t ia = in_a[i], ib = in_b[i], oa = out_a[i], ob = out_b[i];
    sum_a[i] += ia - oa;
    sum_b[i] += ib - ob;
    sum_squares[i] += ia * ia + ib * ib - oa * oa - ob * ob;
    sum_products[i] += ia * ib - oa * ob;
  }
}

// One row of the SSIM map from the column sums: value j (pixel j / 3, channel j % 3) is that of
// the window over columns j, j + 3, ..., j + 18. scikit-image's
//   S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2)),
// with ux = Sa / NP, vx = (NP Saa - Sa^2) / (NP (NP - 1)), vxy = (NP Sab - Sa Sb) / (NP (NP - 1)),
// is, multiplied through by NP^2 and NP (NP - 1):
//   (2 Sa Sb + C1') (2 (NP Sab - Sa Sb) + C2') / ((Sa^2 + Sb^2 + C1') (NP (Saa + Sbb) - Sa^2 - Sb^2 + C2')).
// The integer parts are exact; each factor rounds once when its constant is added. For identical
// frames numerator and denominator are the same numbers: exactly 1.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void ssim_row(
    const std::int32_t* __restrict sum_a, const std::int32_t* __restrict sum_b,
    const std::int32_t* __restrict sum_squares, const std::int32_t* __restrict sum_products, int n_out,
    double* __restrict out) {
  for (int j = 0; j < n_out; ++j) {
    std::int32_t sa = 0, sb = 0, squares = 0, products = 0;
    for (int k = 0; k < k_window; ++k) {
      sa += sum_a[j + k * k_channels];
      sb += sum_b[j + k * k_channels];
      squares += sum_squares[j + k * k_channels];
      products += sum_products[j + k * k_channels];
    }
    const std::int32_t ab = sa * sb, sa2_sb2 = sa * sa + sb * sb;
    const double luminance = static_cast<double>(2 * ab) + k_c1_sums;
    const double luminance_norm = static_cast<double>(sa2_sb2) + k_c1_sums;
    const double contrast = static_cast<double>(2 * (k_pixels * products - ab)) + k_c2_sums;
    const double contrast_norm = static_cast<double>(k_pixels * squares - sa2_sb2) + k_c2_sums;
    out[j] = (luminance * contrast) / (luminance_norm * contrast_norm);
  }
}

__attribute__((target_clones("arch=x86-64-v3", "default"))) void add_row(const double* __restrict values, int n,
                                                                          double* __restrict sums) {
  for (int j = 0; j < n; ++j) sums[j] += values[j];
}

// Calls on_row(y, values) for every row y of the map over the windows wholly inside the frames
// (rows 0 .. height - 7, each of 3 (width - 6) interleaved values).
template <class OnRow>
void for_each_inner_row(const cv::Mat& a, const cv::Mat& b, OnRow&& on_row) {
  const int n = a.cols * k_channels, n_out = (a.cols - k_window + 1) * k_channels;
  // Reused across calls: fresh buffers per frame would be page-faulted in every time.
  thread_local std::vector<std::int32_t> sums;
  thread_local std::vector<double> values;
  thread_local std::vector<std::uint8_t> zeros;
  sums.assign(4 * static_cast<std::size_t>(n), 0);
  values.resize(n_out);
  zeros.assign(n, 0);
  const ColumnSums s{sums.data(), sums.data() + n, sums.data() + 2 * n, sums.data() + 3 * n};
  const auto slide = [&](const std::uint8_t* in_a, const std::uint8_t* in_b, const std::uint8_t* out_a,
                         const std::uint8_t* out_b) {
    slide_columns(in_a, in_b, out_a, out_b, n, s.a, s.b, s.squares, s.products);
  };
  for (int y = 0; y < k_window - 1; ++y) slide(a.ptr<std::uint8_t>(y), b.ptr<std::uint8_t>(y), zeros.data(), zeros.data());
  for (int y = 0; y + k_window <= a.rows; ++y) {
    const int in = y + k_window - 1;
    if (y == 0)
      slide(a.ptr<std::uint8_t>(in), b.ptr<std::uint8_t>(in), zeros.data(), zeros.data());
    else
      slide(a.ptr<std::uint8_t>(in), b.ptr<std::uint8_t>(in), a.ptr<std::uint8_t>(y - 1), b.ptr<std::uint8_t>(y - 1));
    ssim_row(s.a, s.b, s.squares, s.products, n_out, values.data());
    on_row(y, values.data(), n_out);
  }
}

}  // namespace

cv::Vec3d skimage_ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map) {
  constexpr int k_crop = (k_window - 1) / 2;
  if (map) {
    // scikit-image 0.19's full map: the filters see the frame extended by scipy's 'reflect'
    // (d c b a | a b c d), which is OpenCV's BORDER_REFLECT; the map of the padded frames'
    // inner windows is then the full-size map.
    cv::Mat padded_a, padded_b;
    cv::copyMakeBorder(a, padded_a, k_crop, k_crop, k_crop, k_crop, cv::BORDER_REFLECT);
    cv::copyMakeBorder(b, padded_b, k_crop, k_crop, k_crop, k_crop, cv::BORDER_REFLECT);
    map->create(a.rows, a.cols, CV_32FC1);
    for_each_inner_row(padded_a, padded_b, [&](int y, const double* v, int) {
      float* out = map->ptr<float>(y);
      for (int x = 0; x < a.cols; ++x)
        out[x] = static_cast<float>((v[x * k_channels] + v[x * k_channels + 1] + v[x * k_channels + 2]) / k_channels);
    });
  }
  // The mean over the cropped map: only the windows inside the frame.
  thread_local std::vector<double> column_sums;
  column_sums.assign(static_cast<std::size_t>(a.cols - k_window + 1) * k_channels, 0.0);
  for_each_inner_row(a, b, [&](int, const double* v, int n) { add_row(v, n, column_sums.data()); });
  double sums[k_channels] = {0, 0, 0};
  for (std::size_t j = 0; j < column_sums.size(); ++j) sums[j % k_channels] += column_sums[j];
  const double windows = static_cast<double>(a.cols - k_window + 1) * (a.rows - k_window + 1);
  return {sums[0] / windows, sums[1] / windows, sums[2] / windows};
}

}  // namespace ffn
