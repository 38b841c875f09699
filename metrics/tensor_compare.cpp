#include "metrics/tensor_compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

namespace ffn {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// What ulp needs of a dtype, looked up once so the per-element path does not switch on it.
struct Grid {
  int emin;       // exponent of the smallest normal number
  int mant_bits;  // precision_bits - 1
};

Grid grid_of(DType t) { return {std::ilogb(min_normal(t)), precision_bits(t) - 1}; }

// ulp(x) on the grid, built from bits so that the hot loop makes no libm call. The biased
// exponent field is floor(log2|x|); fp64 subnormals (field 0) read as -1023, below every emin,
// so the clamp handles them too. Below 2^-1022 (fp64 grid only) the ulp is itself an fp64
// subnormal, a single bit of the fraction field.
double ulp_on(const Grid& g, double x) {
  const auto field = static_cast<int>((std::bit_cast<std::uint64_t>(x) >> 52) & 0x7ff);
  const int e = std::max(field - 1023, g.emin) - g.mant_bits;
  const std::uint64_t bits = e >= -1022 ? static_cast<std::uint64_t>(e + 1023) << 52
                                        : std::uint64_t(1) << (e + 1074);
  return std::bit_cast<double>(bits);
}

// The 99th percentile (nearest rank) of non-negative values; reorders them. nth_element over
// a quarter of a million doubles costs as much as the whole comparison pass, so a histogram
// keyed by the top bits of the IEEE pattern (monotonic for non-negative doubles: exponent and
// 3 fraction bits) finds the bucket that holds the rank, and nth_element runs on that bucket.
double percentile99(std::span<double> values, double max_value) {
  // All zero (identical tensors) would pile every count onto one histogram slot, the slowest
  // case for it.
  if (values.empty() || max_value == 0) return 0;
  constexpr int kShift = 49;
  const auto bucket = [](double v) { return std::bit_cast<std::uint64_t>(v) >> kShift; };
  std::vector<std::size_t> counts(std::size_t(1) << (63 - kShift));
  for (double v : values) ++counts[bucket(v)];
  std::size_t rank = (99 * values.size() + 99) / 100;  // ceil(0.99 m), 1-based
  std::size_t b = 0;
  for (; rank > counts[b]; ++b) rank -= counts[b];
  const auto in_bucket =
      std::partition(values.begin(), values.end(), [&](double v) { return bucket(v) == b; });
  const auto nth = values.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(values.begin(), nth, in_bucket);
  return *nth;
}

double relative(double abs_err, double magnitude) {
  return magnitude != 0 ? abs_err / magnitude : (abs_err > 0 ? kInf : 0.0);
}

struct Verdict {
  double abs_err, rel_err, allowed;
  bool match;
};

Verdict judge(double a, double e, const Tolerance& tol, bool equal_nan) {
  const double allowed = tol.atol + tol.rtol * std::abs(e);
  if (std::isfinite(a) && std::isfinite(e)) {
    const double abs_err = std::abs(a - e);
    return {abs_err, relative(abs_err, std::abs(e)), allowed, abs_err <= allowed};
  }
  // Arithmetic would get these wrong (inf - inf is NaN, so a matching infinity would fail the
  // tolerance test), so the rules are spelt out: a == e already rejects NaN and opposite signs.
  const bool match = std::isnan(a) && std::isnan(e) ? equal_nan : a == e;
  // A matching pair counts as no difference, as torch zeroes the differences of matches; a
  // mismatching one as an infinite difference, so no maximum or ranking can hide it.
  return match ? Verdict{0, 0, allowed, true} : Verdict{kInf, kInf, allowed, false};
}

// Plain double sums inside blocks of kBlock elements, compensated (Neumaier) sums of the
// blocks: the relative error stays near kBlock * 2^-53 at any length (1e8 elements included)
// while the per-element cost stays one plain add.
constexpr std::size_t kBlock = 1024;

struct CompensatedSum {
  double sum = 0, carry = 0;
  void add(double x) {
    const double t = sum + x;
    carry += std::abs(sum) >= std::abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + carry; }
};

// The first (lowest index) element with the greatest value wins ties.
struct Argmax {
  double value = -1;
  std::int64_t index = -1;
  void offer(double v, std::int64_t i) {
    if (v > value) value = v, index = i;
  }
};

// The k greatest absolute differences, worst first, ties in index order. A heap whose front is
// the least bad kept element: O(n log k), and most elements cost one compare.
class WorstK {
 public:
  explicit WorstK(int k) : k_(static_cast<std::size_t>(std::max(k, 0))) {
    heap_.reserve(k_);
    threshold_ = k_ ? 0.0 : kInf;
  }

  // What an element must exceed to enter. Elements are offered in increasing index order, so
  // an equal difference never displaces a kept one; and an element without any difference is
  // not "worst" of anything.
  double threshold() const { return threshold_; }

  void offer(double abs_err, std::int64_t index) {
    if (!(abs_err > threshold_)) return;
    if (heap_.size() == k_) {
      std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
      heap_.pop_back();
    }
    heap_.push_back({abs_err, index});
    std::push_heap(heap_.begin(), heap_.end(), ranks_before);
    if (heap_.size() == k_) threshold_ = heap_.front().abs_err;
  }

  std::vector<std::int64_t> indices() && {
    std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
    std::vector<std::int64_t> out;
    out.reserve(heap_.size());
    for (const Ranked& r : heap_) out.push_back(r.index);
    return out;
  }

 private:
  struct Ranked {
    double abs_err;
    std::int64_t index;
  };
  static bool ranks_before(const Ranked& x, const Ranked& y) {
    return x.abs_err > y.abs_err || (x.abs_err == y.abs_err && x.index < y.index);
  }

  std::size_t k_;
  double threshold_;
  std::vector<Ranked> heap_;
};

template <class A, class E>
TensorComparison compare(std::span<const A> actual, std::span<const E> expected,
                         std::int64_t rows, std::int64_t cols, const CompareOptions& options) {
  const Tolerance tol = options.tol;
  const bool equal_nan = options.equal_nan;
  const Grid grid = grid_of(options.ulp_dtype);
  const std::size_t n = actual.size();

  CompensatedSum err2, exp2, act2, dot;
  std::size_t finite_pairs = 0;
  std::int64_t mismatched = 0, nonfinite_mismatched = 0, nan_actual = 0, inf_actual = 0;
  Argmax any_abs, any_rel, bad_abs, bad_rel;
  WorstK worst(options.worst_k);
  double ulp_max = 0;
  const auto ulps = std::make_unique_for_overwrite<double[]>(n);
  std::array<std::uint32_t, kBlock> candidates;

  for (std::size_t b0 = 0; b0 < n; b0 += kBlock) {
    const std::size_t len = std::min(n - b0, kBlock);
    // The streaming part: no calls and no branches, so that it stays in registers. It also
    // sets aside every element that could change a maximum, the worst-k or the mismatch count,
    // judged against the values those had when the block began; as they only grow, that is a
    // superset of the elements that matter, and the exact tests below see only those. The
    // relative test needs no divide: rounding is monotonic, so fl(abs / mag) > r implies
    // abs >= fl(r * mag).
    const double abs_floor = any_abs.value, rel_floor = any_rel.value;
    const double worst_floor = worst.threshold();
    double e2 = 0, ex2 = 0, a2 = 0, ae = 0;
    std::size_t n_candidates = 0;
    for (std::size_t j = 0; j < len; ++j) {
      const double a = actual[b0 + j], e = expected[b0 + j];
      const bool finite = std::isfinite(a) && std::isfinite(e);
      const double af = finite ? a : 0.0, ef = finite ? e : 0.0, d = af - ef;
      e2 += d * d;
      ex2 += ef * ef;
      a2 += af * af;
      ae += af * ef;
      const double abs_err = std::abs(d), mag = std::abs(ef);
      const double ulp_dist = abs_err / ulp_on(grid, ef);
      ulps[finite_pairs] = ulp_dist;
      finite_pairs += finite;
      ulp_max = std::max(ulp_max, ulp_dist);
      const bool candidate = !finite | (abs_err > abs_floor) | (abs_err >= rel_floor * mag) |
                             !(abs_err <= tol.atol + tol.rtol * mag) | (abs_err > worst_floor);
      candidates[n_candidates] = static_cast<std::uint32_t>(j);
      n_candidates += candidate;
    }
    err2.add(e2);
    exp2.add(ex2);
    act2.add(a2);
    dot.add(ae);

    for (std::size_t c = 0; c < n_candidates; ++c) {
      const std::size_t i = b0 + candidates[c];
      const auto idx = static_cast<std::int64_t>(i);
      const double a = actual[i], e = expected[i];
      const Verdict v = judge(a, e, tol, equal_nan);
      nan_actual += std::isnan(a);
      inf_actual += std::isinf(a);
      any_abs.offer(v.abs_err, idx);
      any_rel.offer(v.rel_err, idx);
      if (!v.match) {
        ++mismatched;
        nonfinite_mismatched += !(std::isfinite(a) && std::isfinite(e));
        bad_abs.offer(v.abs_err, idx);
        bad_rel.offer(v.rel_err, idx);
      }
      worst.offer(v.abs_err, idx);
    }
  }

  const auto diff_at = [&](std::int64_t i) {
    ElementDiff d;
    if (i < 0) return d;
    const Verdict v = judge(actual[i], expected[i], tol, equal_nan);
    d.index = i;
    d.row = cols ? i / cols : 0;
    d.col = cols ? i % cols : 0;
    d.actual = actual[i];
    d.expected = expected[i];
    d.abs_err = v.abs_err;
    d.rel_err = v.rel_err;
    d.allowed = v.allowed;
    return d;
  };

  TensorComparison r;
  r.rows = rows;
  r.cols = cols;
  r.numel = static_cast<std::int64_t>(n);
  r.tol = tol;
  r.mismatched = mismatched;
  r.nonfinite_mismatched = nonfinite_mismatched;
  r.nan_actual = nan_actual;
  r.inf_actual = inf_actual;
  r.max_abs = std::max(any_abs.value, 0.0);
  r.max_rel = std::max(any_rel.value, 0.0);
  // As torch's report: once something mismatches, the greatest differences are sought among
  // the mismatches only, or a passing element (say expected 0, actual 1e-7: relative error
  // inf) would be named as the culprit.
  r.greatest_abs = diff_at(mismatched ? bad_abs.index : any_abs.index);
  r.greatest_rel = diff_at(mismatched ? bad_rel.index : any_rel.index);
  for (std::int64_t i : std::move(worst).indices()) r.worst.push_back(diff_at(i));

  const double se = err2.value(), sx = exp2.value(), sa = act2.value(), sd = dot.value();
  r.rmse = finite_pairs ? std::sqrt(se / static_cast<double>(finite_pairs)) : 0.0;
  r.nmse = sx > 0 ? se / sx : (se > 0 ? kInf : 0.0);
  if (sa == 0 || sx == 0) {
    r.cosine = sa == sx ? 1.0 : 0.0;
  } else {
    // sqrt(fl(s * s)) == s, so identical tensors give exactly 1; the split form is only for
    // products that leave the double range.
    const double prod = sa * sx;
    const double norm = std::isnormal(prod) ? std::sqrt(prod) : std::sqrt(sa) * std::sqrt(sx);
    r.cosine = std::clamp(sd / norm, -1.0, 1.0);
  }
  r.snr_db = se == 0 ? kInf : 10 * std::log10(sx / se);
  r.ulp_max = ulp_max;
  r.ulp_p99 = percentile99({ulps.get(), finite_pairs}, ulp_max);
  return r;
}

template <class A, class E>
TensorComparison compare_matrices(const Matrix<A>& actual, const Matrix<E>& expected,
                                  const CompareOptions& options) {
  if (actual.rows() != expected.rows() || actual.cols() != expected.cols())
    throw std::invalid_argument(
        fmt::format("compare_tensors: shapes differ: [{}, {}] vs [{}, {}] (actual vs expected)",
                    actual.rows(), actual.cols(), expected.rows(), expected.cols()));
  return compare(actual.values(), expected.values(), actual.rows(), actual.cols(), options);
}

}  // namespace

double ulp_of(DType t, double x) {
  if (!std::isfinite(x)) return std::abs(x);
  return ulp_on(grid_of(t), x);
}

TensorComparison compare_tensors(std::span<const double> actual, std::span<const double> expected,
                                 std::int64_t cols, const CompareOptions& options) {
  const auto n = static_cast<std::int64_t>(actual.size());
  if (actual.size() != expected.size())
    throw std::invalid_argument(fmt::format(
        "compare_tensors: shapes differ: [{}] vs [{}] (actual vs expected)", n, expected.size()));
  if (cols < 0 || (cols == 0 ? n != 0 : n % cols != 0))
    throw std::invalid_argument(fmt::format(
        "compare_tensors: actual [{}] and expected [{}] cannot be viewed as rows of {} columns", n,
        n, cols));
  return compare(actual, expected, cols ? n / cols : 0, cols, options);
}

TensorComparison compare_tensors(const Matrix<float>& actual, const Matrix<float>& expected,
                                 const CompareOptions& options) {
  return compare_matrices(actual, expected, options);
}

TensorComparison compare_tensors(const Matrix<float>& actual, const Matrix<double>& expected,
                                 const CompareOptions& options) {
  return compare_matrices(actual, expected, options);
}

std::string TensorComparison::mismatch_report() const {
  if (allclose()) return fmt::format("Tensor-likes are close (0 / {} mismatched)", numel);
  std::string out =
      fmt::format("Tensor-likes are not close!\n\nMismatched elements: {} / {} ({:.1f}%)\n",
                  mismatched, numel, 100.0 * mismatch_fraction());
  if (nonfinite_mismatched)
    out += fmt::format("Mismatched NaN/Inf elements: {} (actual holds {} NaN, {} Inf)\n",
                       nonfinite_mismatched, nan_actual, inf_actual);
  out += fmt::format("Greatest absolute difference: {} at index ({}, {}) (up to {} allowed)\n",
                     greatest_abs.abs_err, greatest_abs.row, greatest_abs.col, tol.atol);
  out += fmt::format("Greatest relative difference: {} at index ({}, {}) (up to {} allowed)",
                     greatest_rel.rel_err, greatest_rel.row, greatest_rel.col, tol.rtol);
  return out;
}

}  // namespace ffn
