#include "metrics/gaussian_ssim.hpp"

#include <immintrin.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace ffn {

namespace {

constexpr int k_radius = 5;
constexpr int k_taps = 2 * k_radius + 1;
constexpr int k_channels = 3;
// The window sums of a pixel over the centred values: a, b, (a-b)^2, a*b. The formula needs
// the two variances only as their sum, var_a + var_b = var(a-b) + 2 cov(a, b), so four
// filters, not five; and var(a-b) is small where the frames are close, where SSIM needs its
// digits. Differences and products of centred 8-bit values are integers, exact in float.
constexpr int k_sums = 4;
constexpr float k_centre = 128;
constexpr float k_c1 = 6.5025f;   // (K1 L)^2 = (0.01 * 255)^2
constexpr float k_c2 = 58.5225f;  // (K2 L)^2 = (0.03 * 255)^2

// The loops work on blocks of eight floats, one AVX2 register (two SSE registers in the
// baseline clone). A strip's row of values is cut into blocks; the four window sums of a block
// lie side by side in the ring, so the twelve row pointers of the vertical pass serve all four
// sums.
constexpr int k_lanes = 8;
using Block = float __attribute__((vector_size(k_lanes * sizeof(float))));

// The frame is scored in strips of 32 columns: 96 floats a row, twelve blocks.
constexpr int k_strip = 32;
constexpr int k_strip_blocks = k_strip * k_channels / k_lanes;
static_assert(k_strip * k_channels % k_lanes == 0);
// The ring holds the horizontally filtered rows of the virtual rows y-5 .. y+6 that output rows y
// and y+1 read (virtual row v < 0 or >= height is source row reflect101(v)): twelve slots of a
// whole strip's blocks, the slot of virtual row v being (v + 5) mod 12. A pair's window is the
// whole ring, each row at a slot known from y mod 12: constant offsets from one pointer.
constexpr int k_pair_window = k_taps + 1;
constexpr int k_ring = k_pair_window;
constexpr int k_slot = k_sums * k_strip_blocks * k_lanes;  // floats

[[gnu::always_inline]] inline Block load(const float* p) {
  Block v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, Block v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline Block splat(float x) { return Block{} + x; }

// Fused multiply-add, lane by lane: one vfmadd where the clone has FMA, the C library's
// correctly rounded fmaf where it has not. Either way each lane rounds once, so the AVX2 clone
// and the baseline one give the same bits (the file is built with -ffp-contract=off: no
// other operation is fused behind our back), and scores do not depend on the machine.
[[gnu::always_inline]] inline Block fma(Block a, Block b, Block c) {
  Block r;
  for (int l = 0; l < k_lanes; ++l) r[l] = __builtin_fmaf(a[l], b[l], c[l]);
  return r;
}

// The taps GaussianBlur applies to float images: getGaussianKernel in the float depth, as
// blocks. Only the centre and one side: the window is symmetric, so pairs share a multiply.
struct Taps {
  std::array<Block, k_radius + 1> side;  // side[k] = tap at distance k from the centre
};

Taps gaussian_taps() {
  const cv::Mat k = cv::getGaussianKernel(k_taps, 1.5, CV_32F);
  Taps taps;
  for (int d = 0; d <= k_radius; ++d) taps.side[d] = splat(k.at<float>(k_radius + d));
  return taps;
}

// The portable kernels are compiled twice, for x86-64-v3 (AVX2 + FMA) and for the baseline,
// picked at load time; where the machine has AVX-512VL, kernels of their own replace the
// horizontal and the vertical pass (have_avx512vl), doing the same operations in the same order.

// The window sum along the row at `centre` (an interleaved row: a step of three floats is one
// pixel, so the channels never mix).
[[gnu::always_inline]] inline Block along_row(const float* centre, const Taps& taps) {
  Block s = taps.side[0] * load(centre);
#pragma GCC unroll 5
  for (int k = 1; k <= k_radius; ++k)
    s = fma(taps.side[k], load(centre - k * k_channels) + load(centre + k * k_channels), s);
  return s;
}

// The centred values of a padded run of both frames and their products, the four rows the
// horizontal pass filters, `stride` floats apart.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void centre_and_multiply(
    const std::uint8_t* __restrict run_a, const std::uint8_t* __restrict run_b, int n, float* __restrict centred,
    int stride) {
  float* __restrict a = centred;
  float* __restrict b = centred + stride;
  float* __restrict dd = centred + 2 * stride;
  float* __restrict ab = centred + 3 * stride;
  for (int i = 0; i < n; ++i) {
    const float va = static_cast<float>(run_a[i]) - k_centre, vb = static_cast<float>(run_b[i]) - k_centre;
    a[i] = va;
    b[i] = vb;
    dd[i] = (va - vb) * (va - vb);
    ab[i] = va * vb;
  }
}

// The horizontal pass of one source row: `centred` holds the four border-padded rows to filter
// (a, b, (a-b)^2, ab), `stride` floats apart; `out` receives their window sums, block by block,
// the four sums of a block side by side.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void filter_along_row(const float* __restrict centred,
                                                                                    int stride, float* __restrict out,
                                                                                    int blocks, const Taps& taps) {
  for (int v = 0; v < blocks; ++v)
#pragma GCC unroll 4
    for (int q = 0; q < k_sums; ++q)
      store(out + (v * k_sums + q) * k_lanes,
            along_row(centred + q * stride + v * k_lanes + k_radius * k_channels, taps));
}

// The centring and the horizontal pass together, for machines with AVX-512VL, with the same
// bits: the padded runs of both frames are read eight bytes at a time, each block of the four
// rows is made once, in registers (32 of them), and the ten shifted copies the taps need are
// cut from neighbouring blocks with valignd. The portable pass stores the four rows and loads
// each shifted copy unaligned, about half of those loads straddling two cache lines.
// GCC's and clang's way alike (clang ignores #pragma GCC target).
#define AVX512_KERNEL __attribute__((target("avx2,fma,avx512f,avx512vl")))
constexpr int k_window_blocks = 5;  // a block's taps reach 15 floats either side: five blocks
struct WindowBlocks {  // a C array: std::array would drop __m256's attributes
  __m256 block[k_window_blocks];
  __m256& operator[](int i) { return block[i]; }
  const __m256& operator[](int i) const { return block[i]; }
};

// The eight floats at offset `Off` of the window's forty.
template <int Off>
AVX512_KERNEL __m256 window_block(const WindowBlocks& w) {
  constexpr int first = Off / k_lanes, shift = Off % k_lanes;
  if constexpr (shift == 0) {
    return w[first];
  } else {
    return _mm256_castsi256_ps(
        _mm256_alignr_epi32(_mm256_castps_si256(w[first + 1]), _mm256_castps_si256(w[first]), shift));
  }
}

struct TapRegisters {
  __m256 side[k_radius + 1];
  const __m256& operator[](int k) const { return side[k]; }
};

// along_row's sum from distance K on, with its order of operations.
template <int K>
AVX512_KERNEL __m256 add_tap_pairs(const WindowBlocks& w, const TapRegisters& taps, __m256 s) {
  if constexpr (K > k_radius) {
    return s;
  } else {
    constexpr int centre = k_radius * k_channels;
    const __m256 pair =
        _mm256_add_ps(window_block<centre - K * k_channels>(w), window_block<centre + K * k_channels>(w));
    return add_tap_pairs<K + 1>(w, taps, _mm256_fmadd_ps(taps[K], pair, s));
  }
}

// The centred values of bytes run[i*8 .. i*8+7].
AVX512_KERNEL __m256 centred_block(const std::uint8_t* run, int i) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(run + i * k_lanes));
  return _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), _mm256_set1_ps(k_centre));
}

// Block i of the four rows centre_and_multiply makes, into slot `at` of the windows.
AVX512_KERNEL void centred_blocks(const std::uint8_t* run_a, const std::uint8_t* run_b, int i,
                                  WindowBlocks (&w)[k_sums], int at) {
  const __m256 va = centred_block(run_a, i), vb = centred_block(run_b, i), d = _mm256_sub_ps(va, vb);
  w[0][at] = va;
  w[1][at] = vb;
  w[2][at] = _mm256_mul_ps(d, d);
  w[3][at] = _mm256_mul_ps(va, vb);
}

// `run_a` and `run_b` readable for (blocks + 4) * 8 bytes.
AVX512_KERNEL void filter_along_row_avx512(const std::uint8_t* run_a, const std::uint8_t* run_b, float* __restrict out,
                             int blocks, const Taps& taps) {
  TapRegisters t;
  for (int d = 0; d <= k_radius; ++d) std::memcpy(&t.side[d], &taps.side[d], sizeof t.side[d]);
  WindowBlocks w[k_sums];
  for (int i = 0; i + 1 < k_window_blocks; ++i) centred_blocks(run_a, run_b, i, w, i);
  for (int v = 0; v < blocks; ++v) {
    centred_blocks(run_a, run_b, v + k_window_blocks - 1, w, k_window_blocks - 1);
#pragma GCC unroll 4
    for (int q = 0; q < k_sums; ++q) {
      const __m256 s = _mm256_mul_ps(t[0], window_block<k_radius * k_channels>(w[q]));
      _mm256_store_ps(out + (v * k_sums + q) * k_lanes, add_tap_pairs<1>(w[q], t, s));
      for (int i = 0; i + 1 < k_window_blocks; ++i) w[q][i] = w[q][i + 1];
    }
  }
}

bool have_avx512vl() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"); }
bool portable_only = false;  // detail::use_portable_ssim_kernels

// Wang et al.'s formula over the four window sums of a block, with each denominator written as
// its numerator plus what it exceeds it by: mu_a^2 + mu_b^2 = 2 mu_a mu_b + (mu_a - mu_b)^2, and
// var_a + var_b + C2 = (2 cov + C2) + var(a-b). Fewer operations, and for identical frames the
// excess terms are 0 exactly (the window sum of (a-b)^2 and the difference of the means are 0),
// so the map is exactly 1. No fused operation here, on purpose.
[[gnu::always_inline]] inline Block ssim_formula(Block mean_a, Block mean_b, Block mean_dd, Block mean_ab) {
  const Block mu_a = mean_a + k_centre, mu_b = mean_b + k_centre;
  const Block mean_d = mean_a - mean_b;
  const Block mean_d2 = mean_d * mean_d;
  const Block luminance = 2 * (mu_a * mu_b) + k_c1;
  const Block contrast = 2 * (mean_ab - mean_a * mean_b) + k_c2;
  return (luminance * contrast) / ((luminance + mean_d2) * (contrast + (mean_dd - mean_d2)));
}

// Where the rows of a pair's window lie: row k of the window (virtual row y-5+k) in ring slot
// (y + k) mod 12. RingRows<Y> knows y mod 12 when compiled, so each row is a constant offset
// from the ring; AnyRingRows takes it at run time, as twelve pointers.
template <int Y>
struct RingRows {
  const float* ring;
  const float* row(int k) const { return ring + (Y + k) % k_ring * k_slot; }
};
struct AnyRingRows {
  const float* rows[k_pair_window];
  AnyRingRows(const float* ring, int y) {
    for (int k = 0; k < k_pair_window; ++k) rows[k] = ring + (y + k) % k_ring * k_slot;
  }
  const float* row(int k) const { return rows[k]; }
};

// The window sums of block `at` down window rows first .. first+10.
template <class Rows>
[[gnu::always_inline]] inline Block down_column(const Rows& rows, int first, int at, const Taps& taps) {
  Block s = taps.side[0] * load(rows.row(first + k_radius) + at);
#pragma GCC unroll 5
  for (int k = 1; k <= k_radius; ++k)
    s = fma(taps.side[k], load(rows.row(first + k_radius - k) + at) + load(rows.row(first + k_radius + k) + at), s);
  return s;
}

// sums[0..7] += m1 + second * m2, in double: the map is summed down a whole strip. `Wide`: the
// eight doubles in one register (AVX-512); else in halves of four, one AVX2 register each.
template <bool Wide>
[[gnu::always_inline]] inline void add_to(double* __restrict sums, Block m1, Block m2, double second) {
  if constexpr (Wide) {
    using Doubles = double __attribute__((vector_size(k_lanes * sizeof(double))));
    Doubles s;
    std::memcpy(&s, sums, sizeof s);
    s += __builtin_convertvector(m1, Doubles) + second * __builtin_convertvector(m2, Doubles);
    std::memcpy(sums, &s, sizeof s);
  } else {
    using Doubles = double __attribute__((vector_size(k_lanes / 2 * sizeof(double))));
    const auto low = [](Block m) { return __builtin_convertvector(__builtin_shufflevector(m, m, 0, 1, 2, 3), Doubles); };
    const auto high = [](Block m) { return __builtin_convertvector(__builtin_shufflevector(m, m, 4, 5, 6, 7), Doubles); };
    Doubles s[2];
    std::memcpy(s, sums, sizeof s);
    s[0] += low(m1) + second * low(m2);
    s[1] += high(m1) + second * high(m2);
    std::memcpy(sums, s, sizeof s);
  }
}

// Rows y and y+1 of the SSIM map: the vertical pass of the four window sums, the formula, the
// map rows, and the maps added to the column sums. Two rows at a time, since they share ten of
// their twelve source rows: each ring row is loaded once for both. (For the last row of a frame
// of odd height the second row is computed from virtual rows, and not counted.)
template <bool Wide, class Rows>
[[gnu::always_inline]] inline void map_rows(const Rows& rows, int blocks, const Taps& taps, float* __restrict map,
                                            double* __restrict column_sums, double second_weight) {
  for (int v = 0; v < blocks; ++v) {
    Block first[k_sums], second[k_sums];
#pragma GCC unroll 4
    for (int q = 0; q < k_sums; ++q) {
      const int at = (v * k_sums + q) * k_lanes;
      first[q] = down_column(rows, 0, at, taps);
      second[q] = down_column(rows, 1, at, taps);
    }
    const Block m1 = ssim_formula(first[0], first[1], first[2], first[3]);
    const Block m2 = ssim_formula(second[0], second[1], second[2], second[3]);
    store(map + v * k_lanes, m1);
    store(map + k_strip_blocks * k_lanes + v * k_lanes, m2);
    add_to<Wide>(column_sums + v * k_lanes, m1, m2, second_weight);
  }
}

// `map` receives the two map rows, a strip's width apart.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void ssim_map_rows(const float* ring, int y, int blocks,
                                                                                 const Taps& taps, float* map,
                                                                                 double* column_sums,
                                                                                 double second_weight) {
  map_rows<false>(AnyRingRows(ring, y), blocks, taps, map, column_sums, second_weight);
}

// The same operations with AVX-512VL: 32 registers hold the eight window sums of a block, the
// taps and the rows loaded, and the twelve rows are offsets from one pointer, where the AVX2 clone
// runs out of registers for both.
template <int Y>
AVX512_KERNEL void ssim_map_rows_avx512_at(const float* ring, int blocks, const Taps& taps, float* map, double* column_sums,
                             double second_weight) {
  map_rows<true>(RingRows<Y>{ring}, blocks, taps, map, column_sums, second_weight);
}

// Pairs start at even rows: six kernels, one per even y mod 12.
template <int... Pair>
AVX512_KERNEL void ssim_map_rows_avx512(const float* ring, int y, int blocks, const Taps& taps, float* map, double* column_sums,
                          double second_weight, std::integer_sequence<int, Pair...>) {
  using Kernel = void (*)(const float*, int, const Taps&, float*, double*, double);
  static constexpr Kernel kernels[] = {&ssim_map_rows_avx512_at<2 * Pair>...};
  kernels[y % k_ring / 2](ring, blocks, taps, map, column_sums, second_weight);
}

}  // namespace

cv::Vec3d gaussian_ssim(const cv::Mat& a, const cv::Mat& b, cv::Mat* map) {
  static const Taps taps = gaussian_taps();
  static const bool have_avx512 = have_avx512vl();
  const bool avx512 = have_avx512 && !portable_only;
  const int width = a.cols, height = a.rows;
  // Strips of columns, so that the ring of one strip (12 rows x 4 sums x 96 floats, 18 KB) stays
  // in the L1 cache while the vertical pass reads all of it per pair of output rows; whole rows
  // would stream 0.4 MB from the L2 cache per pair at 768 pixels.
  // A padded row to filter: the blocks, and the border pixels either side of them.
  constexpr int k_row_floats = k_strip_blocks * k_lanes;
  constexpr int k_prefetch_rows = 4;
  constexpr int k_stride = k_row_floats + 2 * k_radius * k_channels;

  // Reused across calls: fresh buffers per frame would be page-faulted in every time. Each part
  // starts on a cache line: a block load that straddles two lines costs the vertical pass half
  // its speed.
  constexpr std::size_t k_line = 64 / sizeof(float);
  constexpr auto lines = [](std::size_t floats) { return (floats + k_line - 1) / k_line * k_line; };
  constexpr std::size_t k_centred_size = lines(static_cast<std::size_t>(k_sums) * k_stride);
  constexpr std::size_t k_ring_size = lines(static_cast<std::size_t>(k_ring) * k_slot);
  constexpr std::size_t k_map_size = lines(2 * static_cast<std::size_t>(k_row_floats));
  thread_local std::vector<float> scratch;
  scratch.assign(k_centred_size + k_ring_size + k_map_size + k_line, 0.0f);
  float* const centred =
      scratch.data() + (k_line - reinterpret_cast<std::uintptr_t>(scratch.data()) / sizeof(float) % k_line) % k_line;
  float* const ring = centred + k_centred_size;
  float* const map_rows = ring + k_ring_size;  // map rows y and y+1 of the strip, a strip's width apart

  if (map) map->create(height, width, CV_32FC1);
  double sums[k_channels] = {0, 0, 0};
  std::vector<int> source_column(k_strip + 2 * k_radius);
  std::vector<double> column_sums(k_row_floats);  // the map summed down each column of a strip
  for (int x0 = 0; x0 < width; x0 += k_strip) {
    const int strip = std::min(k_strip, width - x0);
    const int n = strip * k_channels, padded = n + 2 * k_radius * k_channels;
    const int blocks = (n + k_lanes - 1) / k_lanes;
    for (int p = 0; p < strip + 2 * k_radius; ++p)
      source_column[p] = cv::borderInterpolate(x0 + p - k_radius, width, cv::BORDER_REFLECT_101);

    // Away from the frame's left and right edges the padded strip is one contiguous run of bytes;
    // at the edges it is gathered through the reflected columns first. Lanes of the last block
    // past a narrower strip filter what an earlier strip left there (or the zeros `scratch`
    // starts with): finite values, never counted. (The AVX-512 pass reads the run in whole
    // blocks, up to two bytes past it: a strip is taken as interior only where those lie in the
    // frame's row.)
    const int run_bytes = (blocks + 4) * k_lanes;
    const bool interior = x0 >= k_radius && (x0 - k_radius) * k_channels + run_bytes <= width * k_channels;
    std::vector<std::uint8_t> gathered_a(interior ? 0 : run_bytes), gathered_b(interior ? 0 : run_bytes);
    // Virtual row v into its ring slot.
    const auto filter_virtual_row = [&](int v) {
      const int y = cv::borderInterpolate(v, height, cv::BORDER_REFLECT_101);
      const std::uint8_t* row_a = a.ptr<std::uint8_t>(y);
      const std::uint8_t* row_b = b.ptr<std::uint8_t>(y);
      const std::uint8_t* run_a = gathered_a.data();
      const std::uint8_t* run_b = gathered_b.data();
      if (interior) {
        run_a = row_a + (x0 - k_radius) * k_channels;
        run_b = row_b + (x0 - k_radius) * k_channels;
        // The strip takes two or three cache lines of each frame row, rows 2.3 KB apart, and
        // comes from L3 (another thread decoded the frame): without this, a third of the
        // horizontal pass waits for it.
        if (y + k_prefetch_rows < height)
          for (int at = 0; at < run_bytes + 64; at += 64) {
            __builtin_prefetch(run_a + static_cast<std::ptrdiff_t>(k_prefetch_rows) * a.step[0] + at);
            __builtin_prefetch(run_b + static_cast<std::ptrdiff_t>(k_prefetch_rows) * b.step[0] + at);
          }
      } else {
        for (int p = 0; p < strip + 2 * k_radius; ++p)
          for (int c = 0; c < k_channels; ++c) {
            gathered_a[p * k_channels + c] = row_a[source_column[p] * k_channels + c];
            gathered_b[p * k_channels + c] = row_b[source_column[p] * k_channels + c];
          }
      }
      float* const into = ring + static_cast<std::size_t>((v + k_radius) % k_ring) * k_slot;
      if (avx512) {
        filter_along_row_avx512(run_a, run_b, into, blocks, taps);
      } else {
        centre_and_multiply(run_a, run_b, padded, centred, k_stride);
        filter_along_row(centred, k_stride, into, blocks, taps);
      }
    };

    int next = -k_radius;  // the next virtual row to filter
    std::fill(column_sums.begin(), column_sums.end(), 0.0);
    for (int y = 0; y < height; y += 2) {
      const bool both = y + 1 < height;
      while (next <= y + 1 + k_radius) filter_virtual_row(next++);
      if (avx512)
        ssim_map_rows_avx512(ring, y, blocks, taps, map_rows, column_sums.data(), both,
                             std::make_integer_sequence<int, k_ring / 2>());
      else
        ssim_map_rows(ring, y, blocks, taps, map_rows, column_sums.data(), both);
      if (map)
        for (int r = 0; r <= static_cast<int>(both); ++r) {
          const float* m = map_rows + static_cast<std::size_t>(r) * k_row_floats;
          float* out = map->ptr<float>(y + r) + x0;
          for (int x = 0; x < strip; ++x)
            out[x] = (m[x * k_channels] + m[x * k_channels + 1] + m[x * k_channels + 2]) / 3;
        }
    }
    for (int j = 0; j < n; ++j) sums[j % k_channels] += column_sums[j];
  }
  const double pixels = static_cast<double>(width) * height;
  return {sums[0] / pixels, sums[1] / pixels, sums[2] / pixels};
}

namespace detail {
bool use_portable_ssim_kernels(bool portable) {
  portable_only = portable;
  return have_avx512vl();
}
}  // namespace detail

}  // namespace ffn
