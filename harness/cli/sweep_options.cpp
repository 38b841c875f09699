#include "harness/cli/sweep_options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <algorithm>
#include <limits>

#include "harness/cli/validators.hpp"
#include "harness/run/rollout.hpp"
#include "harness/tp/model_catalog.hpp"

namespace ffn::cli {

namespace {

// "tiny 8", ... for every preset.
std::vector<std::string> default_tokens() {
  std::vector<std::string> out;
  for (const auto& s : shape_presets()) out.push_back(fmt::format("{} {}", s.name, s.default_tokens));
  return out;
}

std::vector<std::string> shape_names() {
  std::vector<std::string> names;
  for (const auto& s : shape_presets()) names.push_back(s.name);
  return names;
}

}  // namespace

std::vector<AllReduceModel> parse_allreduce_list(const std::vector<std::string>& names) {
  std::vector<AllReduceModel> models;
  const auto add = [&](AllReduceModel m) {
    if (std::find(models.begin(), models.end(), m) == models.end()) models.push_back(m);
  };
  for (const std::string& n : names) {
    if (n == "all")
      for (AllReduceModel m : allreduce_models()) add(m);
    else
      add(*parse_allreduce_model(n));  // IsMember checked the name
  }
  return models;
}

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
         fmt::format("Tokens (rows of x); default: the preset's ({})", fmt::join(default_tokens(), ", ")))
      ->check(number_check<std::int64_t>());
  cmd->add_option("--tp", o.tps,
                  "TP sizes, comma-separated (default for a model of the catalog, `ffn-parity list models`: the "
                  "sizes its serving stack allows)")
      ->delimiter(',')
      ->check(number_check<int>())
      ->each([&o](const std::string&) { o.tps_given = true; })
      ->capture_default_str();
  std::vector<std::string> precision_names;
  for (const auto& p : precision_presets()) precision_names.push_back(p.name);
  cmd->add_option("--precision", o.precisions,
                  "Precisions, comma-separated: plain dtypes, or quantization schemes with bf16 "
                  "activations (fp8-static, fp8-dynamic, fp8-dynamic-tensor, fp8-block, int8, nvfp4)")
      ->delimiter(',')
      ->check(CLI::IsMember(precision_names))
      ->capture_default_str();
  std::vector<std::string> allreduce_names{"all"}, allreduce_help;
  for (AllReduceModel m : allreduce_models()) {
    allreduce_names.emplace_back(allreduce_model_name(m));
    allreduce_help.push_back(fmt::format("{} ({})", allreduce_model_name(m), allreduce_model_description(m)));
  }
  for (const AllReduceAlias& a : allreduce_aliases()) {
    allreduce_names.emplace_back(a.name);
    allreduce_help.push_back(fmt::format("{} (alias of {})", a.name, allreduce_model_name(a.model)));
  }
  cmd->add_option("--allreduce", o.allreduce,
                  fmt::format("AllReduce models, comma-separated, or all (every model; `ffn-parity list allreduce` "
                              "names each one's source): {}",
                              fmt::join(allreduce_help, "; ")))
      ->delimiter(',')
      ->check(CLI::IsMember(allreduce_names))
      ->each([&o](const std::string&) { o.allreduce_given = true; })
      ->capture_default_str();
  cmd->add_option("--nccl-channels", o.nccl_channels,
                  "nccl-ring: the channels NCCL is pinned to (NCCL_MIN_NCHANNELS = NCCL_MAX_NCHANNELS); each "
                  "channel's ring is the rank order")
      ->check(number_check<int>())
      ->check(in_range(1, 64))
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
  CLI::Option* frames = cmd->add_flag("--frames", o.enabled,
                                      "Also roll both paths out through a residual stack of FFN layers, decode "
                                      "frames and judge them by PSNR and SSIM");
  // Settings of the rollout mean nothing without it: refused rather than ignored.
  cmd->add_option("--layers", o.layers, "With --frames: layers of the rollout stack (48 in LTX-2)")
      ->check(number_check<int>())
      ->check(in_range(1, 1000))
      ->needs(frames)
      ->capture_default_str();
  cmd->add_option("--grid", o.grid, "With --frames: latent grid frames,height,width (tokens = their product)")
      ->delimiter(',')
      ->expected(3)
      ->check(number_check<int>())
      ->check(in_range(1, 4096))
      ->needs(frames)
      ->capture_default_str();
  cmd->add_option("--patch", o.patch, "With --frames: pixels per token side")
      ->check(number_check<int>())
      ->check(in_range(1, 256))
      ->needs(frames)
      ->capture_default_str();
  cmd->add_option("--min-psnr", o.min_psnr, "With --frames: frame PSNR threshold in dB (default: by precision)")
      ->check(number_check<double>())
      ->needs(frames);
  cmd->add_option("--min-ssim", o.min_ssim, "With --frames: frame SSIM threshold (default: by precision)")
      ->check(number_check<double>())
      ->check(in_range(-1, 1))
      ->needs(frames);
}

std::optional<FrameOptions> to_frame_options(const FrameCliOptions& o) {
  if (!o.enabled) return std::nullopt;
  FrameOptions f;
  f.rollout = {o.layers, o.grid[0], o.grid[1], o.grid[2], o.patch};
  f.min_psnr_db = o.min_psnr;
  f.min_ssim = o.min_ssim;
  return f;
}

std::string rollout_memory_problem(const FrameCliOptions& o, const FfnShape& shape) {
  if (!o.enabled) return {};
  const double need = rollout_peak_bytes(shape, {o.layers, o.grid[0], o.grid[1], o.grid[2], o.patch});
  const double have = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (need <= have) return {};
  const double tokens = double(o.grid[0]) * o.grid[1] * o.grid[2];
  return fmt::format("--grid {},{},{} --patch {}: the rollout of shape {} needs about {:.3g} GiB ({:.3g} tokens, "
                     "{} frames of {}x{} pixels), more than this machine's {:.3g} GiB",
                     o.grid[0], o.grid[1], o.grid[2], o.patch, shape.name, need / (1 << 30), tokens, o.grid[0],
                     double(o.grid[2]) * o.patch, double(o.grid[1]) * o.patch, have / (1 << 30));
}

SweepConfig to_sweep(const SweepOptions& o) {
  SweepConfig s;
  s.shape = *find_shape(o.shape);  // IsMember checked the name
  s.tokens = o.tokens_given ? o.tokens : s.shape.default_tokens;
  s.tps = o.tps;
  if (const ModelFfn* model = find_model(s.shape.name); model && !o.tps_given) s.tps = model->tps;
  s.precisions.clear();
  for (const auto& p : o.precisions) s.precisions.push_back(*find_precision(p));
  s.allreduce.clear();
  s.allreduce = parse_allreduce_list(o.allreduce);
  s.nccl_channels = o.nccl_channels;
  s.seed = o.seed;
  s.outlier_channels = o.outliers;
  s.outlier_scale = o.outlier_scale;
  return s;
}

}  // namespace ffn::cli
