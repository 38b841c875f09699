#include "harness/ffn_error_model.hpp"

#include <cmath>

#include "kernels/cpu/gemm.hpp"

namespace ffn {

namespace {
constexpr double k_u32 = 0x1.0p-24;

Matrix<float> squared(const Matrix<float>& m) {
  Matrix<float> s(m.rows(), m.cols());
  for (std::size_t i = 0; i < m.size(); ++i) s.data()[i] = m.data()[i] * m.data()[i];
  return s;
}

// Accumulating k terms t_i in fp32 (plus one bias add) errs by sum_i d_i s_i with
// |d_i| <= u32 and s_i the running sums; sum_i s_i^2 <= (k + 1) (sum t_i^2 + y^2) covers a
// random walk (k sum t^2 / 2) and a monotone drift (k y^2 / 3).
double accumulation_sq(std::int64_t k, double terms_sq, double result) {
  return k_u32 * k_u32 * static_cast<double>(k + 1) * (terms_sq + result * result);
}
}  // namespace

FfnErrorTerms ffn_error_terms(const Matrix<float>& x, const FfnWeights& w,
                              const ReferenceResult& ref, DType dtype, const ErrorModelConstants& c) {
  const std::int64_t tokens = x.rows(), inner = w.inner(), dim = w.dim();
  const Matrix<float> in_terms_sq = cpu::gemm_xwt(squared(x), squared(w.w_in));

  // Rows [0, T): a^2 (the proj_out products); rows [T, 2T): b^2 (the upstream bounds).
  Matrix<float> stacked(2 * tokens, inner);
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t k = 0; k < inner; ++k) {
      // Exact values h, a; each computed value is the exact one plus the errors bounded
      // before it, and each rounding errs by at most u times the value it rounds.
      const double h = std::fabs(ref.hidden(t, k)), a = std::fabs(ref.activation(t, k));
      const double acc = c.lambda_hidden * std::sqrt(accumulation_sq(dim, in_terms_sq(t, k), h));
      const double b_hidden = acc + rounding_error_bound(dtype, h + acc);
      const double eval = c.gelu_eval_error * k_u32 * (a + h + b_hidden);
      const double a_computed = a + c.gelu_max_slope * b_hidden + eval;
      const double b_act = c.gelu_max_slope * b_hidden + eval + rounding_error_bound(dtype, a_computed);
      stacked(t, k) = static_cast<float>(a_computed * a_computed);
      stacked(tokens + t, k) = static_cast<float>(b_act * b_act);
    }
  const Matrix<float> out = cpu::gemm_xwt(stacked, squared(w.w_out));

  FfnErrorTerms terms;
  terms.inner = inner;
  terms.dtype = dtype;
  terms.out_terms_sq = Matrix<double>(tokens, dim);
  terms.upstream_sq = Matrix<double>(tokens, dim);
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < dim; ++j) {
      terms.out_terms_sq(t, j) = out(t, j);
      terms.upstream_sq(t, j) = out(tokens + t, j);
    }
  return terms;
}

ErrorBudget allgather_budget(const Matrix<float>& y, const FfnErrorTerms& terms) {
  ErrorBudget b(y.rows(), y.cols());
  for (std::size_t i = 0; i < y.size(); ++i) {
    b.add_rounding(i, y.data()[i], terms.dtype);
    b.add_random(i, accumulation_sq(terms.inner, terms.out_terms_sq.data()[i], y.data()[i]));
  }
  return b;
}

ErrorBudget sharded_budget(const RankTensors& partials, const FfnErrorTerms& terms,
                           ErrorBudget reduction) {
  const std::int64_t k = terms.inner / static_cast<std::int64_t>(partials.size());
  for (std::size_t i = 0; i < reduction.size(); ++i) {
    double partial_sq = 0;
    for (const auto& p : partials) {
      reduction.add_rounding(i, p.data()[i], terms.dtype);
      partial_sq += double(p.data()[i]) * p.data()[i];
    }
    // Sum over ranks of (k+1)(terms_r + p_r^2) <= (k+1)(terms + sum p_r^2).
    reduction.add_random(i, accumulation_sq(k, terms.out_terms_sq.data()[i], 0.0) +
                                k_u32 * k_u32 * double(k + 1) * partial_sq);
  }
  return reduction;
}

ErrorBudget activation_difference_budget(const Matrix<float>& a, const Matrix<float>& b,
                                         const Matrix<float>& w_out) {
  Matrix<float> diff(a.rows(), a.cols());
  for (std::size_t i = 0; i < a.size(); ++i)
    diff.data()[i] = std::fabs(a.data()[i] - b.data()[i]);
  Matrix<float> w_abs(w_out.rows(), w_out.cols());
  for (std::size_t i = 0; i < w_out.size(); ++i) w_abs.data()[i] = std::fabs(w_out.data()[i]);
  const Matrix<float> spread = cpu::gemm_xwt(diff, w_abs);
  ErrorBudget budget(spread.rows(), spread.cols());
  // The fp32 product of magnitudes may round low by up to ~k u32 relative: keep a margin.
  for (std::size_t i = 0; i < spread.size(); ++i) budget.add_offset(i, spread.data()[i] * 1.01);
  return budget;
}

ErrorBudget reference_budget(ErrorBudget path, const FfnErrorTerms& terms) {
  for (std::size_t i = 0; i < path.size(); ++i) path.add_random(i, terms.upstream_sq.data()[i]);
  return path;
}

}  // namespace ffn
