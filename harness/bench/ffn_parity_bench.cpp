// ffn-parity-bench: what the emulation costs. The machine is shared and its speed drifts, so
// every figure is a best-of-N timing or a ratio of two timings taken side by side in this run;
// absolute numbers from different runs are not comparable.
#include <cblas.h>
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
#include <string>
#include <string_view>
#include <vector>

#if FFN_PARITY_WITH_CUDA
#include "harness/bench/cuda_bench.hpp"
#endif
#include "harness/report/table_json_report.hpp"
#include "harness/run/case_runner.hpp"
#include "harness/version.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/linear.hpp"

namespace {

using namespace ffn;
using Clock = std::chrono::steady_clock;

// Targets at the full LTX-2 dims. The Linear adds O(MN) work (bias, rounding) to the GEMM's
// O(MNK), so it should run near BLAS speed; the default sweep should be quick enough to run on
// every change; its memory should fit a small CI runner.
constexpr double kMinLinearRatio = 0.8;
constexpr double kMaxSweepSeconds = 30;
constexpr double kMaxPeakGiB = 3;
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
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(c.x.rows),
                static_cast<int>(c.w.rows), static_cast<int>(c.x.cols), 1.0f, c.x.data,
                static_cast<int>(c.x.ld), c.w.data, static_cast<int>(c.w.ld), 0.0f, out.data(),
                static_cast<int>(out.cols()));
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

void print_help() {
  fmt::print(
      "Usage: ffn-parity-bench [--quick] [--backend cpu|cuda] [--help]\n"
      "Measures the bf16 Linear emulation against plain sgemm on the LTX-2 FFN shapes, the wall\n"
      "time of the default parity sweep, and the peak memory after it; prints each with its\n"
      "target. Timings are best-of-N; the Linear figure is a ratio taken in the same run.\n"
      "  --quick  tiny shapes, targets not judged (a smoke test, well under a second)\n"
      "  --backend cuda  instead: both paths device-resident on one GPU, per path and tp the time per\n"
      "           FFN (CUDA events, median), collective bytes, TFLOP/s against the measured GEMM peak,\n"
      "           AllGather and AllReduce shares (harness/bench/cuda_bench.hpp)\n"
      "  --help   this text\n");
}

}  // namespace

int main(int argc, char** argv) {
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
  fmt::print("# ffn-parity-bench {}{}: shape {} (dim {}, inner {}), {} tokens; OpenBLAS {} "
             "threads, OpenMP {} threads\n",
             k_version, quick ? " --quick" : "", sweep.shape.name, sweep.shape.dim,
             sweep.shape.inner, sweep.tokens, openblas_get_num_threads(), omp_get_max_threads());
  std::fflush(stdout);

  // The sweep runs first, so that the peak memory read after it is the sweep's own.
  const auto start = Clock::now();
  const std::vector<CaseResult> results = run_cases(expand(sweep));
  const double sweep_seconds = seconds_since(start);
  const double peak_gib = peak_rss_gib();

  std::vector<Row> rows = linear_rows(sweep.shape, !quick);
  rows.push_back({describe(sweep),
                  fmt::format("{:.1f} s ({})", sweep_seconds, summary_line(results)),
                  fmt::format("<= {} s", kMaxSweepSeconds),
                  quick ? std::nullopt : std::optional(sweep_seconds <= kMaxSweepSeconds)});
  rows.push_back({"peak RSS after the sweep", fmt::format("{:.2f} GiB", peak_gib),
                  fmt::format("<= {} GiB", kMaxPeakGiB),
                  quick ? std::nullopt : std::optional(peak_gib <= kMaxPeakGiB)});

  std::size_t what_width = 0, result_width = 0, met = 0;
  for (const Row& r : rows) {
    what_width = std::max(what_width, r.what.size());
    result_width = std::max(result_width, r.result.size());
    met += r.met.value_or(false);
  }
  fmt::print("{:<{}}  {:<{}}  {:<9}  {}\n", "measurement", what_width, "result", result_width,
             "target", "met");
  for (const Row& r : rows)
    fmt::print("{:<{}}  {:<{}}  {:<9}  {}\n", r.what, what_width, r.result, result_width,
               r.target, r.met ? (*r.met ? "yes" : "NO") : "-");
  if (quick)
    fmt::print("quick run on shape {}: targets not judged\n", sweep.shape.name);
  else
    fmt::print("{} of {} targets met\n", met, rows.size());
  return 0;
}
