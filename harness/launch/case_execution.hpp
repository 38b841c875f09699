#pragma once
// What a launch (rank_launch.hpp) hands the case runner (harness/run/case_runner.hpp).
#include <functional>
#include <memory>

#include "harness/tp/communicator.hpp"

namespace ffn {

// Where a case's TP ranks run. By default all of them in this process, on a
// SimulatedCommunicator; with one TP rank per process (MPI, NCCL) every process of the group
// runs the same cases with its own communicator, and one of them judges.
struct CaseExecution {
  // The communicator of a case, holding this process's ranks of it.
  std::function<std::unique_ptr<Communicator>(int tp, const AllReduceConfig&)> communicator;
  // Whether this process judges the cases: it computes the fp64 reference and the verdicts
  // from the outputs and the sharded path's partials, gathered from the other ranks.
  // The other processes only run their ranks and return no results.
  bool judge = true;
  // >= 0: this process runs only this TP rank, and keeps only its shard of the weights
  // (keep_rank_shard) unless it judges, which needs them whole for the fp64 reference.
  int rank = -1;
  // Whether each result keeps the error budgets of its comparisons (Comparison::budget), which
  // golden drift, --dump-outputs and the captured-output verdicts read after the run. Three per
  // case, 6 MiB each at the LTX-2 dims: a run that reads none drops them once judged.
  bool keep_budgets = true;
};

}  // namespace ffn
