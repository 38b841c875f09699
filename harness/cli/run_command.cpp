#include "harness/cli/run_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <iostream>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

#include "harness/report.hpp"
#include "harness/sweep.hpp"

namespace ffn::cli {

namespace {

struct RunOptions {
  std::string shape = "ltx2-video";
  std::int64_t tokens = 0;  // 0: the preset's default
  std::vector<int> tps{1, 2, 4, 8};
  std::vector<std::string> precisions{"fp32", "bf16", "fp16"};
  std::vector<std::string> allreduce{"ring"};
  std::uint64_t seed = 0;
  int outliers = 0;
  double outlier_scale = 32.0;
  std::string format = "table";
  bool tokens_given = false;
};

std::vector<std::string> shape_names() {
  std::vector<std::string> names;
  for (const auto& s : shape_presets()) names.push_back(s.name);
  return names;
}

SweepConfig to_sweep(const RunOptions& o) {
  SweepConfig s;
  s.shape = *find_shape(o.shape);  // IsMember checked the name
  s.tokens = o.tokens_given ? o.tokens : s.shape.default_tokens;
  s.tps = o.tps;
  s.precisions.clear();
  for (const auto& p : o.precisions) s.precisions.push_back(*parse_dtype(p));
  s.allreduce.clear();
  for (const auto& m : o.allreduce) s.allreduce.push_back(*parse_allreduce_model(m));
  s.seed = o.seed;
  s.outlier_channels = o.outliers;
  s.outlier_scale = o.outlier_scale;
  return s;
}

// CLI11 2.1 reports a malformed number only as "Could not convert: --tp = abc" and reads "-1"
// as a huge unsigned seed. Checking each value (each element of a list) with from_chars first
// says what was expected instead.
template <class T>
CLI::Validator number_check() {
  const char* expected = std::is_floating_point_v<T> ? "a number"
                         : std::is_unsigned_v<T>     ? "a non-negative integer"
                                                     : "an integer";
  return CLI::Validator(
      [expected](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc::result_out_of_range) return fmt::format("{} is out of range", text);
        if (ec != std::errc{} || stop != end) return fmt::format("'{}' is not {}", text, expected);
        return {};
      },
      "");
}

// Progress on a terminal only: piped output stays clean.
ProgressFn terminal_progress() {
  if (!isatty(STDERR_FILENO)) return {};
  return [](std::size_t i, std::size_t n, const CaseConfig& c) {
    std::cerr << fmt::format("\r\033[K[{}/{}] {}", i + 1, n, c.name()) << std::flush;
  };
}

int run(const RunOptions& o) {
  const SweepConfig sweep = to_sweep(o);
  std::vector<CaseConfig> cases;
  try {
    cases = expand(sweep);
  } catch (const std::invalid_argument& e) {
    std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return 2;
  }
  const ProgressFn progress = terminal_progress();
  std::vector<CaseResult> results;
  try {
    results = run_cases(cases, progress);
  } catch (const std::bad_alloc&) {
    if (progress) std::cerr << "\r\033[K";
    std::cerr << fmt::format("ffn-parity run: error: --tokens: {} tokens of shape {} (dim {}, "
                             "inner {}) do not fit in memory\n",
                             sweep.tokens, sweep.shape.name, sweep.shape.dim, sweep.shape.inner);
    return 2;
  }
  if (progress) std::cerr << "\r\033[K" << std::flush;
  if (o.format == "json")
    print_json(std::cout, sweep, results);
  else
    print_table(std::cout, sweep, results);
  for (const auto& r : results)
    if (!r.pass) return 1;
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run both FFN paths on identical inputs over TP sizes and precisions, compare them "
             "with each other and with the fp64 reference, print one line per case and a verdict. "
             "Exit status: 0 all cases pass, 1 a case failed, 2 bad usage.");
  cmd->add_option("--shape", opts->shape, "Shape preset")
      ->check(CLI::IsMember(shape_names()))
      ->capture_default_str();
  cmd->add_option_function<std::int64_t>(
         "--tokens",
         [opts](std::int64_t t) {
           // BLAS takes int dimensions; larger counts would also overflow the tensor sizes.
           if (t > std::numeric_limits<int>::max())
             throw CLI::ValidationError(
                 "--tokens", fmt::format("{} is more than a GEMM can take ({})", t,
                                         std::numeric_limits<int>::max()));
           opts->tokens = t;
           opts->tokens_given = true;
         },
         "Tokens (rows of x); default: the preset's (tiny 8, ltx2-* 64)")
      ->check(number_check<std::int64_t>());
  cmd->add_option("--tp", opts->tps, "TP sizes, comma-separated")
      ->delimiter(',')
      ->check(number_check<int>())
      ->capture_default_str();
  cmd->add_option("--precision", opts->precisions, "Precisions, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
  cmd->add_option("--allreduce", opts->allreduce,
                  "AllReduce models, comma-separated: ring (NCCL ring, rounds at every hop), "
                  "oneshot (fp32 sum in rank order, one rounding), exact (fp64 sum, one rounding)")
      ->delimiter(',')
      ->check(CLI::IsMember({"ring", "oneshot", "exact"}))
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Seed of the generated inputs")
      ->check(number_check<std::uint64_t>())
      ->capture_default_str();
  cmd->add_option("--outliers", opts->outliers, "Hidden channels of x scaled by --outlier-scale")
      ->check(number_check<int>())
      ->capture_default_str();
  cmd->add_option("--outlier-scale", opts->outlier_scale, "Scale of the outlier channels")
      ->check(number_check<double>())
      ->capture_default_str();
  cmd->add_option("--format", opts->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback([opts, exit_code] { *exit_code = run(*opts); });
}

}  // namespace ffn::cli
