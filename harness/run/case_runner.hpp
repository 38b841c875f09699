#pragma once
// Runs cases: both paths on identical inputs, the fp64 reference, and the three
// comparisons that make a case's verdict (parity, and each path against the reference),
// into the records of harness/case/case_result.hpp.
#include <functional>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/case/sweep.hpp"
#include "harness/launch/backend.hpp"
#include "harness/launch/case_execution.hpp"
#include "harness/verdict/frame_verdict.hpp"

namespace ffn {

// What the runner says as it goes, each part optional: a case about to start (index, count,
// case), and a case judged (index, count, result), in the process that judges, as soon as it
// is, so that a caller can print its row before the next case starts.
struct CaseProgress {
  std::function<void(std::size_t, std::size_t, const CaseConfig&)> started;
  std::function<void(std::size_t, std::size_t, const CaseResult&)> finished;
};
// Where a case's inputs come from: generated (make_inputs) or, for a golden, read back.
using InputSource = std::function<FfnInputs(const CaseConfig&)>;

// Runs the cases in order; consecutive cases with the same inputs share them and the
// reference.
// With `frames`, each case is also rolled out to decoded frames and judged by them.
// `backend`: what the two paths run on; the fp64 reference and the frame rollout always run on
// the CPU.
std::vector<CaseResult> run_cases(const std::vector<CaseConfig>& cases,
                                  const CaseProgress& progress = {},
                                  const InputSource& inputs = {},
                                  const FrameOptions* frames = nullptr,
                                  const CaseExecution& execution = {},
                                  const Backend& backend = cpu_backend());

}  // namespace ffn
