#include "harness/cli/sweep_options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "harness/cli/ssim_option.hpp"
#include "harness/cli/validators.hpp"
#include "harness/run/rollout.hpp"
#include "harness/tp/model_catalog.hpp"
#include "metrics/skimage_ssim.hpp"

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

std::vector<std::vector<int>> parse_nccl_ring_orders(const std::string& text) {
  std::vector<std::vector<int>> rings;
  if (text.empty()) return rings;
  const auto split = [](std::string_view s, char at) {
    std::vector<std::string_view> parts;
    for (std::size_t b = 0;;) {
      const std::size_t e = s.find(at, b);
      parts.push_back(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
      if (e == std::string_view::npos) return parts;
      b = e + 1;
    }
  };
  for (std::string_view ring : split(text, '/')) {
    rings.emplace_back();
    for (std::string_view rank : split(ring, ',')) {
      int r = -1;
      const auto [end, ec] = std::from_chars(rank.data(), rank.data() + rank.size(), r);
      if (rank.empty() || ec != std::errc() || end != rank.data() + rank.size() || r < 0)
        throw std::invalid_argument(
            fmt::format("--nccl-ring-order: '{}' in '{}' is not a rank (rings of ranks 0..tp-1: 0,2,1,3 or "
                        "0,1,2,3/0,2,1,3)",
                        rank, text));
      rings.back().push_back(r);
    }
  }
  return rings;
}

void add_sweep_options(CLI::App* cmd, SweepOptions& o) {
  cmd->add_option("--shape", o.shape, "Shape preset (`ffn-parity list shapes`)")
      ->check(CLI::IsMember(shape_names()))
      ->each([&o](const std::string&) { o.shape_given = true; })
      ->capture_default_str();
  cmd->add_option("--model", o.models,
                  "MLPs of the model catalog (`ffn-parity list models`), comma-separated, or all; each at the tp "
                  "sizes its stack allows unless --tp is given")
      ->delimiter(',');
  cmd->add_option("--dims", o.dims, "Any other MLP: HIDDEN,INNER (gated: INNER of gate and of up, each)")
      ->delimiter(',')
      ->expected(2)
      ->check(number_check<std::int64_t>());
  cmd->add_option("--activation", o.activation,
                  fmt::format("With --dims: the activation, one of {} (default gelu-tanh); swiglu and geglu are "
                              "silu and gelu with --gated",
                              fmt::join(activation_names(), ", ")))
      ->check(CLI::IsMember(activation_names()));
  cmd->add_flag("--gated", o.gated, "With --dims: a gated MLP, act(gate) * up with a merged gate_up linear");
  cmd->add_flag("--no-bias", o.no_bias, "With --dims: an MLP without bias");
  cmd->add_option("--act-rounding", o.act_rounding,
                  "Where a gated activation rounds: fused (the stack's fused kernels: fp32 math, one rounding) or "
                  "native (the PyTorch fallback: the activation rounded, then the product)")
      ->check(CLI::IsMember({"fused", "native"}))
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
                  "channel's ring is the rank order unless --nccl-ring-order")
      ->check(number_check<int>())
      ->check(in_range(1, 64))
      ->capture_default_str();
  cmd->add_option("--nccl-ring-order", o.nccl_ring_order,
                  "nccl-ring: the ring of every channel, the ranks in the order data flows (0,2,1,3), or one ring "
                  "per channel separated by '/' (0,1,2,3/0,2,1,3: no shell quoting needed); each a permutation of 0..tp-1. Default: rank "
                  "order");
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
  cmd->add_option("--max-mad", o.max_mad,
                  "With --frames: fail a frame whose mean absolute difference (8-bit levels) is above this "
                  "(default: none, reported only)")
      ->check(number_check<double>())
      ->check(in_range(0, 255))
      ->needs(frames);
  add_ssim_option(cmd, o.ssim, "with --frames, default gaussian", frames);
}

std::optional<FrameOptions> to_frame_options(const FrameCliOptions& o) {
  if (!o.enabled) return std::nullopt;
  FrameOptions f;
  f.rollout = {o.layers, o.grid[0], o.grid[1], o.grid[2], o.patch};
  f.min_psnr_db = o.min_psnr;
  f.min_ssim = o.min_ssim;
  f.max_mad = o.max_mad;
  f.ssim = *ssim_kind_of(o.ssim);
  return f;
}

std::string rollout_problem(const FrameCliOptions& o, const FfnShape& shape) {
  if (!o.enabled) return {};
  const int frame_height = o.grid[1] * o.patch, frame_width = o.grid[2] * o.patch;
  if (*ssim_kind_of(o.ssim) == SsimKind::skimage && std::min(frame_height, frame_width) < k_skimage_ssim_window)
    return fmt::format("--ssim skimage: the frames of --grid {},{},{} --patch {} are {}x{} pixels, smaller than its "
                       "{}x{} window (scikit-image refuses such frames too)",
                       o.grid[0], o.grid[1], o.grid[2], o.patch, frame_width, frame_height, k_skimage_ssim_window,
                       k_skimage_ssim_window);
  const double need = rollout_peak_bytes(shape, {o.layers, o.grid[0], o.grid[1], o.grid[2], o.patch});
  const double have = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (need <= have) return {};
  const double tokens = double(o.grid[0]) * o.grid[1] * o.grid[2];
  return fmt::format("--grid {},{},{} --patch {}: the rollout of shape {} needs about {:.3g} GiB ({:.3g} tokens, "
                     "{} frames of {}x{} pixels), more than this machine's {:.3g} GiB",
                     o.grid[0], o.grid[1], o.grid[2], o.patch, shape.name, need / (1 << 30), tokens, o.grid[0],
                     double(o.grid[2]) * o.patch, double(o.grid[1]) * o.patch, have / (1 << 30));
}

std::vector<std::string> selected_models(const SweepOptions& o) {
  if (o.models.size() == 1 && o.models.front() == "all") {
    std::vector<std::string> all;
    for (const ModelFfn& m : model_catalog()) all.emplace_back(m.id);
    return all;
  }
  for (const std::string& id : o.models) {
    if (id == "all") throw std::invalid_argument("--model: all stands alone, not in a list");
    if (!find_model(id))
      throw std::invalid_argument(fmt::format("--model: {}: not in the model catalog (`ffn-parity list models`)", id));
  }
  return o.models;
}

namespace {

FfnShape custom_shape(const SweepOptions& o) {
  const std::int64_t hidden = o.dims[0], inner = o.dims[1];
  if (hidden < 1 || inner < 1)
    throw std::invalid_argument(fmt::format("--dims: {},{}: sizes must be positive", hidden, inner));
  Activation a;  // gelu-tanh
  if (!o.activation.empty()) a = *parse_activation(o.activation);  // IsMember checked the name
  if (o.gated && a.gated)
    throw std::invalid_argument(fmt::format("--gated: --activation {} is gated already", o.activation));
  a.gated = a.gated || o.gated;
  // The name says everything the inputs depend on: goldens key their input sets by it.
  FfnShape s{fmt::format("dims-{}x{}-{}{}", hidden, inner, activation_name(a), o.no_bias ? "-nobias" : ""), hidden,
             inner, 64, !o.no_bias, a};
  return s;
}

SweepConfig sweep_of(const SweepOptions& o, FfnShape shape) {
  SweepConfig s;
  s.shape = std::move(shape);
  s.shape.activation.rounding = *parse_act_rounding(o.act_rounding);  // IsMember checked the name
  s.tokens = o.tokens_given ? o.tokens : s.shape.default_tokens;
  s.tps = o.tps;
  if (const ModelFfn* model = find_model(s.shape.name); model && !o.tps_given) s.tps = model->tps;
  s.precisions.clear();
  for (const auto& p : o.precisions) s.precisions.push_back(*find_precision(p));
  s.allreduce.clear();
  s.allreduce = parse_allreduce_list(o.allreduce);
  s.nccl_channels = o.nccl_channels;
  s.nccl_ring_orders = parse_nccl_ring_orders(o.nccl_ring_order);
  s.seed = o.seed;
  s.outlier_channels = o.outliers;
  s.outlier_scale = o.outlier_scale;
  return s;
}

}  // namespace

SweepConfig model_sweep(const SweepOptions& o, const std::string& id) {
  const ModelFfn* m = find_model(id);
  if (!m) throw std::invalid_argument(fmt::format("--model: {}: not in the model catalog", id));
  return sweep_of(o, m->shape());
}

SweepConfig to_sweep(const SweepOptions& o) {
  const bool model = !o.models.empty(), dims = !o.dims.empty();
  if (int(model) + int(dims) + int(o.shape_given) > 1)
    throw std::invalid_argument("--shape, --model and --dims each name the MLP: give one of them");
  if (!dims && (!o.activation.empty() || o.gated || o.no_bias))
    throw std::invalid_argument(fmt::format("{}: describes the MLP of --dims; a shape or model has its own",
                                            !o.activation.empty() ? "--activation" : o.gated ? "--gated" : "--no-bias"));
  if (dims) return sweep_of(o, custom_shape(o));
  if (model) {
    const std::vector<std::string> ids = selected_models(o);
    if (ids.size() != 1)
      throw std::invalid_argument(fmt::format("--model: {} models given; this command takes one at a time", ids.size()));
    return model_sweep(o, ids.front());
  }
  return sweep_of(o, *find_shape(o.shape));  // IsMember checked the name
}

}  // namespace ffn::cli
