#pragma once
// Error budgets of the two FFN paths (the derivation is in harness/verdict/ERROR_MODEL.md).
// Every rounding on the output side is counted with the value it produced; the fp32
// accumulation inside each GEMM and the errors of proj_in and GELU, spread over the inner
// dimension by proj_out, enter as sums of independent terms.
#include <stdexcept>

#include "harness/tp/ffn_paths.hpp"
#include "harness/verdict/elementwise_invariant.hpp"
#include "metrics/error_budget.hpp"

namespace ffn {

// Records every rounding of an AllReduce into a budget.
class BudgetObserver final : public RoundingObserver {
 public:
  explicit BudgetObserver(ErrorBudget& budget) : budget_(budget) {}
  void rounded(std::size_t index, double value, DType grid) override {
    budget_.add_rounding(index, value, grid);
  }

 private:
  ErrorBudget& budget_;
};

// Constants of the model (ERROR_MODEL.md says where each comes from).
struct ErrorModelConstants {
  // max |f'(x)| of every activation function: gelu-tanh 1.12899, gelu 1.12890, silu 1.09984.
  double act_max_slope = 1.13;
  double act_eval_error = 8.0;  // |f_f32(x) - f(x)| <= 8 u32 (|f(x)| + |x|) for every f
  double lambda_hidden = 8.0;   // probabilistic bound on proj_in's fp32 accumulation
};

// Bound on a computed activation's error against the exact one, from bounds on its inputs'
// errors (ERROR_MODEL.md, "The activation"). g (and u when gated) are the exact inputs'
// magnitudes, b_g and b_u bounds on the computed inputs' errors; `f_abs` = |f(g)|. Includes the
// fp32 evaluation, the product and the roundings to `dtype` that `a.rounding` puts in.
double activation_error_bound(const Activation& a, DType dtype, double g, double b_g, double f_abs, double u,
                              double b_u, const ErrorModelConstants& constants = {});

// Terms that depend only on the inputs: every magnitude is taken from the fp64 reference,
// so the terms are the same for every tp, path and backend (a GEMM kernel that rounds
// differently at another tp changes the computed activation, not these bounds).
struct FfnErrorTerms {
  std::int64_t inner = 0;
  DType dtype = DType::fp32;
  // Per (token, proj_in output): how far the two paths' proj_in outputs may differ. Both run the
  // same dot products on the same (quantized) x and weights, so only their fp32 accumulation
  // orders and their roundings separate them: 2 (acc + r(|h| + acc)) with acc from the squared
  // products of the operands as the layer multiplies them (ERROR_MODEL.md, "proj_in parity").
  Matrix<double> hidden_parity_bound;
  Matrix<double> out_terms_sq;  // sum_k a_k^2 w_jk^2: the proj_out products, squared
  Matrix<double> upstream_sq;   // sum_k w_jk^2 b_k^2, b_k bounding the error of a_k (quantization included)
  // sum_k w_jk^2 q_k^2, q_k bounding the quantization error of proj_out's input a_k with the
  // scales of the whole row; zero without quantization.
  Matrix<double> input_quant_sq;
  // Per (token, inner element): the bound on the computed activation's error against the
  // exact activation (b_a in ERROR_MODEL.md), for checking each path's activations.
  Matrix<double> activation_bound;
  std::int64_t extra_out_roundings = 0;      // fp32 roundings of proj_out beyond the K adds
  bool input_scales_differ_by_shard = false;  // proj_out's input scales depend on the shard
};

// Inputs whose magnitudes the budget's fp32 sums of squared magnitudes cannot hold (|x|^2 |w|^2
// summed over K past fp32's largest finite value): no sound budget exists, so no verdict.
class BudgetOverflow : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws BudgetOverflow when a term is not finite.
FfnErrorTerms ffn_error_terms(const Matrix<float>& x, const FfnWeights& w,
                              const ReferenceResult& reference, DType dtype,
                              const ErrorModelConstants& constants = {});

// Output-side budget of the allgather path: full-K accumulation, one rounding.
ErrorBudget allgather_budget(const Matrix<float>& y, const FfnErrorTerms& terms);
// Output-side budget of the sharded path: per-rank accumulation and rounding of each
// partial, plus `reduction`, the roundings the AllReduce reported through a BudgetObserver.
// (Its proj_out input quantization, when it differs from the allgather path's, is added by
// the parity budget: see input_scale_budget.)
ErrorBudget sharded_budget(const RankTensors& partials, const FfnErrorTerms& terms,
                           ErrorBudget reduction);
// Bound on how far an activation difference moves the output: |dA| |W_out|^T.
ErrorBudget activation_difference_budget(const Matrix<float>& a, const Matrix<float>& b,
                                         const Matrix<float>& w_out);
// When the sharded path quantizes proj_out's input with rank-local scales, both paths'
// quantization errors of the same activation stay in the difference: each at most the
// whole-row bound q_k (a shard's scale is never larger), together (2 q_k)^2 per term.
ErrorBudget input_scale_budget(const FfnErrorTerms& terms);
// The two paths' proj_in outputs (traces in the full [gate | up] layout) against each other,
// element by element within hidden_parity_bound.
ElementwiseCheck hidden_parity(const Matrix<float>& allgather_hidden, const Matrix<float>& sharded_hidden,
                               const FfnErrorTerms& terms);
// Hard bounds on a path's activation output against the reference activation (activation_bound).
ErrorBudget activation_budget(const FfnErrorTerms& terms);
// A path's budget against the fp64 reference: its output side plus the upstream errors.
ErrorBudget reference_budget(ErrorBudget path, const FfnErrorTerms& terms);

}  // namespace ffn
