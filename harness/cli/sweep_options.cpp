#include "harness/cli/sweep_options.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <type_traits>

namespace ffn::cli {

namespace {

std::vector<std::string> shape_names() {
  std::vector<std::string> names;
  for (const auto& s : shape_presets()) names.push_back(s.name);
  return names;
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

}  // namespace

void add_sweep_options(CLI::App* cmd, SweepOptions& o) {
  cmd->add_option("--shape", o.shape, "Shape preset")
      ->check(CLI::IsMember(shape_names()))
      ->capture_default_str();
  cmd->add_option_function<std::int64_t>(
         "--tokens",
         [&o](std::int64_t t) {
           // BLAS takes int dimensions; larger counts would also overflow the tensor sizes.
           if (t > std::numeric_limits<int>::max())
             throw CLI::ValidationError(
                 "--tokens", fmt::format("{} is more than a GEMM can take ({})", t,
                                         std::numeric_limits<int>::max()));
           o.tokens = t;
           o.tokens_given = true;
         },
         "Tokens (rows of x); default: the preset's (tiny 8, ltx2-* 64)")
      ->check(number_check<std::int64_t>());
  cmd->add_option("--tp", o.tps, "TP sizes, comma-separated")
      ->delimiter(',')
      ->check(number_check<int>())
      ->capture_default_str();
  std::vector<std::string> precision_names;
  for (const auto& p : precision_presets()) precision_names.push_back(p.name);
  cmd->add_option("--precision", o.precisions,
                  "Precisions, comma-separated: plain dtypes, or quantization schemes with bf16 "
                  "activations (fp8-static, fp8-dynamic, fp8-dynamic-tensor, fp8-block, int8, nvfp4)")
      ->delimiter(',')
      ->check(CLI::IsMember(precision_names))
      ->capture_default_str();
  cmd->add_option("--allreduce", o.allreduce,
                  "AllReduce models, comma-separated: ring (NCCL ring, rounds at every hop), "
                  "oneshot (fp32 sum in rank order, one rounding), exact (fp64 sum, one rounding)")
      ->delimiter(',')
      ->check(CLI::IsMember({"ring", "oneshot", "exact"}))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the generated inputs")
      ->check(number_check<std::uint64_t>())
      ->capture_default_str();
  cmd->add_option("--outliers", o.outliers, "Hidden channels of x scaled by --outlier-scale")
      ->check(number_check<int>())
      ->capture_default_str();
  cmd->add_option("--outlier-scale", o.outlier_scale, "Scale of the outlier channels")
      ->check(number_check<double>())
      ->capture_default_str();
}

void add_frame_options(CLI::App* cmd, FrameCliOptions& o) {
  cmd->add_flag("--frames", o.enabled,
                "Also roll both paths out through a residual stack of FFN layers, decode frames and "
                "judge them by PSNR and SSIM");
  cmd->add_option("--layers", o.layers, "Layers of the rollout stack (48 in LTX-2)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--grid", o.grid, "Latent grid frames,height,width (tokens = their product)")
      ->delimiter(',')
      ->expected(3)
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--patch", o.patch, "Pixels per token side")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--min-psnr", o.min_psnr, "Frame PSNR threshold in dB (default: by precision)")
      ->check(number_check<double>());
  cmd->add_option("--min-ssim", o.min_ssim, "Frame SSIM threshold (default: by precision)")
      ->check(CLI::Range(-1.0, 1.0));
}

std::optional<FrameOptions> to_frame_options(const FrameCliOptions& o) {
  if (!o.enabled) return std::nullopt;
  FrameOptions f;
  f.rollout = {o.layers, o.grid[0], o.grid[1], o.grid[2], o.patch};
  f.min_psnr_db = o.min_psnr;
  f.min_ssim = o.min_ssim;
  return f;
}

SweepConfig to_sweep(const SweepOptions& o) {
  SweepConfig s;
  s.shape = *find_shape(o.shape);  // IsMember checked the name
  s.tokens = o.tokens_given ? o.tokens : s.shape.default_tokens;
  s.tps = o.tps;
  s.precisions.clear();
  for (const auto& p : o.precisions) s.precisions.push_back(*find_precision(p));
  s.allreduce.clear();
  for (const auto& m : o.allreduce) s.allreduce.push_back(*parse_allreduce_model(m));
  s.seed = o.seed;
  s.outlier_channels = o.outliers;
  s.outlier_scale = o.outlier_scale;
  return s;
}

}  // namespace ffn::cli
