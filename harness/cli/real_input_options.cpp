#include "harness/cli/real_input_options.hpp"

#include "harness/cli/sweep_options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace ffn::cli {

void add_real_input_options(CLI::App* cmd, RealInputOptions& o) {
  CLI::Option* weights = cmd->add_option(
      "--weights", o.weights,
      "Run the FFN of a real checkpoint: a .safetensors file, a *.safetensors.index.json of a sharded one, or a "
      "directory holding one of either. The shape comes from its tensors; its dtype (or FP8/INT8 scales) sets the "
      "precision");
  CLI::Option* layer = cmd->add_option("--layer", o.layer, "With --weights: the transformer block (0-based)")
                           ->check(CLI::NonNegativeNumber);
  CLI::Option* stream = cmd->add_option("--stream", o.stream, "With --weights: the FFN of the video or audio stream")
                            ->check(CLI::IsMember({"video", "audio"}))
                            ->capture_default_str();
  CLI::Option* prefix = cmd->add_option(
      "--tensor-prefix", o.tensor_prefix,
      "With --weights: what replaces 'transformer_blocks.{N}.ff.' in the tensor names ({N} is the layer), e.g. "
      "'model.diffusion_model.transformer_blocks.{N}.ff.'");
  CLI::Option* map = cmd->add_option("--tensor-map", o.tensor_map,
                                     "With --weights: ROLE=NAME overrides of single tensor names ({N} is the layer); "
                                     "roles proj_in.weight, proj_in.bias, proj_out.weight, proj_out.bias and, gated, "
                                     "gate_up.weight (fused, gate rows first) or gate.weight and up.weight, "
                                     "down.weight, and their .bias; weight scales are found next to each weight; "
                                     "comma-separated")
                         ->delimiter(',');
  CLI::Option* activations = cmd->add_option(
      "--activations", o.activations,
      "With --weights: the FFN input x (and output y, when captured) of the block, from a capture file "
      "(harness/inputs/capture_ffn_activations.py); --tokens keeps the first N tokens");
  for (CLI::Option* opt : {layer, stream, prefix, map, activations}) opt->needs(weights);
  for (const char* generated : {"--shape", "--dims", "--activation", "--gated", "--no-bias", "--outliers", "--outlier-scale", "--frames"})
    if (CLI::Option* other = cmd->get_option_no_throw(generated)) weights->excludes(other);
}

RealRun plan_real_run(const SweepOptions& so, const RealInputOptions& o) {
  if (o.layer < 0) throw std::invalid_argument("--weights: --layer N is required (the transformer block to take)");
  RealInputSpec spec;
  spec.weights = o.weights;
  spec.layer = o.layer;
  spec.stream = o.stream == "audio" ? FfnStream::audio : FfnStream::video;
  // --model: the catalog's names for the block (and its activation and bias); else LTX-2's.
  const std::vector<std::string> models = selected_models(so);
  if (models.size() > 1)
    throw std::invalid_argument(fmt::format("--model with --weights: {} models given; a checkpoint holds one", models.size()));
  if (!models.empty() && !o.tensor_prefix.empty())
    throw std::invalid_argument("--tensor-prefix: replaces LTX-2's names; with --model give --tensor-map entries instead");
  spec.names = models.empty() ? ltx2_ffn_names(o.layer, spec.stream, o.tensor_prefix)
                              : model_ffn_names(*find_model(models.front()), o.layer);
  spec.names.activation.rounding = *parse_act_rounding(so.act_rounding);  // IsMember checked the name
  if (!models.empty()) spec.model = models.front();
  apply_name_map(spec.names, o.tensor_map, o.layer);
  spec.activations = o.activations;
  // Generated x has the presets' default of 64 tokens; a capture gives all it holds.
  spec.tokens = so.tokens_given ? so.tokens : (o.activations.empty() ? 64 : 0);
  spec.seed = so.seed;
  if (so.tokens_given && so.tokens <= 0) throw std::invalid_argument(fmt::format("--tokens: must be positive, got {}", so.tokens));

  RealRun run;
  const auto start = std::chrono::steady_clock::now();
  run.inputs = std::make_shared<const RealInputs>(load_real_inputs(std::move(spec)));
  run.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const RealInputs& real = *run.inputs;
  SweepConfig& s = run.sweep;
  s.shape = real.shape;
  s.tokens = real.spec.tokens;
  s.tps = so.tps;
  if (!models.empty() && !so.tps_given) s.tps = find_model(models.front())->tps;
  s.seed = so.seed;
  s.allreduce.clear();
  s.allreduce = parse_allreduce_list(so.allreduce);
  s.nccl_channels = so.nccl_channels;
  s.nccl_ring_orders = parse_nccl_ring_orders(so.nccl_ring_order);
  const std::vector<Precision> possible = checkpoint_precisions(real.ffn);
  s.precisions.clear();
  if (!o.precision_given) s.precisions.push_back(possible.front());
  for (const std::string& name : o.precision_given ? so.precisions : std::vector<std::string>{}) {
    const auto it = std::find_if(possible.begin(), possible.end(), [&](const Precision& p) { return p.name == name; });
    if (it == possible.end()) {
      std::vector<std::string> names;
      for (const Precision& p : possible) names.push_back(p.name);
      throw std::invalid_argument(fmt::format("--precision {}: the checkpoint holds {}, which runs as stored in {} only",
                                              name, real.ffn.layout, fmt::join(names, " or ")));
    }
    s.precisions.push_back(*it);
  }
  const auto inputs = run.inputs;
  run.source = [inputs](const CaseConfig& c) { return real_case_inputs(*inputs, c.dtype); };
  return run;
}

std::string describe(const RealRun& run) {
  const RealInputs& r = *run.inputs;
  std::string text = fmt::format("# real inputs: {} block {} {} ({}, ...): {}, read in {:.2f} s\n", r.spec.weights,
                                 r.spec.layer, stream_name(r.spec.stream), r.ffn.tensors.front().name, r.ffn.layout,
                                 run.load_seconds);
  text += fmt::format("#   x: {}\n", r.x ? fmt::format("{}:{}/x{}", r.spec.activations, r.activations_group,
                                                         r.y ? std::string(" and y") : std::string())
                                         : fmt::format("generated (seed {})", r.spec.seed));
  return text;
}

}  // namespace ffn::cli
