#include "harness/cli/false_alarm_command.hpp"

#include <iostream>
#include <memory>
#include <thread>

#include "harness/cli/progress.hpp"
#include "harness/cli/sweep_options.hpp"
#include "harness/cli/validators.hpp"
#include "harness/run/false_alarm_sweep.hpp"

namespace ffn::cli {

namespace {

struct FalseAlarmOptions {
  SweepOptions sweep;
  std::uint64_t seeds = 500;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};

int run(const FalseAlarmOptions& o) {
  try {
    const SweepConfig sweep = to_sweep(o.sweep);
    TerminalProgress progress;
    const FalseAlarmReport report = false_alarm_sweep(sweep, o.seeds, o.jobs, [&](std::size_t done, std::size_t total) {
      progress.finished(done, total);
    });
    progress.clear();
    print_false_alarm_table(std::cout, sweep, report);
    return report.alarms() == 0 ? 0 : 1;
  } catch (const std::invalid_argument& e) {
    std::cerr << "ffn-parity false-alarms: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

void add_false_alarm_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<FalseAlarmOptions>();
  // Defaults: every configuration the CPU harness runs on the tiny shape.
  opts->sweep.shape = "tiny";
  opts->sweep.precisions.clear();
  for (const Precision& p : precision_presets()) opts->sweep.precisions.push_back(p.name);
  opts->sweep.allreduce = {"all"};
  CLI::App* cmd = app.add_subcommand(
      "false-alarms",
      "Run correct code (no fault) over --seeds consecutive seeds from --seed for every tp, precision and "
      "AllReduce model; every FAIL is a false alarm. Prints per configuration the margin distribution "
      "(median, p99, max) and a verdict line. Exit status: 0 no false alarm, 1 a false alarm, 2 bad usage.");
  add_sweep_options(cmd, opts->sweep);
  cmd->add_option("--seeds", opts->seeds, "Seeds per configuration")
      ->check(number_check<std::uint64_t>())
      ->check(in_range(1, 4294967296.0))
      ->capture_default_str();
  cmd->add_option("--jobs", opts->jobs, "Threads; the cases are independent (default: the cores)")
      ->check(number_check<int>())
      ->check(in_range(1, 256))
      ->capture_default_str();
  cmd->callback([opts, exit_code] { *exit_code = run(*opts); });
}

}  // namespace ffn::cli
