#pragma once
// The false-alarm rate of the verdicts: correct code (no fault) run over many seeds per
// configuration (tp, precision, AllReduce model). Any FAIL is a false alarm. The margins
// (worst error over its budget) show how far from the edge the budgets sit.
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "harness/case/sweep.hpp"

namespace ffn {

struct MarginStats {
  std::size_t runs = 0;
  std::size_t alarms = 0;
  double median = 0, p99 = 0, max = 0;  // of the case margin (max over the three comparisons)
  double parity_max = 0;                // the largest parity margin
  double reference_max = 0;             // the largest margin against the reference, either path
  double bias_max = 0;                  // the largest signed-error statistic over its bound, any comparison
  double bias_z_max = 0;                // the largest |signed error| in standard errors, any comparison
  std::uint64_t worst_seed = 0;         // the seed of `max`
};

struct FalseAlarmConfig {
  int tp = 1;
  Precision precision;
  AllReduceModel allreduce = AllReduceModel::ring;
  std::string label;  // the model with its channels: "nccl-ring-ch4"
  MarginStats stats;
  std::vector<std::string> alarms;  // "case name: reason" of every false alarm
};

struct FalseAlarmReport {
  std::vector<FalseAlarmConfig> configs;
  std::vector<std::string> refused;  // (precision, tp) the loader refuses, with the reason
  std::uint64_t first_seed = 0, seeds = 0;
  int jobs = 1;
  double seconds = 0;  // wall time

  std::size_t cases() const;
  std::size_t alarms() const;
};

// Runs every case of `sweep` (its tps, precisions and AllReduce models; the seed is the first
// of `seeds` consecutive ones) for every seed, on `jobs` threads. Combinations of precision
// and tp whose scale blocks a shard would cut are left out and listed in `refused`.
// Throws std::invalid_argument for a sweep that `validate` refuses otherwise.
// `progress` (done, total) is called as cases finish, from the worker threads but never two at
// once. Throws std::invalid_argument when every configuration is refused (expand_runnable): nothing to run.
FalseAlarmReport false_alarm_sweep(const SweepConfig& sweep, std::uint64_t seeds, int jobs,
                                   const std::function<void(std::size_t, std::size_t)>& progress = {});

// One line per configuration (nccl-tests style) and a closing verdict line.
void print_false_alarm_table(std::ostream& out, const SweepConfig& sweep, const FalseAlarmReport& report);

}  // namespace ffn
