#pragma once
// A sweep: the cartesian product of TP sizes, precisions and AllReduce models over one
// shape and one set of generated inputs.
#include <cstdint>
#include <string>
#include <vector>

#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/tp/allreduce_model.hpp"
#include "harness/verdict/fault.hpp"

namespace ffn {

struct SweepConfig {
  FfnShape shape;
  std::int64_t tokens = 0;
  std::vector<int> tps{1, 2, 4, 8};
  std::vector<Precision> precisions{DType::fp32, DType::bf16, DType::fp16};
  std::vector<AllReduceModel> allreduce{AllReduceModel::ring};
  int nccl_channels = 1;  // nccl-ring: the channels NCCL is pinned to
  // nccl-ring: the ring of every channel (one) or of each (nccl_channels); empty: rank order.
  std::vector<std::vector<int>> nccl_ring_orders;
  std::uint64_t seed = 0;
  int outlier_channels = 0;
  double outlier_scale = 32.0;
};

struct CaseConfig {
  FfnShape shape;
  std::int64_t tokens = 0;
  int tp = 1;
  DType dtype = DType::bf16;  // activation dtype
  QuantScheme scheme = QuantScheme::none;
  AllReduceModel allreduce = AllReduceModel::ring;
  std::uint64_t seed = 0;
  int outlier_channels = 0;
  double outlier_scale = 32.0;
  Fault fault = Fault::none;  // injected into the path under test (run --inject)
  int nccl_channels = 1;      // nccl-ring: the channels NCCL is pinned to
  std::vector<std::vector<int>> nccl_ring_orders{};  // nccl-ring: the channels' rings; empty: rank order

  AllReduceConfig reduction() const;
  // The model's name, with its channels and rings where they matter: "nccl-ring-ch4",
  // "nccl-ring-ch2-r0.2.1.3_0.1.2.3".
  std::string reduction_label() const;

  InputConfig inputs() const;
  Precision precision() const { return precision_of(dtype, scheme); }
  // e.g. "ltx2-video/t64/tp4/bf16/ring/s0" (+ "/inject=FAULT"; nccl-ring on several
  // channels: "nccl-ring-ch4", given rings: "nccl-ring-r0.2.1.3")
  std::string name() const;
};

// The largest --outlier-scale. Generated x is N(0, 1) (|x| < 2^3 in practice) and weights
// |w| <= 1, so x stays below 2^35, its squares below 2^70 and the hidden values below
// 2^35 dim <= 2^49; the error budget's fp32 sums of squared magnitudes over K <= 2^14 terms
// then stay below 2^112, far from fp32's 2^128 (ffn_error_terms refuses what overflows anyway).
inline constexpr double k_max_outlier_scale = 4294967296.0;

// Throws std::invalid_argument with one line naming the bad value and why.
void validate(const SweepConfig& sweep);
// Refuses, as the checkpoint loader does, a scheme whose scale blocks a shard would cut.
void check_scale_blocks(const FfnShape& shape, const Precision& precision, int tp);
// Cases grouped by precision (all cases of one precision share their inputs). Throws for a
// combination the loader refuses, like validate.
std::vector<CaseConfig> expand(const SweepConfig& sweep);

// What every command runs: the cases of the combinations of precision and tp the checkpoint
// loader accepts, in the order of expand, and one line per combination it refuses (a scale
// block a shard would cut) or whose buffer an AllReduce model cannot reduce
// (allreduce_buffer_problem), which the command lists as not run. Throws std::invalid_argument,
// as validate, for anything else.
struct RunnableCases {
  std::vector<CaseConfig> cases;
  // "fp8-block at tp 4: <the loader's reason>", "bf16 at tp 8, --allreduce mscclpp: <why>"
  std::vector<std::string> not_run;
};
RunnableCases expand_runnable(const SweepConfig& sweep);

// One line per distinct case whose AllReduce the serving stack would not run on its message
// (custom-1stage or custom-2stage at a size or tp the stack dispatches elsewhere:
// allreduce_dispatch_note), in case order.
std::vector<std::string> allreduce_notes(const std::vector<CaseConfig>& cases);

}  // namespace ffn
