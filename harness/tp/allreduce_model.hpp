#pragma once
// How an AllReduce-sum rounds (DESIGN section 2). This file is the one place where the
// reduction of the partial sums is rounded; every communicator that simulates or predicts
// a reduction calls reduce_sum below. One model per real implementation, each described by
// data (allreduce_model.cpp, `model_table`): the order in which it visits the ranks, where
// its accumulation starts, the precision it accumulates in, and the source it follows.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/dtype.hpp"
#include "kernels/reduction_plan.hpp"

namespace ffn {

enum class AllReduceModel {
  // The generic per-hop ring: tp equal chunks, chunk c starts at rank c, one wire rounding
  // per hop. Not any library's layout: kept as the worst-case budget (tp - 1 roundings at the
  // magnitudes of running sums, what every per-hop model shares) and for the committed goldens.
  ring,
  nccl_ring,       // NCCL Ring, Simple protocol: NCCL's channel, loop and chunk layout
  nccl_tree,       // NCCL Tree within one node: a chain, rank n-1 down to rank 0
  nccl_nvls,       // NCCL NVLS >= 2.27: multimem.ld_reduce .acc::f32, one rounding
  nccl_nvls_bf16,  // NCCL NVLS < 2.27: bf16 adds inside the switch, order undocumented
  custom_1stage,   // the serving stack's custom all-reduce, 1-stage (alias: oneshot)
  custom_2stage,   // the serving stack's custom all-reduce, 2-stage
  symm_mem,        // PyTorch symmetric memory one-shot/two-shot
  mscclpp,         // mscclpp as the serving stack calls it (sgl-kernel's 1-node one-shot kernel)
  trtllm,          // TensorRT-LLM custom all-reduce, bf16 accumulation
  trtllm_fp32acc,  // TensorRT-LLM custom all-reduce with fp32_acc
  exact,           // fp64 sum, one rounding: the best any implementation can do
};

// Every model, in the order of the enum.
const std::vector<AllReduceModel>& allreduce_models();
std::string_view allreduce_model_name(AllReduceModel m);
// One line for `ffn-parity list allreduce` and --help.
std::string_view allreduce_model_description(AllReduceModel m);
// The source file and function the model follows, and the versions it holds for.
std::string_view allreduce_model_source(AllReduceModel m);
// Accepts every name and the alias `oneshot` (custom-1stage).
std::optional<AllReduceModel> parse_allreduce_model(std::string_view name);
// Other names that parse to a model: {"oneshot", custom_1stage}.
struct AllReduceAlias {
  std::string_view name;
  AllReduceModel model;
};
const std::vector<AllReduceAlias>& allreduce_aliases();

// Whether the model's order is what the implementation does (false: the order inside an
// NVLink switch is undocumented; the result is one valid order and the budget covers any).
bool allreduce_order_documented(AllReduceModel m);

// What beside the model decides how a reduction rounds.
struct AllReduceConfig {
  AllReduceConfig(AllReduceModel m = AllReduceModel::ring, int channels = 1) : model(m), nccl_channels(channels) {}
  AllReduceModel model;
  // nccl-ring: the channels NCCL is pinned to (NCCL_MIN_NCHANNELS = NCCL_MAX_NCHANNELS).
  // Ignored by every other model.
  int nccl_channels;
  // nccl-ring: each channel's ring, the ranks in the order data flows (rank r sends to the rank
  // after it); empty: the rank order on every channel; one ring: every channel; else one per
  // channel (nccl_channels of them). Each a permutation of 0..tp-1 (check_nccl_ring_orders).
  std::vector<std::vector<int>> nccl_ring_orders;
  // Fault injection only (fault allreduce-truncate): every rounding to the wire dtype
  // truncates toward zero instead of rounding to nearest; no implementation does this.
  bool truncating = false;
};

// Told of every rounding a reduction performs, with the value it produced: the error
// budget is built from the magnitudes that were actually rounded.
class RoundingObserver {
 public:
  virtual ~RoundingObserver() = default;
  virtual void rounded(std::size_t index, double value, DType grid) = 0;
};

// out[i] = sum over ranks r of inputs[r][i], rounded as the model does (every rank receives the
// same bits in every model: each element is reduced once and sent to all). All inputs lie on the grid of `wire`
// (fp32, bf16 or fp16) and have out.size() elements. Throws std::invalid_argument on
// mismatched sizes, an fp64 wire, fewer than one channel, rings that do not fit, and a buffer the
// implementation cannot reduce (allreduce_buffer_problem).
void reduce_sum(const AllReduceConfig& config, DType wire, std::span<const std::span<const float>> inputs,
                std::span<float> out, RoundingObserver* observer = nullptr);

// [begin, end) of chunk c when n elements are cut into `parts` ring chunks (the first
// n % parts chunks are one element longer): the layout of the generic `ring`.
std::pair<std::size_t, std::size_t> ring_chunk(std::size_t n, int parts, int c);

// One hop of the ring on a chunk: the running sum `acc` arrives at a rank, which adds its
// own values and rounds to the wire dtype. reduce_sum's ring and the message-passing rings
// (MpiCommunicator) both step with this, so they round alike.
void ring_hop(DType wire, std::span<float> acc, std::span<const float> own, bool truncating = false);

// The plan of `config`'s reduction of `count` elements of `wire` over `nranks` ranks: the one
// description of each implementation's order, which reduce_sum
// and the device kernels (kernels/cuda/allreduce.hpp) both execute. Throws std::invalid_argument
// as reduce_sum does.
ReductionPlan allreduce_plan(const AllReduceConfig& config, DType wire, std::size_t count, int nranks);

// Throws std::invalid_argument, one line without the option's name, unless `orders` fits
// `nranks` ranks on `channels` channels: none, one, or `channels` rings, each a permutation of
// 0..nranks-1.
void check_nccl_ring_orders(const std::vector<std::vector<int>>& orders, int nranks, int channels);

// What the serving stack runs for an AllReduce-sum of `bytes` over `tp` ranks of one node with
// full NVLink when its custom all-reduce is on: the custom kernel it dispatches to, or none (it
// calls NCCL), and why, naming the source. From sgl-kernel csrc/allreduce/custom_all_reduce.cuh
// CustomAllreduce::allreduce (whole 16-byte packs only; 2 ranks: 1-stage; up to 4 ranks below
// 512 KiB or up to 8 ranks below 256 KiB: 1-stage; else 2-stage) and python/sglang/srt/
// distributed/device_communicators/custom_all_reduce.py CustomAllreduce (_SUPPORTED_WORLD_SIZES
// 2, 4, 6, 8; should_custom_ar: bytes a multiple of 16 and below max_size, 8 MiB), both from vLLM.
struct CustomAllReduceDispatch {
  std::optional<AllReduceModel> kernel;  // custom_1stage or custom_2stage; nullopt: NCCL
  std::string reason;
};
CustomAllReduceDispatch custom_allreduce_dispatch(int tp, std::size_t bytes);
// For custom-1stage and custom-2stage at tp > 1: one line saying what the stack runs instead of
// that kernel on a message of `bytes` (the model then shows the kernel as if it ran); empty when
// the stack runs it, and for every other model.
std::string allreduce_dispatch_note(AllReduceModel m, int tp, std::size_t bytes);
// Why `m` has no prediction for `count` elements of `wire` over `nranks` ranks, one line naming the
// model, the buffer and the source; empty when it has one (always for one rank: nothing is
// reduced). custom-2stage needs whole 16-byte packs: its kernel refuses others
// (CustomAllreduce::allreduce) and the stack sends them to NCCL (should_custom_ar). mscclpp needs
// nranks slices of whole 8-byte packets: its kernel leaves the rest unreduced.
std::string allreduce_buffer_problem(AllReduceModel m, DType wire, std::size_t count, int nranks);

// NCCL's Ring layout of an AllReduce of `count` elements of `wire` on `nranks` ranks pinned to
// `channels` channels with the Simple protocol and the default NCCL_BUFFSIZE: consecutive
// element ranges and, for each, the channel that moves it and the ring position whose chunk it
// is (the position where its reduction finishes; it starts at the next one). A position is the
// distance from rank 0 along the channel's ring (src/init.cc setupChannel: ring->index = ixRank -
// ixZero), so on a ring in rank order positions are ranks.
struct RingSegment {
  std::size_t begin = 0, end = 0;
  int position = 0;
  int channel = 0;
};
std::vector<RingSegment> nccl_ring_segments(std::size_t count, DType wire, int nranks, int channels);
// The channels NCCL actually runs a message of `bytes` on when pinned to `channels`: its
// Ring/Tree channel tuning drops channels while bytes < channels * 512 threads * 64.
int nccl_effective_channels(std::size_t bytes, int channels);

}  // namespace ffn
