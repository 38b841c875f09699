#pragma once
// Runs cases: both paths on identical inputs, the fp64 reference, and the three
// comparisons that make a case's verdict (parity, and each path against the reference).
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "harness/backend.hpp"
#include "harness/communicator.hpp"
#include "harness/frame_verdict.hpp"
#include "harness/sweep.hpp"
#include "metrics/error_budget.hpp"
#include "metrics/tensor_compare.hpp"

namespace ffn {

struct Comparison {
  TensorComparison stats;  // allclose (information only) and error statistics
  BudgetVerdict verdict;   // the judgement against the error budget
  std::shared_ptr<const ErrorBudget> budget;
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
  bool activations_identical = false;  // the two paths' GELU outputs agree bit for bit
  // Each path's GELU output against the reference activation, element-wise within its
  // error bound (what licenses the parity allowance for activations that differ).
  BudgetVerdict allgather_activation, sharded_activation;
  // GELU outputs that differ between the paths where its inputs agree bit for bit: an
  // elementwise op must give identical results on identical inputs.
  std::int64_t gelu_mismatches = 0;
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
  // The largest margin of the comparisons (< 1 passes).
  double margin() const;
};

// Called before each case with (index, count, case).
using ProgressFn = std::function<void(std::size_t, std::size_t, const CaseConfig&)>;
// Where a case's inputs come from: generated (make_inputs) or, for a golden, read back.
using InputSource = std::function<FfnInputs(const CaseConfig&)>;

// Where a case's TP ranks run. By default all of them in this process, on a
// SimulatedCommunicator; with one TP rank per process (MPI, NCCL) every process of the group
// runs the same cases with its own communicator, and one of them judges.
struct CaseExecution {
  // The communicator of a case, holding this process's ranks of it.
  std::function<std::unique_ptr<Communicator>(const CaseConfig&)> communicator;
  // Whether this process judges the cases: it computes the fp64 reference and the verdicts
  // from the outputs and the sharded path's partials, gathered from the other ranks.
  // The other processes only run their ranks and return no results.
  bool judge = true;
  // >= 0: this process runs only this TP rank, and keeps only its shard of the weights
  // (keep_rank_shard) unless it judges, which needs them whole for the fp64 reference.
  int rank = -1;
};

// Runs the cases in order; consecutive cases with the same inputs share them and the
// reference.
// With `frames`, each case is also rolled out to decoded frames and judged by them.
// `backend`: what the two paths run on; the fp64 reference and the frame rollout always run on
// the CPU.
std::vector<CaseResult> run_cases(const std::vector<CaseConfig>& cases,
                                  const ProgressFn& progress = {},
                                  const InputSource& inputs = {},
                                  const FrameOptions* frames = nullptr,
                                  const CaseExecution& execution = {},
                                  const Backend& backend = cpu_backend());

}  // namespace ffn
