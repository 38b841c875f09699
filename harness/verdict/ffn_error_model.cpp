#include "harness/verdict/ffn_error_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/gemm.hpp"

namespace ffn {

namespace {
constexpr double k_u32 = 0x1.0p-24;

Matrix<float> squared(const Matrix<float>& m) {
  Matrix<float> s(m.rows(), m.cols(), Unfilled{});
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

namespace {

// x^2 (W^2)^T for each x, W the weight a layer multiplies by: the fp32 master, or the quantized
// checkpoint's values (in fp32, which is all a bound on magnitudes needs), squared block by
// block rather than copied and squared whole (256 MiB each at the LTX-2 dims).
std::vector<Matrix<float>> times_squared_weight(std::vector<MatrixView<float>> xs, const Matrix<float>& master,
                                                const QuantizedLinear* q) {
  const Matrix<float>& w = effective_weight_shape(master, q);
  return cpu::gemm_xwt_row_blocks<float>(xs, w.rows(), w.cols(), [&](std::int64_t r0, std::int64_t r1, std::span<float> out) {
    effective_weight_rows<float>(master, q, r0, r1, out, WeightValues::squared);
  });
}

// Per element of a layer's input, the bound on its quantization error with the scales the
// layer uses when it sees the whole row (the allgather path; a row-parallel shard's own
// scales are never larger). Zero without quantization.
Matrix<float> input_quantization_bound(const QuantizedLinear* q, const Matrix<float>& input) {
  Matrix<float> b(input.rows(), input.cols());
  if (!q) return b;
  const QuantizedMatrix quantized = quantize_input(*q, input.view());
  for (std::int64_t t = 0; t < input.rows(); ++t)
    for (std::int64_t k = 0; k < input.cols(); ++k)
      b(t, k) = static_cast<float>(
          quantization_error_bound(quantized.format, input(t, k), quantized.scale(t, k)));
  return b;
}

// fp32 roundings per output element besides the k accumulation adds: the bias add, and with
// block scales a scaling multiply and an add per K block.
std::int64_t extra_roundings(const QuantizedLinear* q, std::int64_t k) {
  if (!q) return 0;
  const SchemeLayout l = scheme_layout(q->scheme);
  const std::int64_t block = std::max(l.weight.block_cols, l.input.block_cols);
  return block > 0 ? 3 * (k / block) : 3;
}

}  // namespace

double activation_error_bound(const Activation& act, DType dtype, double g, double b_g, double f_abs, double u,
                              double b_u, const ErrorModelConstants& c) {
  // f at the computed input: |f(g^) - f(g)| <= L b_g; evaluated in fp32: + E u32 (|f(g^)| + |g^|).
  const double f_shift = c.act_max_slope * b_g;
  double b_f = f_shift + c.act_eval_error * k_u32 * (f_abs + f_shift + g + b_g);
  if (!act.gated) return b_f + rounding_error_bound(dtype, f_abs + b_f);
  // native: f's output rounded to the dtype before the product.
  if (act.rounding == ActRounding::native) b_f += rounding_error_bound(dtype, f_abs + b_f);
  // |f^ u^ - f u| <= b_f (u + b_u) + |f| b_u; the fp32 product rounds once more, then the dtype.
  const double b_product = b_f * (u + b_u) + f_abs * b_u;
  const double product = (f_abs + b_f) * (u + b_u);
  const double b_fp32 = k_u32 * product;
  return b_product + b_fp32 + rounding_error_bound(dtype, product + b_fp32);
}

FfnErrorTerms ffn_error_terms(const Matrix<float>& x, const FfnWeights& w,
                              const ReferenceResult& ref, DType dtype, const ErrorModelConstants& c) {
  const std::int64_t tokens = x.rows(), inner = w.inner(), dim = w.dim();
  const QuantizedLinear* q_in = w.quant ? &w.quant->proj_in : nullptr;
  const QuantizedLinear* q_out = w.quant ? &w.quant->proj_out : nullptr;

  const std::int64_t in_rows = effective_weight_shape(w.w_in, q_in).rows();
  // Quantizing x errs independently per element: spread by proj_in as a sum of squares.
  // The products proj_in forms: of the quantized x when the layer quantizes it.
  const Matrix<float> x_sq = squared(x);
  Matrix<float> x_operand_sq, x_bound_sq;
  std::vector<MatrixView<float>> in_operands = {x_sq};
  if (q_in) {
    x_operand_sq = squared(dequantize<float>(quantize_input(*q_in, x.view())));
    x_bound_sq = squared(input_quantization_bound(q_in, x));
    in_operands.push_back(x_operand_sq);
    in_operands.push_back(x_bound_sq);
  }
  std::vector<Matrix<float>> in_products = times_squared_weight(in_operands, w.w_in, q_in);
  const Matrix<float>& in_terms_sq = in_products[0];
  const Matrix<float>& operand_terms_sq = q_in ? in_products[1] : in_terms_sq;
  const Matrix<float> x_quant_sq = q_in ? std::move(in_products[2]) : Matrix<float>(tokens, in_rows);

  // The activation the paths quantize for proj_out, as the reference sees it.
  const Matrix<float> a_ref = convert<float>(ref.activation);
  const Matrix<float> a_quant = input_quantization_bound(q_out, a_ref);
  const std::int64_t extra_in = extra_roundings(q_in, dim);
  const double u_quant = q_out ? quant_unit_roundoff(scheme_layout(q_out->scheme).input.format) : 0.0;

  // Rows [0, T): a^2 (the proj_out products); [T, 2T): (b_a + b_q)^2, the bound on the error
  // of the quantized activation against the exact one; [2T, 3T): b_q^2 alone.
  const bool gated = w.activation.gated;
  Matrix<float> stacked(3 * tokens, inner);
  Matrix<double> activation_bound(tokens, inner);
  // Each element on its own: any schedule gives the same terms.
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t k = 0; k < inner; ++k) {
      // Exact values h (gate), u (up), a; each computed value is the exact one plus the errors
      // bounded before it, and each rounding errs by at most u times the value it rounds.
      const auto hidden_error = [&](std::int64_t col) {
        const double h = std::fabs(ref.hidden(t, col));
        const double acc = c.lambda_hidden * std::sqrt(accumulation_sq(dim + extra_in, in_terms_sq(t, col), h) +
                                                        x_quant_sq(t, col));
        return acc + rounding_error_bound(dtype, h + acc);
      };
      const double g = std::fabs(ref.hidden(t, k)), b_g = hidden_error(k);
      const double u = gated ? std::fabs(ref.hidden(t, inner + k)) : 1.0, b_u = gated ? hidden_error(inner + k) : 0.0;
      const double a = std::fabs(ref.activation(t, k));
      const double f_abs = gated ? std::fabs(cpu::act(w.activation.fn, ref.hidden(t, k))) : a;
      const double b_act = activation_error_bound(w.activation, dtype, g, b_g, f_abs, u, b_u, c);
      const double a_computed = a + b_act;
      // The bound was taken at the exact activation; the computed one is larger by at most
      // a_computed - a, which adds at most u_q (a_computed - a) to its quantization error.
      const double b_quant = a_quant(t, k) + u_quant * (a_computed - a);
      activation_bound(t, k) = b_act;
      stacked(t, k) = static_cast<float>(a_computed * a_computed);
      stacked(tokens + t, k) = static_cast<float>((b_act + b_quant) * (b_act + b_quant));
      stacked(2 * tokens + t, k) = static_cast<float>(b_quant * b_quant);
    }
  const Matrix<float> out = std::move(times_squared_weight({stacked}, w.w_out, q_out).front());

  FfnErrorTerms terms;
  terms.hidden_parity_bound = Matrix<double>(tokens, in_rows);
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t col = 0; col < in_rows; ++col) {
      const double h = std::fabs(ref.hidden(t, col));
      const double acc = c.lambda_hidden * std::sqrt(accumulation_sq(dim + extra_in, operand_terms_sq(t, col), h));
      terms.hidden_parity_bound(t, col) = 2 * (acc + rounding_error_bound(dtype, h + acc));
    }
  terms.inner = inner;
  terms.dtype = dtype;
  terms.activation_bound = std::move(activation_bound);
  terms.extra_out_roundings = extra_roundings(q_out, inner);
  terms.input_scales_differ_by_shard = q_out && scheme_layout(q_out->scheme).row_scales_differ_by_shard;
  terms.out_terms_sq = Matrix<double>(tokens, dim);
  terms.upstream_sq = Matrix<double>(tokens, dim);
  terms.input_quant_sq = Matrix<double>(tokens, dim);
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < dim; ++j) {
      terms.out_terms_sq(t, j) = out(t, j);
      terms.upstream_sq(t, j) = out(tokens + t, j);
      terms.input_quant_sq(t, j) = out(2 * tokens + t, j);
    }
  const auto finite = [](const Matrix<double>& m) {
    return std::ranges::all_of(m.values(), [](double v) { return std::isfinite(v); });
  };
  if (!finite(terms.out_terms_sq) || !finite(terms.upstream_sq) || !finite(terms.input_quant_sq) ||
      !finite(terms.activation_bound)) {
    const auto max_abs = [](std::span<const float> v) {
      double m = 0;
      for (float e : v) m = std::max(m, std::fabs(double(e)));
      return m;
    };
    throw BudgetOverflow(fmt::format(
        "inputs too large for the error budget: max |x| {:.3g}, max |W_in| {:.3g}, max |W_out| {:.3g}; the budget "
        "sums squared magnitudes in fp32, which overflow past {:.3g}",
        max_abs(x.values()), max_abs(w.w_in.values()), max_abs(w.w_out.values()),
        double(std::numeric_limits<float>::max())));
  }
  return terms;
}

ErrorBudget allgather_budget(const Matrix<float>& y, const FfnErrorTerms& terms) {
  ErrorBudget b(y.rows(), y.cols());
  for (std::size_t i = 0; i < y.size(); ++i) {
    b.add_rounding(i, y.data()[i], terms.dtype);
    b.add_random(i, accumulation_sq(terms.inner + terms.extra_out_roundings, terms.out_terms_sq.data()[i],
                                    y.data()[i]));
  }
  return b;
}

ErrorBudget sharded_budget(const RankTensors& partials, const FfnErrorTerms& terms,
                           ErrorBudget reduction) {
  const std::int64_t tp = static_cast<std::int64_t>(partials.size());
  const std::int64_t k = (terms.inner + terms.extra_out_roundings) / tp;
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

ErrorBudget input_scale_budget(const FfnErrorTerms& terms) {
  ErrorBudget b(terms.input_quant_sq.rows(), terms.input_quant_sq.cols());
  for (std::size_t i = 0; i < b.size(); ++i) b.add_random(i, 4.0 * terms.input_quant_sq.data()[i]);
  return b;
}

ElementwiseCheck hidden_parity(const Matrix<float>& a, const Matrix<float>& b, const FfnErrorTerms& terms) {
  ElementwiseCheck c;
  const Matrix<double>& bound = terms.hidden_parity_bound;
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.rows() != bound.rows() || a.cols() != bound.cols()) {
    c.checked = std::max<std::int64_t>(1, std::int64_t(bound.size())), c.violations = c.checked, c.first = 0;
    c.worst_ratio = INFINITY;
    return c;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++c.checked;
    const double d = std::fabs(double(a.data()[i]) - b.data()[i]);
    const double ratio = d == 0 ? 0.0 : bound.data()[i] == 0 || !std::isfinite(d) ? INFINITY : d / bound.data()[i];
    if (ratio > 1) ++c.violations;
    if (ratio > c.worst_ratio) c.worst_ratio = ratio, c.first = static_cast<std::int64_t>(i);
  }
  return c;
}

ErrorBudget activation_budget(const FfnErrorTerms& terms) {
  const Matrix<double>& b = terms.activation_bound;
  ErrorBudget budget(b.rows(), b.cols());
  for (std::size_t i = 0; i < b.size(); ++i) budget.add_offset(i, b.data()[i]);
  return budget;
}

ErrorBudget reference_budget(ErrorBudget path, const FfnErrorTerms& terms) {
  for (std::size_t i = 0; i < path.size(); ++i) path.add_random(i, terms.upstream_sq.data()[i]);
  return path;
}

}  // namespace ffn
