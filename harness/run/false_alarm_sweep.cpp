#include "harness/run/false_alarm_sweep.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "harness/run/case_runner.hpp"
#include "harness/version.hpp"

namespace ffn {

std::size_t FalseAlarmReport::cases() const {
  std::size_t n = 0;
  for (const auto& c : configs) n += c.stats.runs;
  return n;
}

std::size_t FalseAlarmReport::alarms() const {
  std::size_t n = 0;
  for (const auto& c : configs) n += c.stats.alarms;
  return n;
}

namespace {

// Nearest-rank quantile of sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

FalseAlarmReport false_alarm_sweep(const SweepConfig& sweep, std::uint64_t seeds, int jobs,
                                   const std::function<void(std::size_t, std::size_t)>& progress) {
  if (seeds == 0) throw std::invalid_argument("--seeds: must be positive");
  if (jobs < 1) throw std::invalid_argument(fmt::format("--jobs: must be positive, got {}", jobs));
  const auto start = std::chrono::steady_clock::now();
  FalseAlarmReport report;
  report.first_seed = sweep.seed;
  report.seeds = seeds;
  report.jobs = jobs;
  // The configurations, in the order of expand() for any one seed.
  RunnableCases runnable = expand_runnable(sweep);
  report.refused = std::move(runnable.not_run);
  const std::vector<CaseConfig>& layout = runnable.cases;
  // Nothing checked is never a pass.
  if (layout.empty())
    throw std::invalid_argument(fmt::format("nothing to run: every configuration is refused ({})",
                                            fmt::join(report.refused, "; ")));
  for (const CaseConfig& c : layout)
    report.configs.push_back({c.tp, c.precision(), c.allreduce, c.reduction_label(), {}, {}});

  // margins[config][seed - first]: each slot written by exactly one thread.
  std::vector<std::vector<double>> margins(layout.size(), std::vector<double>(seeds));
  std::vector<std::vector<double>> parity(layout.size(), std::vector<double>(seeds));
  std::vector<std::vector<double>> reference(layout.size(), std::vector<double>(seeds));
  std::vector<std::vector<double>> bias(layout.size(), std::vector<double>(seeds));
  std::vector<std::vector<double>> bias_z(layout.size(), std::vector<double>(seeds));
  std::mutex alarm_mutex;
  std::mutex progress_mutex;
  std::size_t done = 0;
  const std::size_t total = layout.size() * seeds;
  const CaseProgress case_done{{}, [&](std::size_t, std::size_t, const CaseResult&) {
                                 if (!progress) return;
                                 const std::lock_guard lock(progress_mutex);
                                 progress(++done, total);
                               }};
  std::exception_ptr failure;
  std::mutex failure_mutex;

  const auto worker = [&](int job) {
    // The cases are independent: parallelism comes from the jobs, each case runs on one thread.
    omp_set_num_threads(1);
    try {
      for (std::uint64_t i = static_cast<std::uint64_t>(job); i < seeds; i += static_cast<std::uint64_t>(jobs)) {
        std::vector<CaseConfig> cases = layout;
        for (CaseConfig& c : cases) c.seed = sweep.seed + i;
        CaseExecution margins_only;  // read: the margins, no budgets
        margins_only.keep_budgets = false;
        const std::vector<CaseResult> results = run_cases(cases, case_done, {}, nullptr, margins_only);
        for (std::size_t k = 0; k < results.size(); ++k) {
          const CaseResult& r = results[k];
          margins[k][i] = r.margin();
          parity[k][i] = r.parity_margin();
          reference[k][i] = std::max(r.allgather_ref.verdict.margin(), r.sharded_ref.verdict.margin());
          for (const Comparison* c : {&r.parity, &r.allgather_ref, &r.sharded_ref}) {
            const BudgetVerdict& v = c->verdict;
            bias[k][i] = std::max(bias[k][i], v.bias_ratio);
            if (v.bias_sigma > 0) bias_z[k][i] = std::max(bias_z[k][i], std::fabs(v.bias_sum) / v.bias_sigma);
          }
          if (!r.pass) {
            const std::lock_guard lock(alarm_mutex);
            report.configs[k].alarms.push_back(fmt::format("{}: {}", r.config.name(), r.reason));
          }
        }
      }
    } catch (...) {
      const std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(worker, j);
  worker(0);
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);

  for (std::size_t k = 0; k < layout.size(); ++k) {
    MarginStats& st = report.configs[k].stats;
    st.runs = seeds;
    st.alarms = report.configs[k].alarms.size();
    const auto worst = std::max_element(margins[k].begin(), margins[k].end());
    st.worst_seed = sweep.seed + static_cast<std::uint64_t>(worst - margins[k].begin());
    std::vector<double> sorted = margins[k];
    std::sort(sorted.begin(), sorted.end());
    st.median = quantile(sorted, 0.5);
    st.p99 = quantile(sorted, 0.99);
    st.max = sorted.back();
    st.parity_max = *std::max_element(parity[k].begin(), parity[k].end());
    st.reference_max = *std::max_element(reference[k].begin(), reference[k].end());
    st.bias_max = *std::max_element(bias[k].begin(), bias[k].end());
    st.bias_z_max = *std::max_element(bias_z[k].begin(), bias_z[k].end());
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

void print_false_alarm_table(std::ostream& out, const SweepConfig& s, const FalseAlarmReport& r) {
  fmt::print(out, "# ffn-parity {} false-alarms: shape {} (dim {}, inner {}), {} tokens, seeds {}..{}, {} jobs, no fault",
             k_version, s.shape.name, s.shape.dim, s.shape.inner, s.tokens, r.first_seed,
             r.first_seed + r.seeds - 1, r.jobs);
  if (s.outlier_channels > 0) fmt::print(out, ", {} outlier channels x{}", s.outlier_channels, s.outlier_scale);
  fmt::print(out,
             "\n# margin = worst error over its budget (< 1 passes), the largest of parity and both paths vs "
             "reference;\n# med / p99 / max over the seeds; par_max, ref_max: the largest parity and reference "
             "margins;\n# bias_max: the largest signed-error statistic over its bound, bias_z: the largest |signed "
             "error| in standard errors\n");
  fmt::print(out, "#{:>3} {:>18} {:>14} | {:>6} {:>6} | {:>7} {:>7} {:>7} | {:>7} {:>7} | {:>8} {:>6} | {:>10}\n", "tp",
             "precision", "reduce", "seeds", "alarms", "mrg_med", "mrg_p99", "mrg_max", "par_max", "ref_max", "bias_max",
             "bias_z", "worst_seed");
  const FalseAlarmConfig* worst = nullptr;
  for (const auto& c : r.configs) {
    const MarginStats& st = c.stats;
    fmt::print(out,
               "{:>4} {:>18} {:>14} | {:>6} {:>6} | {:>7.3f} {:>7.3f} {:>7.3f} | {:>7.3f} {:>7.3f} | {:>8.3f} {:>6.2f} | "
               "{:>10}\n",
               c.tp, c.precision.name, c.label, st.runs, st.alarms, st.median, st.p99, st.max, st.parity_max,
               st.reference_max, st.bias_max, st.bias_z_max, st.worst_seed);
    for (const auto& a : c.alarms) fmt::print(out, "#   ALARM {}\n", a);
    if (!worst || st.max > worst->stats.max) worst = &c;
  }
  for (const auto& why : r.refused) fmt::print(out, "# not run: {}\n", why);
  fmt::print(out, "# false alarms: {} of {} cases ({} configurations x {} seeds)", r.alarms(), r.cases(),
             r.configs.size(), r.seeds);
  if (worst)
    fmt::print(out, "; worst margin {:.3f} (tp {} {} {}, seed {})", worst->stats.max, worst->tp,
               worst->precision.name, worst->label, worst->stats.worst_seed);
  fmt::print(out, "; wall {:.1f} s\n{}\n", r.seconds, r.alarms() == 0 ? "PASS" : "FAIL");
}

}  // namespace ffn
