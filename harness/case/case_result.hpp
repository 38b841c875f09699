#pragma once
// What a case yields: the three comparisons that make its verdict (parity, and each path
// against the fp64 reference), the diagnostics beside them, and the outputs. A plain record:
// the runner (harness/run) fills it, the goldens store it, the reports print it.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "harness/case/sweep.hpp"
#include "harness/verdict/elementwise_invariant.hpp"
#include "harness/verdict/frame_verdict.hpp"
#include "metrics/error_budget.hpp"
#include "metrics/tensor_compare.hpp"

namespace ffn {

struct Comparison {
  TensorComparison stats;  // allclose (information only) and error statistics
  BudgetVerdict verdict;   // the judgement against the error budget
  std::shared_ptr<const ErrorBudget> budget;  // null where the run drops it (CaseExecution::keep_budgets)
};

struct CaseResult {
  CaseConfig config;
  Comparison parity;         // sharded vs allgather
  Comparison allgather_ref;  // allgather vs fp64 reference
  Comparison sharded_ref;    // sharded vs fp64 reference
  // With captured activations that carry the serving stack's output y: each path against y,
  // judged against the path's budget plus the allgather budget (y modelled as another
  // computation with the allgather path's rounding points). Information, not the verdict.
  std::optional<Comparison> allgather_captured, sharded_captured;
  bool activations_identical = false;  // the two paths' activation outputs agree bit for bit
  // Each path's activation output against the reference activation, element-wise within its
  // error bound (what licenses the parity allowance for activations that differ).
  BudgetVerdict allgather_activation, sharded_activation;
  // Each path's activation output against the fp64 activation of that path's own stored
  // inputs, within the op's roundings (harness/verdict/elementwise_invariant.hpp).
  ElementwiseCheck allgather_activation_op, sharded_activation_op;
  // The two paths' proj_in outputs against each other within their accumulation bounds: both
  // compute the same dot products, so anything else (a swapped or mis-sharded weight, a dropped
  // token) shows here whatever the quantization error.
  ElementwiseCheck hidden_parity;
  // Quantized schemes: every quantization step of each path (x for proj_in, the activation for
  // proj_out, on every rank) against its own input: the scales its layout defines, each code
  // within the format's rounding (QuantizationStepChecker). Empty without quantization.
  std::optional<ElementwiseCheck> allgather_quantize_op, sharded_quantize_op;
  // Activation outputs that differ between the paths where its inputs agree bit for bit: an
  // elementwise op must give identical results on identical inputs.
  std::int64_t activation_mismatches = 0;
  // Values of each path's tensors that left a Linear, GELU or collective off the activation
  // dtype's grid (the stack stores every such tensor in the activation dtype).
  std::int64_t off_grid_allgather = 0, off_grid_sharded = 0;
  // Quantized schemes: the parity error split into its two causes, as relative L2 norms
  // against the allgather output: the sharded path run with proj_out input scales agreed
  // over the group (as the allgather path sees them) isolates the reduction order
  // (order_part = |that - allgather|) from the scale granularity (scale_part =
  // |sharded - that|). NaN for unquantized cases.
  double scale_part_rel_l2 = std::numeric_limits<double>::quiet_NaN();
  double order_part_rel_l2 = std::numeric_limits<double>::quiet_NaN();
  // Schemes with rank-local input scales (tp > 1): that sharded output (group-wide scales)
  // against the allgather output, judged by the parity budget without the input-scale
  // allowance: both quantize the same inputs, so only the reduction order may separate them.
  std::optional<Comparison> order_parity;
  Matrix<float> allgather_out, sharded_out;
  std::shared_ptr<const Matrix<double>> reference_out;  // shared by the cases of one input set
  bool pass = false;
  std::optional<FrameResult> frames;  // with run --frames
  std::string reason;  // why it failed; empty when it passed
  // With an injected fault that cannot occur in this case (fault_not_applicable): why. The
  // case was not run and is neither passed nor failed.
  std::string not_applicable;
  double seconds = 0;

  bool applicable() const { return not_applicable.empty(); }
  // The larger margin of parity and order_parity.
  double parity_margin() const;
  // The signed-error statistic of the parity (and order parity) over its bound (included in
  // parity_margin).
  double bias_margin() const;
  // The largest margin of the comparisons (< 1 passes).
  double margin() const;
};

// `actual` against `expected`: the error statistics (allclose with the dtype's default tolerance,
// information only) and the verdict against `budget`. `sign_of`: the values whose signs weight
// the signed error (the fp64 reference, metrics/error_budget.hpp); empty for none.
Comparison compare(const Matrix<float>& actual, std::span<const double> expected, ErrorBudget budget, DType dtype,
                   std::span<const double> sign_of);

// Why a comparison failed, every check that failed ("WHAT: N of M elements over budget, worst
// 3.2x at (row, col); error norm 1.5x its budget"); empty when it passed. The case runner's
// reasons and the verdicts of captured outputs (harness/run/captured_outputs.hpp) read alike.
std::string failure_reason(const std::string& what, const Comparison& c);

}  // namespace ffn
