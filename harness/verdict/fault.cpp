#include "harness/verdict/fault.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace ffn {

const std::vector<FaultInfo>& fault_catalog() {
  using P = FaultedPath;
  static const std::vector<FaultInfo> catalog = {
      {Fault::bias_every_rank, "bias-every-rank",
       "row-parallel proj_out adds the full bias on every rank instead of rank 0 only", P::sharded, false},
      {Fault::proj_out_wrong_axis, "proj-out-wrong-axis",
       "the loader narrows proj_out.weight on dim 0 (rows) instead of dim 1 and reshapes the slice to "
       "[dim, inner/tp]",
       P::sharded, false},
      {Fault::allreduce_skipped, "allreduce-skipped", "the AllReduce is skipped: rank 0's partial sum is the output",
       P::sharded, false},
      {Fault::allgather_rank_order, "allgather-rank-order",
       "AllGather concatenates the ranks' shards in reverse rank order (old path)", P::allgather, false},
      {Fault::gelu_exact, "gelu-exact",
       "the activation computed as GELU with erf instead of the model's function (the tanh approximation, SiLU)",
       P::sharded, false},
      {Fault::fp8_scale_per_shard, "fp8-scale-per-shard",
       "the loader recomputes the per-tensor FP8 weight scale on each rank's shard instead of replicating "
       "the checkpoint's",
       P::sharded, false},
      {Fault::allreduce_fp16, "allreduce-fp16", "the AllReduce moves and adds fp16 where the activations are bf16",
       P::sharded, false},
      {Fault::token_dropped, "token-dropped",
       "one token (the middle one) is dropped: the later tokens shift up one row, a zero token pads the end",
       P::sharded, false},
      {Fault::shard_off_by_one, "shard-off-by-one",
       "proj_out's column shards start one column early from rank 1 on (an off-by-one shard boundary)",
       P::sharded, false},
      {Fault::gate_up_contiguous, "gate-up-contiguous",
       "the fused gate_up weight is sharded as one contiguous column-parallel tensor (at tp 2 rank 0 gets "
       "gate only, rank 1 up only) instead of gate and up each on its own",
       P::sharded, false},
      {Fault::gate_up_swapped, "gate-up-swapped",
       "the loader puts each rank's up rows where its gate rows belong in the merged weight, and gate where up "
       "belongs",
       P::sharded, false},
      {Fault::act_wrong_half, "act-wrong-half",
       "the gated activation kernel takes the second half of its input as the gate: act(up) * gate", P::sharded,
       false},
      {Fault::stray_bias, "stray-bias",
       "a bias the checkpoint does not have (an initialised, never loaded parameter) is added to a no-bias "
       "MLP's row-parallel proj_out on every rank",
       P::sharded, false},
      {Fault::allreduce_truncate, "allreduce-truncate",
       "every rounding the AllReduce makes onto the wire dtype truncates toward zero (each hop of a bf16-adding "
       "model, the final conversion of an fp32-accumulating one): errors that lean one way, each within an ulp",
       P::sharded, false},
      {Fault::partial_truncate, "partial-truncate",
       "the row-parallel proj_out's GEMM epilogue converts its fp32 partial sums to the activation dtype by "
       "truncation (dropping the low bits) instead of rounding to nearest",
       P::sharded, false},
      {Fault::control_allreduce_fp32, "control-allreduce-fp32",
       "control, must pass: the partial sums are reduced in fp32 and rounded once (more accurate than the "
       "case's model)",
       P::sharded, true},
      {Fault::control_allreduce_exact, "control-allreduce-exact",
       "control, must pass: the AllReduce is the `exact` model (fp64 sum, one rounding) whatever the case's "
       "model",
       P::sharded, true},
  };
  return catalog;
}

const FaultInfo& fault_info(Fault f) {
  for (const FaultInfo& i : fault_catalog())
    if (i.fault == f) return i;
  throw std::invalid_argument("fault_info: no fault injected");
}

std::string_view fault_name(Fault f) { return f == Fault::none ? "none" : fault_info(f).name; }

std::optional<Fault> parse_fault(std::string_view name) {
  for (const FaultInfo& i : fault_catalog())
    if (i.name == name) return i.fault;
  return std::nullopt;
}

std::string fault_not_applicable(Fault f, int tp, const Precision& p, bool bias, const Activation& activation) {
  const bool gated = activation.gated;
  if (f == Fault::gelu_exact && activation.fn == ActFn::gelu)
    return "the MLP's activation is GELU with erf already: the fault changes nothing";
  if (f == Fault::bias_every_rank && !bias) return "the MLP has no bias to add on every rank";
  if (f == Fault::stray_bias && bias) return "the MLP has a bias of its own: a stray one needs an MLP without bias";
  const bool gate_up = f == Fault::gate_up_contiguous || f == Fault::gate_up_swapped || f == Fault::act_wrong_half;
  if (gate_up && !gated) return "the MLP is not gated: it has no gate and up halves";
  if (f == Fault::none || f == Fault::gelu_exact || f == Fault::token_dropped || f == Fault::stray_bias ||
      f == Fault::gate_up_swapped || f == Fault::act_wrong_half)
    return {};
  if (tp == 1) return "tp 1 shards nothing and reduces nothing";
  const SchemeLayout layout = scheme_layout(p.scheme);
  const bool per_tensor_weight = p.quantized() && layout.weight.block_rows == 0 && layout.weight.block_cols == 0;
  switch (f) {
    case Fault::proj_out_wrong_axis:
      if (p.quantized() && !per_tensor_weight)
        return fmt::format("{}: the reshaped slice no longer matches proj_out's weight scale grid; the "
                           "loader's shape check refuses it",
                           p.name);
      return {};
    case Fault::shard_off_by_one: {
      const std::int64_t block = std::max(layout.weight.block_cols, layout.input.block_cols);
      if (p.quantized() && block > 0)
        return fmt::format("{}: the shifted slice cuts a {}-element scale block; the loader refuses it", p.name,
                           block);
      return {};
    }
    case Fault::fp8_scale_per_shard:
      if (!per_tensor_weight || layout.weight.format != QuantFormat::e4m3)
        return fmt::format("{}: not an FP8 checkpoint with per-tensor weight scales", p.name);
      return {};
    case Fault::allreduce_fp16:
      if (p.activation != DType::bf16) return fmt::format("{}: the activations are not bf16", p.name);
      return {};
    case Fault::gate_up_contiguous:
      if (p.quantized() && layout.weight.block_rows > 1)
        return fmt::format("{}: the contiguous shard cuts the fused weight's scale blocks elsewhere than the merged "
                           "layer; the loader refuses it",
                           p.name);
      return {};
    case Fault::allreduce_truncate:
    case Fault::partial_truncate:
      if (p.activation == DType::fp32)
        return fmt::format("{}: fp32 activations: no conversion onto a narrower grid to truncate", p.name);
      return {};
    default: return {};
  }
}

}  // namespace ffn
