#pragma once
// Re-running the cases of a golden and judging today's results against the blessed ones:
//   drift   each path's output against its blessed output: both lie within one error
//           budget of the fp64 reference, so they may differ by drift_budget_scale budgets;
//   growth  each error against the reference (relative L2) against the blessed error: more
//           than `growth_limit` times the blessed error fails even while budgets hold;
//   inputs  generated inputs must reproduce the recorded SHA-256 digests, and the fp64
//           reference must reproduce the stored one.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "goldens/golden_file.hpp"
#include "harness/run/case_runner.hpp"

namespace ffn {

struct DriftResult {
  std::int64_t differing = 0;  // elements not bit-identical to the blessed output
  double max_abs = 0;
  BudgetVerdict verdict;
};

struct GoldenCaseCheck {
  std::string file;
  const GoldenCase* golden = nullptr;
  CaseResult today;
  DriftResult allgather, sharded;
  double parity_growth = 1, allgather_growth = 1, sharded_growth = 1;  // today / blessed
  double reference_rel_diff = 0;  // today's fp64 reference against the stored one
  // Blessed with frames: today's videos against the blessed ones, per path (SSIM of the kind
  // the check used, in their ssim_kind).
  std::optional<VideoScore> frames_allgather, frames_sharded;
  bool pass = false;
  std::string reason;
};

struct GoldenCheckOptions {
  double growth_limit = 1.25;
  std::vector<std::string> only_cases;  // case ids or names; empty: all; names matching nothing are ignored
  std::optional<AllReduceModel> only_allreduce;  // only the cases blessed with this AllReduce model
  // Only the cases of this TP size (one TP rank per process runs the world size's cases).
  std::optional<int> only_tp;
  // Where the cases' ranks run; a process that does not judge gets no checks back.
  CaseExecution execution;
  const Backend* backend = nullptr;     // what the cases run on today; null: the CPU
  // The SSIM of today's frames against the blessed ones; none: the one each case was blessed with.
  std::optional<SsimKind> ssim;
  // A directory of input sets cache_golden_inputs wrote: a seeded set found there is read, not
  // generated and hashed again; empty: none.
  std::string inputs_cache;
};

// A seeded input set of a golden generated into a cache directory (harness/inputs/input_cache.hpp).
struct CachedInputSet {
  std::string id;
  std::filesystem::path file;
  std::string problem;  // why it was not written (its digests are not the recorded ones); empty: written
  double seconds = 0;
};

// Generates every seeded input set of `golden`, checks its digests against the recorded ones and
// writes those that match into `dir` (a file of an earlier run is removed first, so a set whose
// digests no longer match leaves none). `written`: called after each set.
std::vector<CachedInputSet> cache_golden_inputs(const GoldenFile& golden, const std::filesystem::path& dir,
                                                const std::function<void(const CachedInputSet&)>& written = {});

// What check_golden says as it goes: a case about to run, and each check as soon as it is
// made (in the process that judges).
struct GoldenCheckProgress {
  std::function<void(std::size_t, std::size_t, const CaseConfig&)> started;
  std::function<void(const GoldenCaseCheck&)> checked;
};

// The inputs of a golden's input set: the stored tensors (full), generated again from the
// recorded key (seeded), or loaded again from the recorded checkpoint (real). What differs from
// the blessed digests is added to `problems` ("; "-separated); a checkpoint that cannot be
// loaded throws GoldenError.
FfnInputs golden_inputs(const GoldenFile& golden, const GoldenInputSet& set, std::string& problems);

// Whether `want` (a --case value) names this case: its id or its name.
bool golden_case_matches(const GoldenCase& c, const std::string& want);

// The cases of `golden` that `options` selects (only_cases, only_allreduce, only_tp), in the order they run.
std::vector<const GoldenCase*> select_golden_cases(const GoldenFile& golden, const GoldenCheckOptions& options);
// The AllReduce models the selected cases of `goldens` were blessed with, each once, in the order
// met: a communicator pinned once per process (NCCL) can check the cases of one of them only.
std::vector<AllReduceModel> golden_blessed_models(const std::vector<GoldenFile>& goldens,
                                                  const GoldenCheckOptions& options);

// Runs the selected cases of `golden` and checks them. Throws GoldenError for a file-level problem.
std::vector<GoldenCaseCheck> check_golden(const GoldenFile& golden, const GoldenCheckOptions& options,
                                          const GoldenCheckProgress& progress = {});

}  // namespace ffn
