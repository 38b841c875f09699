#pragma once
// The faults that can be injected into a case (fault_injection.hpp puts them in): realistic
// bugs of the tensor-parallel FFN, and negative controls (correct implementations that
// differ from the modelled one and must pass). Every fault is defined here: its name, what
// it does, which path it is put into and where it applies.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/tp/precision.hpp"
#include "kernels/activation.hpp"

namespace ffn {

enum class Fault {
  none,
  bias_every_rank,       // row-parallel proj_out adds its bias on every rank, not on rank 0 only
  proj_out_wrong_axis,   // proj_out's shard narrowed on dim 0 (rows) and reshaped to [dim, inner/tp]
  allreduce_skipped,     // the AllReduce is skipped: rank 0's partial is returned
  allgather_rank_order,  // AllGather concatenates the ranks in reverse order (allgather path)
  gelu_exact,            // the activation computed as GELU with erf instead of the model's function
  fp8_scale_per_shard,   // per-tensor FP8 weight scale recomputed per shard by the loader
  allreduce_fp16,        // AllReduce in fp16 where the activations are bf16
  token_dropped,         // one token dropped: later tokens shift up, a zero token pads the end
  shard_off_by_one,      // proj_out's column shards start one column early from rank 1 on
  gate_up_contiguous,    // the fused gate_up weight sharded as one contiguous column-parallel tensor
  gate_up_swapped,       // the loader puts up where gate belongs in the merged weight
  act_wrong_half,        // the gated activation takes the up half as its gate
  stray_bias,            // a bias (never loaded) added to a no-bias MLP's row-parallel output on every rank
  allreduce_truncate,    // every rounding of the AllReduce to the wire dtype truncates (a reduction)
  partial_truncate,      // proj_out's GEMM epilogue converts the fp32 partials by truncation (a conversion)
  // Negative controls: correct implementations the harness must accept.
  control_allreduce_fp32,   // partial sums reduced in fp32, one rounding (more accurate)
  control_allreduce_exact,  // the AllReduce is the `exact` model whatever the case's model
};

// Which path a fault is put into: the new sharded path, except for the AllGather order,
// which only the old path has.
enum class FaultedPath { sharded, allgather };

struct FaultInfo {
  Fault fault;
  std::string_view name;  // the --inject value
  std::string_view description;
  FaultedPath path;
  bool control;  // a negative control: must pass
};

// Every fault and control, in the order of the enum (none excluded).
const std::vector<FaultInfo>& fault_catalog();
const FaultInfo& fault_info(Fault f);
std::string_view fault_name(Fault f);  // "none" for Fault::none
std::optional<Fault> parse_fault(std::string_view name);

// Why the fault cannot occur in a case of this tp and precision (nothing is sharded at tp 1,
// an FP8 per-tensor scale needs a per-tensor FP8 checkpoint, a scale block a reshape or a
// shifted slice would cut is refused by the loader...); empty when it applies.
// `bias`: the MLP has biases (a bias fault cannot occur in one without, a stray bias only
// there); `activation`: the MLP's (the gate/up faults need a gated one; gelu-exact changes
// nothing where the function is erf GELU already).
std::string fault_not_applicable(Fault f, int tp, const Precision& precision, bool bias = true,
                                 const Activation& activation = {});

}  // namespace ffn
