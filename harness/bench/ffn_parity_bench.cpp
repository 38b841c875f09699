// ffn-parity-bench: what the emulation costs. The machine is shared and its speed drifts, so
// every figure is a best-of-N timing or a ratio of two timings taken side by side in this run;
// absolute numbers from different runs are not comparable.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#if FFN_PARITY_WITH_CUDA
#include "harness/bench/cuda_bench.hpp"
#endif
#include "harness/report/table_json_report.hpp"
#include "goldens/golden_file.hpp"
#include "harness/run/case_runner.hpp"
#include "harness/verdict/ffn_error_model.hpp"
#include "harness/version.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/linear.hpp"
#include "kernels/heap_reuse.hpp"

namespace {

using namespace ffn;
using Clock = std::chrono::steady_clock;

// Targets at the full LTX-2 dims. The Linear adds O(MN) work (bias, rounding) to the GEMM's
// O(MNK), so it should run near BLAS speed; so should the whole sweep: everything but its
// GEMMs (inputs, activations, budgets, verdicts) is O(MN) per layer, and the kernel should not
// spend its time mapping pages or rescheduling idle threads; its memory should fit a small CI
// runner (issue 18).
constexpr double kMinLinearRatio = 0.8;
constexpr double kMaxSweepOverFloor = 1.5;
constexpr double kMaxSystemShare = 0.10;
constexpr double kMaxPeakGiB = 1.2;
// Growing the tokens by a factor g multiplies the GEMM work by g; the sweep's time may grow
// by at most that (it grows less where fixed costs, the inputs' weights, dominate).
constexpr double kMaxTimeGrowthOverWork = 1.0;
constexpr int kScaleFactor = 4;
// The row-parallel proj_out shard: strided views into the full weight, as a rank holds it.
constexpr int kShardTp = 4;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_gib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is in KiB
}

struct Row {
  std::string what, result, target;
  std::optional<bool> met;  // empty: not judged (a --quick run measures tiny shapes)
};

struct LinearCase {
  std::string name;
  MatrixView<float> x, w;
  std::span<const float> bias;
};

struct Throughput {
  double linear_gflops = 0, sgemm_gflops = 0;
};

// The two are timed alternately, so that a slow spell of the shared machine hits both.
Throughput measure(const LinearCase& c, int reps) {
  Matrix<float> out(c.x.rows, c.w.rows);
  double best_linear = std::numeric_limits<double>::infinity(), best_sgemm = best_linear;
  for (int i = 0; i < reps; ++i) {
    auto start = Clock::now();
    static_cast<void>(cpu::linear(c.x, c.w, c.bias, DType::bf16));
    best_linear = std::min(best_linear, seconds_since(start));
    start = Clock::now();
    cpu::gemm_xwt_into(c.x, c.w, out.data(), out.cols());
    best_sgemm = std::min(best_sgemm, seconds_since(start));
  }
  const double gflop = 2e-9 * static_cast<double>(c.x.rows * c.w.rows * c.x.cols);
  return {gflop / best_linear, gflop / best_sgemm};
}

std::vector<Row> linear_rows(const FfnShape& shape, bool judged) {
  const FfnInputs in = make_inputs({shape, shape.default_tokens, 0, DType::bf16});
  const FfnWeights& w = in.weights;
  // proj_out's input is what it gets in the FFN: the bf16 activation of proj_in's output.
  const Matrix<float> activation =
      cpu::activation(cpu::linear(in.x, w.w_in, w.b_in, DType::bf16), w.activation, DType::bf16);
  const std::int64_t shard = shape.inner / kShardTp;
  const std::vector<LinearCase> cases = {
      {"proj_in", in.x, w.w_in, w.b_in},
      {"proj_out", activation, w.w_out, w.b_out},
      {fmt::format("proj_out tp{} rank 0", kShardTp), activation.col_view(0, shard),
       w.w_out.col_view(0, shard), w.b_out},
  };
  const int reps = judged ? 7 : 3;
  std::vector<Row> rows;
  for (const LinearCase& c : cases) {
    const Throughput t = measure(c, reps);
    const double ratio = t.linear_gflops / t.sgemm_gflops;
    rows.push_back({fmt::format("bf16 linear / sgemm, {} [{}x{}]x[{}x{}]^T", c.name, c.x.rows,
                                c.x.cols, c.w.rows, c.w.cols),
                    fmt::format("{:.2f} ({:.1f} / {:.1f} GFLOP/s)", ratio, t.linear_gflops,
                                t.sgemm_gflops),
                    fmt::format(">= {}", kMinLinearRatio),
                    judged ? std::optional(ratio >= kMinLinearRatio) : std::nullopt});
  }
  return rows;
}

std::string describe(const SweepConfig& s) {
  std::vector<std::string_view> precisions, models;
  for (const Precision& p : s.precisions) precisions.push_back(p.name);
  for (AllReduceModel m : s.allreduce) models.push_back(allreduce_model_name(m));
  return fmt::format("sweep {} t{} tp {} {} {}", s.shape.name, s.tokens, fmt::join(s.tps, ","),
                     fmt::join(precisions, ","), fmt::join(models, ","));
}

double cpu_seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); }

struct SweepRun {
  double wall = 0, user = 0, system = 0;
  std::vector<cpu::GemmCall> gemms;  // every BLAS call the sweep made, in order
  std::string summary;
};

SweepRun run_sweep(const SweepConfig& sweep) {
  const cpu::GemmLog log;
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  const auto start = Clock::now();
  // As `ffn-parity run` without dumps runs it: the results keep no budgets.
  CaseExecution execution;
  execution.keep_budgets = false;
  const std::vector<CaseResult> results = run_cases(expand(sweep), {}, {}, nullptr, execution);
  SweepRun run;
  run.wall = seconds_since(start);
  getrusage(RUSAGE_SELF, &after);
  run.user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  run.system = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  run.gemms = log.calls();
  run.summary = summary_line(results);
  return run;
}

double gemm_flop(const std::vector<cpu::GemmCall>& calls) {
  double flop = 0;
  for (const cpu::GemmCall& c : calls) flop += 2.0 * static_cast<double>(c.m * c.n * c.k);
  return flop;
}

// The sweep's GEMMs alone: the same sgemm/dgemm calls on the same shapes (through the same entry
// point, so split over the cores the same way), back to back, on
// operands allocated and filled before the clock starts (values on the bf16 grid, no
// subnormals, so that every call runs at its data-independent speed).
double gemm_floor_seconds(const std::vector<cpu::GemmCall>& calls) {
  std::int64_t x_size[2] = {0, 0}, w_size[2] = {0, 0}, out_size[2] = {0, 0};
  for (const cpu::GemmCall& c : calls) {
    x_size[c.fp64] = std::max(x_size[c.fp64], c.m * c.k);
    w_size[c.fp64] = std::max(w_size[c.fp64], c.n * c.k);
    out_size[c.fp64] = std::max(out_size[c.fp64], c.m * c.n);
  }
  const auto filled = [](auto& v, std::int64_t n) {
    v.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(1 + i % 61) * 0.0078125f;
  };
  std::vector<float> xf, wf, of;
  std::vector<double> xd, wd, od;
  filled(xf, x_size[0]), filled(wf, w_size[0]), filled(of, out_size[0]);
  filled(xd, x_size[1]), filled(wd, w_size[1]), filled(od, out_size[1]);
  const auto start = Clock::now();
  for (const cpu::GemmCall& c : calls) {
    if (c.fp64)
      cpu::gemm_xwt_into(MatrixView<double>{xd.data(), c.m, c.k, c.k}, MatrixView<double>{wd.data(), c.n, c.k, c.k},
                         od.data(), c.n);
    else
      cpu::gemm_xwt_into(MatrixView<float>{xf.data(), c.m, c.k, c.k}, MatrixView<float>{wf.data(), c.n, c.k, c.k},
                         of.data(), c.n);
  }
  return seconds_since(start);
}

// The default sweep with its floor, user and system time.
std::vector<Row> sweep_rows(const SweepConfig& sweep, const SweepRun& run, bool judged) {
  const double floor = gemm_floor_seconds(run.gemms);
  const double over_floor = run.wall / floor, system_share = run.system / run.wall;
  const auto judge = [&](bool met) { return judged ? std::optional(met) : std::nullopt; };
  return {
      {describe(sweep), fmt::format("{:.2f} s ({})", run.wall, run.summary), "-", std::nullopt},
      {fmt::format("its GEMM floor ({} sgemm/dgemm calls, {:.4g} GFLOP, back to back)", run.gemms.size(),
                   1e-9 * gemm_flop(run.gemms)),
       fmt::format("{:.2f} s", floor), "-", std::nullopt},
      {"sweep / GEMM floor", fmt::format("{:.2f}", over_floor), fmt::format("<= {}", kMaxSweepOverFloor),
       judge(over_floor <= kMaxSweepOverFloor)},
      {"sweep user, system time (all threads)",
       fmt::format("{:.2f} s, {:.2f} s: system {:.1f}% of wall", run.user, run.system, 100 * system_share),
       fmt::format("<= {:.0f}%", 100 * kMaxSystemShare), judge(system_share <= kMaxSystemShare)},
  };
}

// Where the sweep's time goes besides its GEMMs: the work done once per input set (drawing the
// inputs, the fp64 reference, the error terms of the budgets), timed on its own for the sweep's
// first input set, and the cases as the rest of the sweep's wall time. Information: the GEMMs of
// each phase are inside its time.
std::vector<Row> phase_rows(const SweepConfig& sweep, const SweepRun& run) {
  const std::vector<CaseConfig> cases = expand(sweep);
  std::set<std::string> set_ids;
  for (const CaseConfig& c : cases) set_ids.insert(input_set_id(c.inputs()));
  const std::size_t sets = set_ids.size();
  const InputConfig key = cases.front().inputs();
  auto start = Clock::now();
  const FfnInputs in = make_inputs(key);
  const double inputs = seconds_since(start);
  start = Clock::now();
  const ReferenceResult ref = ffn_reference(in.x, in.weights);
  const double reference = seconds_since(start);
  start = Clock::now();
  static_cast<void>(ffn_error_terms(in.x, in.weights, ref, key.dtype));
  const double terms = seconds_since(start);
  const double per_set = inputs + reference + terms;
  const double rest = run.wall - double(sets) * per_set;
  return {
      {fmt::format("per input set ({} in the sweep): inputs, fp64 reference, error terms", sets),
       fmt::format("{:.2f} + {:.2f} + {:.2f} s = {:.2f} s, x {} = {:.2f} s", inputs, reference, terms, per_set, sets,
                   double(sets) * per_set),
       "-", std::nullopt},
      {fmt::format("the {} cases (the rest of the sweep)", cases.size()),
       fmt::format("{:.2f} s, {:.3f} s per case", rest, rest / double(cases.size())), "-", std::nullopt},
  };
}

// The sweep at tokens / g, tokens and tokens * g, back to back: each step's growth in time
// against its growth in GEMM work.
std::vector<Row> scale_rows(SweepConfig sweep, bool judged) {
  const std::int64_t base = sweep.tokens;
  std::vector<std::pair<std::int64_t, SweepRun>> runs;
  for (const std::int64_t tokens : {base / kScaleFactor, base, base * kScaleFactor}) {
    sweep.tokens = std::max<std::int64_t>(1, tokens);
    runs.emplace_back(sweep.tokens, run_sweep(sweep));
  }
  std::vector<Row> rows;
  for (const auto& [tokens, run] : runs)
    rows.push_back({fmt::format("sweep at {} tokens", tokens),
                    fmt::format("{:.2f} s, GEMM floor {:.2f} s, {:.4g} GFLOP", run.wall, gemm_floor_seconds(run.gemms),
                                1e-9 * gemm_flop(run.gemms)),
                    "-", std::nullopt});
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const SweepRun &a = runs[i - 1].second, &b = runs[i].second;
    const double time_growth = b.wall / a.wall, work_growth = gemm_flop(b.gemms) / gemm_flop(a.gemms);
    const double ratio = time_growth / work_growth;
    rows.push_back({fmt::format("{} -> {} tokens: time growth / GEMM work growth", runs[i - 1].first, runs[i].first),
                    fmt::format("{:.2f} ({:.2f}x / {:.2f}x)", ratio, time_growth, work_growth),
                    fmt::format("<= {}", kMaxTimeGrowthOverWork),
                    judged ? std::optional(ratio <= kMaxTimeGrowthOverWork) : std::nullopt});
  }
  return rows;
}

void print_help() {
  fmt::print(
      "Usage: ffn-parity-bench [--quick] [--backend cpu|cuda] [--help]\n"
      "Measures the default parity sweep (LTX-2 video dims, 64 tokens, tp 1,2,4,8, fp32,bf16,fp16,\n"
      "ring): its wall time against its GEMM floor (the same sgemm/dgemm calls replayed back to\n"
      "back), its user and system time, the peak memory after it; the bf16 Linear emulation\n"
      "against plain sgemm on the LTX-2 FFN shapes; and the sweep at 16, 64 and 256 tokens, its\n"
      "time growth against its GEMM work growth. Prints each with its target. Figures are ratios\n"
      "of timings taken side by side in this run (the Linear ones best-of-N).\n"
      "  --quick  tiny shapes, targets not judged (a smoke test, well under a second)\n"
      "  --backend cuda  instead: both paths device-resident on one GPU, per path and tp the time per\n"
      "           FFN (CUDA events, median), collective bytes, TFLOP/s against the measured GEMM peak,\n"
      "           AllGather and AllReduce shares (harness/bench/cuda_bench.hpp)\n"
      "  --help   this text\n");
}

}  // namespace

int main(int argc, char** argv) {
  reuse_freed_memory();
  bool quick = false;
  std::string_view backend = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--backend" && i + 1 < argc && (argv[i + 1] == std::string_view("cpu") ||
                                                      argv[i + 1] == std::string_view("cuda"))) {
      backend = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      print_help();
      return 0;
    } else {
      fmt::print(stderr, "ffn-parity-bench: error: unknown option '{}' (see --help)\n", arg);
      return 2;
    }
  }

  if (backend == "cuda") {
#if FFN_PARITY_WITH_CUDA
    try {
      return bench::run_cuda_bench(quick);
    } catch (const std::exception& e) {
      // No usable device (README, "Exit status").
      fmt::print(stderr, "ffn-parity-bench: error: --backend cuda: {}\n", e.what());
      return 3;
    }
#else
    fmt::print(stderr, "ffn-parity-bench: error: --backend cuda: this build has no CUDA backend\n");
    return 3;
#endif
  }

  SweepConfig sweep;
  sweep.shape = *find_shape(quick ? "tiny" : "ltx2-video");
  sweep.tokens = sweep.shape.default_tokens;
  fmt::print("# ffn-parity-bench {}{}: shape {} (dim {}, inner {}), {} tokens; {} OpenMP threads (GEMM "
             "columns split over them, BLAS single-threaded)\n",
             k_version, quick ? " --quick" : "", sweep.shape.name, sweep.shape.dim,
             sweep.shape.inner, sweep.tokens, omp_get_max_threads());
  std::fflush(stdout);

  // The sweep runs first, so that the peak memory read after it is the sweep's own.
  const SweepRun run = run_sweep(sweep);
  const double peak_gib = peak_rss_gib();

  std::vector<Row> rows = sweep_rows(sweep, run, !quick);
  for (Row& r : phase_rows(sweep, run)) rows.push_back(std::move(r));
  rows.push_back({"peak RSS after the sweep", fmt::format("{:.2f} GiB", peak_gib),
                  fmt::format("<= {} GiB", kMaxPeakGiB),
                  quick ? std::nullopt : std::optional(peak_gib <= kMaxPeakGiB)});
  for (Row& r : linear_rows(sweep.shape, !quick)) rows.push_back(std::move(r));
  for (Row& r : scale_rows(sweep, !quick)) rows.push_back(std::move(r));

  std::size_t what_width = 0, result_width = 0, met = 0, judged = 0;
  for (const Row& r : rows) {
    what_width = std::max(what_width, r.what.size());
    result_width = std::max(result_width, r.result.size());
    met += r.met.value_or(false);
    judged += r.met.has_value();
  }
  fmt::print("{:<{}}  {:<{}}  {:<9}  {}\n", "measurement", what_width, "result", result_width,
             "target", "met");
  for (const Row& r : rows)
    fmt::print("{:<{}}  {:<{}}  {:<9}  {}\n", r.what, what_width, r.result, result_width,
               r.target, r.met ? (*r.met ? "yes" : "NO") : "-");
  if (quick)
    fmt::print("quick run on shape {}: targets not judged\n", sweep.shape.name);
  else
    fmt::print("{} of {} targets met\n", met, judged);
  return 0;
}
