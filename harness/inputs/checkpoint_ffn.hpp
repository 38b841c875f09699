#pragma once
// The feed-forward block of one transformer block, taken out of a safetensors checkpoint by
// its tensor names. LTX-2 names them
//   transformer_blocks.N.ff.net.0.proj.{weight,bias}   proj_in  [inner, dim], [inner]
//   transformer_blocks.N.ff.net.2.{weight,bias}        proj_out [dim, inner], [dim]
// with `audio_ff` instead of `ff` for the audio stream. The shape comes from the tensors.
//
// An FP8 (or INT8) checkpoint stores each Linear's quantized weight with its scales next to
// it (`<module>.weight_scale`, and `<module>.input_scale` for a static input scale); their
// shapes select the scheme, and the stored codes and scales are run as stored, never
// re-quantized. A layout the harness does not know is refused, naming what it found.
#include <optional>
#include <string>
#include <vector>

#include "harness/inputs/safetensors.hpp"
#include "harness/tp/ffn_paths.hpp"
#include "harness/tp/model_catalog.hpp"

namespace ffn {

enum class FfnStream { video, audio };
std::string_view stream_name(FfnStream s);

// Tensor names by role. An ungated MLP: "proj_in.weight", "proj_in.bias", "proj_out.weight",
// "proj_out.bias". A gated MLP (activation.gated): gate and up either fused in proj_in (a
// "gate_up" tensor, gate rows first) or separate ("gate.weight", "up.weight", and biases),
// with proj_out the down projection ("down.weight"). Without bias (bias false) the bias names
// are empty: a checkpoint that holds none loads as such; with bias, a missing bias is refused
// by name. Weight scales are found next to each weight (<module>.weight_scale).
struct FfnTensorNames {
  std::string proj_in_weight, proj_in_bias, proj_out_weight, proj_out_bias;
  // A gated MLP with separate gate and up.
  std::string gate_weight{}, gate_bias{}, up_weight{}, up_bias{};
  Activation activation{};
  bool bias = true;
  // The names given, by role ("gate_up.weight" for a fused gated proj_in).
  std::vector<std::pair<std::string, std::string>> by_role() const;
};

// LTX-2's names for block `layer` of `stream`. `prefix`, when not empty, replaces
// "transformer_blocks.{N}.ff." ("{N}" in it stands for the layer), e.g.
// "model.diffusion_model.transformer_blocks.{N}.ff.".
FfnTensorNames ltx2_ffn_names(int layer, FfnStream stream, const std::string& prefix = "");
// Overrides single names: each entry is ROLE=NAME ("{N}" in NAME stands for the layer), roles
// proj_in.weight, proj_in.bias, proj_out.weight, proj_out.bias and, for gated MLPs,
// gate_up.weight, gate_up.bias, gate.weight, gate.bias, up.weight, up.bias, down.weight,
// down.bias (down is proj_out; gate_up is a fused proj_in). A gate/up role makes the MLP gated.
// Throws std::invalid_argument for an entry that is not ROLE=NAME with a known role.
void apply_name_map(FfnTensorNames& names, const std::vector<std::string>& entries, int layer);
// A model of the catalog (harness/tp/model_catalog.hpp): its tensor map for block `layer`, its
// activation and bias.
FfnTensorNames model_ffn_names(const ModelFfn& model, int layer);

// A tensor the FFN was read from, for provenance.
struct CheckpointTensor {
  std::string role;  // e.g. "proj_in.weight", "proj_in.weight_scale"
  std::string name;  // its name in the checkpoint
  std::string file;  // the file holding it
  safetensors::Dtype dtype = safetensors::Dtype::f32;
  std::vector<std::int64_t> shape;
};

struct CheckpointFfn {
  FfnWeights weights;  // for a quantized checkpoint: the dequantized weights, with `quant` as stored
  DType dtype = DType::bf16;  // the activation dtype the checkpoint runs in
  QuantScheme scheme = QuantScheme::none;
  std::vector<CheckpointTensor> tensors;
  std::string layout;  // one line: what was found, e.g. "BF16 weights" or "F8_E4M3 weights, per-tensor weight_scale, input_scale"
};

// `names` under the one prefix the checkpoint puts before all of them (single-file checkpoints
// hold the transformer as e.g. "model.diffusion_model.transformer_blocks..."): when proj_in's
// weight is not there by its name but exactly one tensor's name ends with "." + it.
FfnTensorNames with_checkpoint_prefix(const safetensors::Checkpoint& checkpoint, const FfnTensorNames& names);

// Reads the FFN by `names` (with_checkpoint_prefix applied); throws
// safetensors::SafetensorsError (one line) for a file problem and std::invalid_argument (one
// line, naming the tensors found) for a layout it does not know.
CheckpointFfn load_checkpoint_ffn(const safetensors::Checkpoint& checkpoint, const FfnTensorNames& names);

// The precisions a checkpoint can run in as stored: its own dtype or scheme, and fp32 for an
// unquantized one (fp32 holds bf16 and fp16 values exactly).
std::vector<Precision> checkpoint_precisions(const CheckpointFfn& ffn);

}  // namespace ffn
