#pragma once
// Outputs of the FFN captured from the real serving stack, judged with the harness's budgets.
//
// The harness runs the case on the same inputs (both paths, the fp64 reference, the budgets of
// each path against it). A captured output is then treated as another computation with the
// stack's rounding points, as `run --activations` treats a captured y: the captured output and
// the harness's output of the same path each stay within that path's budget of the reference,
// so they may differ by the sum of the two budgets (and two outputs of different paths by the
// sum of their paths' budgets). The rule, its false-alarm rate and how it was measured:
// python/README.md ("Judging captured outputs").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/case/sweep.hpp"
#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/launch/backend.hpp"

namespace ffn {

struct CapturedOutputs {
  std::optional<Matrix<float>> old_path;  // the allgather FFN (before the change), at any tp
  std::optional<Matrix<float>> new_path;  // the sharded FFN at the case's tp and AllReduce
};

struct WorstElement {
  std::int64_t row = 0, col = 0;  // token, output channel
  double actual = 0, expected = 0, bound = 0, ratio = 0;  // ratio = |actual - expected| / bound
};

struct CapturedVerdict {
  std::string name;  // "old vs allgather", "new vs sharded", "new vs old"
  Comparison comparison;
  std::vector<WorstElement> worst;  // the largest |actual - expected| / bound, worst first
  bool pass = false;
  std::string reason;  // empty when it passed
};

struct CapturedJudgement {
  CaseResult harness;  // the harness's own case on these inputs (its verdict included)
  std::vector<CapturedVerdict> verdicts;  // those of the outputs given, in the order above
  bool pass = false;  // the harness's own case and every verdict passed
};

// Throws std::invalid_argument with one line for a captured output whose shape is not the
// case's [tokens, dim] or whose values are off the activation dtype's grid (the stack stores its
// outputs in that dtype), and when no output is given. Runs one case on `backend`.
CapturedJudgement judge_captured_outputs(const CaseConfig& config, const FfnInputs& inputs,
                                         const CapturedOutputs& captured, const Backend& backend = cpu_backend(),
                                         std::size_t worst_k = 5);

// The `k` elements of largest |actual - expected| / bound (NaN/Inf mismatches first).
std::vector<WorstElement> worst_elements(const Matrix<float>& actual, const Matrix<float>& expected,
                                         const ErrorBudget& budget, std::size_t k);

}  // namespace ffn
