#pragma once
// The options that describe a sweep, shared by `run` and `golden bless`.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/case/sweep.hpp"
#include "harness/verdict/frame_verdict.hpp"

namespace ffn::cli {

struct SweepOptions {
  std::string shape = "ltx2-video";
  bool shape_given = false;
  // --model: catalog ids, or "all"; --dims HIDDEN,INNER with --activation, --gated, --no-bias:
  // any other MLP. Each of the three excludes the others.
  std::vector<std::string> models;
  std::vector<std::int64_t> dims;
  std::string activation;  // empty: gelu-tanh with --dims, the model's otherwise
  bool gated = false;
  bool no_bias = false;
  std::string act_rounding = "fused";
  std::int64_t tokens = 0;
  bool tokens_given = false;  // otherwise the preset's default
  std::vector<int> tps{1, 2, 4, 8};
  bool tps_given = false;  // otherwise a catalog model's shape runs the tp sizes its stack allows
  std::vector<std::string> precisions{"fp32", "bf16", "fp16"};
  std::vector<std::string> allreduce{"ring"};
  bool allreduce_given = false;  // otherwise `run --comm nccl` runs nccl-ring, the model NCCL is pinned to
  int nccl_channels = 1;
  std::string nccl_ring_order;  // "0,2,1,3" (every channel) or "0,1,2,3/0,2,1,3" (one per channel)
  std::uint64_t seed = 0;
  int outliers = 0;
  double outlier_scale = 32.0;
};

// Options of the frame rollout (--frames and its settings).
struct FrameCliOptions {
  bool enabled = false;
  int layers = 8;
  std::vector<int> grid{4, 8, 12};
  int patch = 16;
  std::optional<double> min_psnr, min_ssim, max_mad;
  std::string ssim = "gaussian";
};
void add_frame_options(CLI::App* cmd, FrameCliOptions& o);
// The rollout settings when --frames was given.
std::optional<FrameOptions> to_frame_options(const FrameCliOptions& o);
// With --frames: one line naming --grid and --patch when the rollout of `shape` cannot be done:
// its frames are smaller than the window of --ssim skimage, or it cannot fit in this machine's
// memory; empty when it can (or without --frames).
std::string rollout_problem(const FrameCliOptions& o, const FfnShape& shape);

// Registers --shape --model --dims --activation --gated --no-bias --act-rounding --tokens --tp
// --precision --allreduce --seed --outliers --outlier-scale. `o` must outlive parsing.
void add_sweep_options(CLI::App* cmd, SweepOptions& o);
// The catalog ids --model names ("all": every one), each checked; empty without --model.
// Throws std::invalid_argument naming an unknown id.
std::vector<std::string> selected_models(const SweepOptions& o);
// The sweep of one MLP: --shape, the one --model, or --dims. Throws std::invalid_argument with
// one line for conflicting or incomplete options (several models: run each with model_sweep).
SweepConfig to_sweep(const SweepOptions& o);
// The sweep of catalog model `id` with the other options of `o`.
SweepConfig model_sweep(const SweepOptions& o, const std::string& id);
// --allreduce values (names, aliases, `all`) as models, each once, in the order given.
std::vector<AllReduceModel> parse_allreduce_list(const std::vector<std::string>& names);
// --nccl-ring-order: rings separated by '/', ranks by ','; empty text: no rings. Throws
// std::invalid_argument naming the option and the part that is not a rank (validate checks the
// rings against tp and the channels).
std::vector<std::vector<int>> parse_nccl_ring_orders(const std::string& text);

}  // namespace ffn::cli
