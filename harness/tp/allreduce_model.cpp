#include "harness/tp/allreduce_model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/rounding.hpp"

namespace ffn {

namespace {

// Bytes of one element on the wire (the stack moves fp32, bf16 or fp16).
std::size_t wire_bytes(DType t) { return t == DType::fp32 ? 4 : t == DType::fp64 ? 8 : 2; }

// The order in which a model visits the ranks for one element.
enum class Order {
  ring_chunks,  // the generic ring: chunk c of tp equal chunks, ranks c, c+1, ..., c-1
  nccl_ring,    // NCCL's layout: the chunk finishing at position c visits c+1, c+2, ..., c
  chain_down,   // ranks n-1, n-2, ..., 0
  rank_order,   // ranks 0, 1, ..., n-1
  slice_owner,  // 16-byte-pack slices: the owner r of the element's slice, then r+1, ..., r-1
  owner_last,   // count/n-element slices: the owner r of the element's slice adds the others in
                // rank order, then its own value
};
using Start = ReductionStart;
using Accumulate = ReductionAccumulate;

struct ModelSpec {
  AllReduceModel model;
  std::string_view name;
  std::string_view description;
  std::string_view source;
  Order order;
  Start start;
  Accumulate accumulate;
  bool order_documented = true;
};

// Every model, in the order of the enum: the one table of how each implementation rounds.
// Sources: DESIGN section 2, read from the implementations; file and function below.
const std::vector<ModelSpec>& model_table() {
  using O = Order;
  using S = Start;
  using A = Accumulate;
  static const std::vector<ModelSpec> table = {
      {AllReduceModel::ring, "ring",
       "generic per-hop ring (worst-case budget, committed goldens): tp equal chunks, chunk c starts at rank c, "
       "an add rounded to the wire dtype at every hop",
       "no library's layout; the per-hop rounding of NCCL src/device/all_reduce.h runRing with tp equal chunks",
       O::ring_chunks, S::first_value, A::wire_each_add},
      {AllReduceModel::nccl_ring, "nccl-ring",
       "NCCL Ring (Simple, --nccl-channels): bf16 add rounded at each hop; the chunk finishing at position c "
       "starts at c+1",
       "NCCL 2.18-2.30 src/device/all_reduce.h runRing (chunk = ringIx + nranks - 1 at step 0, last partial loop "
       "chunkCount = alignUp(divUp(rem, nranks), 16/sizeof(T))); src/include/device.h ncclCollCbdPart; "
       "src/enqueue.cc scheduleCollTasksToPlan (channel cells) and calcCollChunking (chunk = NCCL_BUFFSIZE/"
       "NCCL_STEPS * ALLREDUCE_CHUNKSTEPS); src/device/reduce_kernel.h FuncSum (__hadd2)",
       O::nccl_ring, S::first_value, A::wire_each_add},
      {AllReduceModel::nccl_tree, "nccl-tree",
       "NCCL Tree in one node: a chain, rank n-1 sends, each rank up the chain adds its own (bf16 each add), "
       "rank 0 is the root",
       "NCCL 2.18-2.30 src/device/all_reduce.h runTreeUpDown (leaf directSend, middle directRecvReduceDirectSend, "
       "root directRecvReduceCopy); src/graph/connect.cc ncclTopoPreset (tree.up = treeIntra[i-1], tree.down[0] = "
       "treeIntra[i+1]: the chain of the topology search's intra-node order, root first; modelled as rank order, "
       "so the leaf n-1 starts)",
       O::chain_down, S::first_value, A::wire_each_add},
      {AllReduceModel::nccl_nvls, "nccl-nvls",
       "NCCL NVLS >= 2.27 (CUDA >= 12.2): multimem.ld_reduce .acc::f32, fp32 sum, one rounding; order inside the "
       "switch undocumented (rank order modelled, budget for any order)",
       "NCCL >= 2.27 src/device/reduce_kernel.h applyLoadMultimem (multimem.ld_reduce.add.acc::f32 on bf16x2); "
       "src/device/all_reduce.h runNvls",
       O::rank_order, S::first_value, A::fp32_once, false},
      {AllReduceModel::nccl_nvls_bf16, "nccl-nvls-bf16",
       "NCCL NVLS < 2.27: multimem.ld_reduce on bf16 without .acc::f32, a bf16 rounding per add inside the "
       "switch; order undocumented (rank order modelled, budget for any order)",
       "NCCL 2.17-2.26 src/device/reduce_kernel.h applyLoadMultimem (multimem.ld_reduce.add.bf16x2)",
       O::rank_order, S::first_value, A::wire_each_add, false},
      {AllReduceModel::custom_1stage, "custom-1stage",
       "serving stack custom all-reduce, 1-stage (alias oneshot): fp32 sum from an fp32 zero over ranks 0..n-1, "
       "one rounding",
       "sgl-kernel/csrc/allreduce/custom_all_reduce.cuh cross_device_reduce_1stage / packed_reduce (from vLLM "
       "csrc/custom_all_reduce.cuh); the JIT kernel's one-shot starts from an fp32 zero",
       O::rank_order, S::zero, A::fp32_once},
      {AllReduceModel::custom_2stage, "custom-2stage",
       "serving stack custom all-reduce, 2-stage: each rank sums its slice (size/n 16-byte packs, the last rank "
       "the remainder) in fp32 from its own value, ranks r, r+1, ..., one rounding; whole packs only (the stack "
       "sends other buffers to NCCL)",
       "sgl-kernel/csrc/allreduce/custom_all_reduce.cuh cross_device_reduce_2stage (ptrs[i] = ptrs[(rank + i) % "
       "ngpus], part = size / ngpus, the last rank takes the remainder) / packed_reduce",
       O::slice_owner, S::first_value, A::fp32_once},
      {AllReduceModel::symm_mem, "symm-mem",
       "PyTorch symmetric memory one-shot/two-shot: bf16 add (__hadd2) after each add, ranks 0..n-1",
       "torch/csrc/distributed/c10d/symm_mem/CUDASymmetricMemoryOps.cu one_shot_all_reduce_kernel / "
       "CUDASymmetricMemory-inl.h load_and_reduce (loads from rank + step, then acc = vecs[0] and add_vec of vecs[1], "
       "..., vecs[n-1]: rank order on every rank)",
       O::rank_order, S::first_value, A::wire_each_add},
      {AllReduceModel::mscclpp, "mscclpp",
       "mscclpp as the serving stack calls it (1 node): tp slices, each reduced by its owner in bf16 from a zero: "
       "the other ranks in rank order, its own value last; every rank receives the owner's bits",
       "sgl-kernel/csrc/allreduce/mscclpp_allreduce.cuh allreduce_1shotLL_1node (Msccl1Shot1NodeLLcontext::"
       "allreduce; data = 0, add_vectors of each peer's packet in rank order, then of src; __hadd2), as sglang's "
       "pymscclpp calls it through sgl_kernel.mscclpp_allreduce",
       O::owner_last, S::zero, A::wire_each_add},
      {AllReduceModel::trtllm, "trtllm",
       "TensorRT-LLM custom all-reduce: bf16 adds (add128b) from a zero over ranks 0..n-1",
       "TensorRT-LLM cpp/tensorrt_llm/kernels/customAllReduceKernels.cu oneShotAllReduceKernel / "
       "twoShotAllReduceKernel (buffers[ii] = peer (local_rank + ii) % N; sums = {0}, then add128b of "
       "vals[(rank + N - local_rank) % N] for rank 0..N-1: \"always reduce from rank 0\" on every rank)",
       O::rank_order, S::zero, A::wire_each_add},
      {AllReduceModel::trtllm_fp32acc, "trtllm-fp32acc",
       "TensorRT-LLM all-reduce with fp32_acc: fp32 sum from a zero over ranks 0..n-1, one rounding",
       "TensorRT-LLM cpp/tensorrt_llm/kernels/communicationKernels/allReduceFusionKernels.cu (fp32 "
       "accumulation when fp32_acc)",
       O::rank_order, S::zero, A::fp32_once},
      {AllReduceModel::exact, "exact", "fp64 sum, one rounding: the best any implementation can do",
       "no implementation: the bound", O::rank_order, S::first_value, A::fp64_once},
  };
  return table;
}

const ModelSpec& spec(AllReduceModel m) {
  for (const ModelSpec& s : model_table())
    if (s.model == m) return s;
  throw std::invalid_argument("unknown AllReduce model");
}

}  // namespace

const std::vector<AllReduceModel>& allreduce_models() {
  static const std::vector<AllReduceModel> all = [] {
    std::vector<AllReduceModel> v;
    for (const ModelSpec& s : model_table()) v.push_back(s.model);
    return v;
  }();
  return all;
}

std::string_view allreduce_model_name(AllReduceModel m) { return spec(m).name; }
std::string_view allreduce_model_description(AllReduceModel m) { return spec(m).description; }
std::string_view allreduce_model_source(AllReduceModel m) { return spec(m).source; }
bool allreduce_order_documented(AllReduceModel m) { return spec(m).order_documented; }

const std::vector<AllReduceAlias>& allreduce_aliases() {
  static const std::vector<AllReduceAlias> aliases = {{"oneshot", AllReduceModel::custom_1stage}};
  return aliases;
}

std::optional<AllReduceModel> parse_allreduce_model(std::string_view name) {
  for (const ModelSpec& s : model_table())
    if (s.name == name) return s.model;
  for (const AllReduceAlias& a : allreduce_aliases())
    if (a.name == name) return a.model;
  return std::nullopt;
}

std::pair<std::size_t, std::size_t> ring_chunk(std::size_t n, int parts, int c) {
  const std::size_t p = static_cast<std::size_t>(parts), k = static_cast<std::size_t>(c);
  const std::size_t base = n / p, extra = n % p;
  const std::size_t begin = k * base + std::min(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

void ring_hop(DType wire, std::span<float> acc, std::span<const float> own, bool truncating) {
  if (acc.size() != own.size()) throw std::invalid_argument("ring_hop: chunk sizes differ");
  for (std::size_t i = 0; i < acc.size(); ++i)
    // fp32 add, then the wire dtype (__hadd2). The fp32 sum of two bf16/fp16 values is
    // exact, or the smaller one lies far below half a wire ulp of the larger, so this is
    // the correctly rounded wire-dtype add: one rounding per hop.
    acc[i] = truncating ? round_toward_zero(wire, acc[i] + own[i]) : round_to(wire, acc[i] + own[i]);
}

int nccl_effective_channels(std::size_t bytes, int channels) {
  // src/enqueue.cc getAlgoInfo, "Ring/Tree channel tuning": nc-- while nBytes < nc * nt *
  // threadThreshold, nt = NCCL_SIMPLE_MAX_NTHREADS (512), threshold NCCL_SIMPLE_THREAD_THRESHOLD (64).
  constexpr std::size_t per_channel = 512 * 64;
  int nc = channels;
  while (nc >= 2 && bytes < static_cast<std::size_t>(nc) * per_channel) --nc;
  return nc;
}

std::vector<RingSegment> nccl_ring_segments(std::size_t count, DType wire, int nranks, int channels) {
  if (nranks < 1 || channels < 1) throw std::invalid_argument("nccl_ring_segments: nranks and channels must be >= 1");
  const std::size_t elem = wire_bytes(wire);
  const auto div_up = [](std::size_t a, std::size_t b) { return (a + b - 1) / b; };
  const auto align_up = [&](std::size_t a, std::size_t b) { return div_up(a, b) * b; };
  // Channel parts: src/enqueue.cc scheduleCollTasksToPlan for one AllReduce alone in its plan
  // (trafficPerByte 2, MinTrafficPerChannel 32 KiB: cells of 16 KiB; each channel's share of
  // the traffic rounded to cells, the last channel's count short by the padding).
  std::vector<std::pair<std::size_t, std::size_t>> parts;  // (offset, count) per channel
  {
    const int nc = nccl_effective_channels(count * elem, channels);
    constexpr std::size_t min_traffic = 32 << 10, traffic_per_byte = 2;
    const std::size_t cell = align_up(div_up(min_traffic, traffic_per_byte), 16);
    const std::size_t per_cell = cell / elem;
    const std::size_t cells = div_up(count * elem, cell);
    const std::size_t traffic_per_channel =
        align_up(std::max(min_traffic, count * elem * traffic_per_byte) / static_cast<std::size_t>(nc), 16);
    const std::size_t traffic_per_cell = cell * traffic_per_byte;
    std::size_t cells_per_channel = std::min(cells, div_up(traffic_per_channel, traffic_per_cell));
    std::size_t cells_lo = nc == 1 ? cells : std::min(cells, div_up(traffic_per_channel, traffic_per_cell));
    long n_mid = cells_per_channel ? static_cast<long>((cells - cells_lo) / cells_per_channel) : 0;
    std::size_t cells_hi = cells_per_channel ? (cells - cells_lo) % cells_per_channel : 0;
    const long used = (cells_lo ? 1 : 0) + n_mid + (cells_hi ? 1 : 0);
    if (nc < used) {  // overflowed the channels: the rest spread over the others
      n_mid = nc - 2;
      cells_per_channel = (cells - cells_lo) / static_cast<std::size_t>(n_mid + 1);
      cells_hi = cells_per_channel + (cells - cells_lo) % static_cast<std::size_t>(n_mid + 1);
    }
    if (cells_hi == 0 && n_mid != 0) {
      cells_hi = cells_per_channel;
      n_mid -= 1;
    }
    std::size_t count_lo = cells_lo * per_cell, count_hi = cells_hi * per_cell;
    const std::size_t count_mid = n_mid ? cells_per_channel * per_cell : 0;
    (count_hi ? count_hi : count_lo) -= cells * per_cell - count;
    std::size_t at = 0;
    if (count_lo) parts.emplace_back(at, count_lo), at += count_lo;
    for (long m = 0; m < n_mid; ++m) parts.emplace_back(at, count_mid), at += count_mid;
    if (count_hi) parts.emplace_back(at, count_hi);
  }
  // Within a channel: src/device/all_reduce.h runRing. Loops of nranks chunks of chunkCount
  // (calcCollChunking, Ring/Simple: NCCL_BUFFSIZE 4 MiB / NCCL_STEPS 8 * ALLREDUCE_CHUNKSTEPS 4 = 2 MiB);
  // the last partial loop uses chunkCount = alignUp(divUp(remCount, nranks), 16 / sizeof(T)).
  const std::size_t full_chunk = (std::size_t{4} << 20) / 8 * 4 / elem;
  const std::size_t n = static_cast<std::size_t>(nranks);
  std::vector<RingSegment> segments;
  for (std::size_t channel = 0; channel < parts.size(); ++channel) {
    const auto [offset, part] = parts[channel];
    std::size_t chunk = full_chunk;
    for (std::size_t done = 0; done < part; done += n * chunk) {
      const std::size_t rem = part - done;
      if (rem < n * chunk) chunk = align_up(div_up(rem, n), 16 / elem);
      for (std::size_t c = 0; c < n; ++c) {
        const std::size_t b = c * chunk;
        if (b >= rem) break;
        segments.push_back({offset + done + b, offset + done + std::min(b + chunk, rem), static_cast<int>(c),
                            static_cast<int>(channel)});
      }
    }
  }
  return segments;
}

namespace {

// The ranks starting at `first` and wrapping: first, first+1, ..., first-1.
void rotated(std::vector<int>& order, int first) {
  const int n = static_cast<int>(order.size());
  for (int k = 0; k < n; ++k) order[k] = (first + k) % n;
}

// Channel `channel`'s ring from rank 0 on: ring[p] is the rank at position p.
std::vector<int> ring_from_rank0(const AllReduceConfig& config, int channel, int n) {
  std::vector<int> ring(static_cast<std::size_t>(n));
  const auto& orders = config.nccl_ring_orders;
  if (orders.empty()) {
    rotated(ring, 0);
    return ring;
  }
  const std::vector<int>& given = orders[orders.size() == 1 ? 0 : static_cast<std::size_t>(channel)];
  const int zero = static_cast<int>(std::find(given.begin(), given.end(), 0) - given.begin());
  for (int p = 0; p < n; ++p) ring[p] = given[(zero + p) % n];
  return ring;
}

}  // namespace

CustomAllReduceDispatch custom_allreduce_dispatch(int tp, std::size_t bytes) {
  constexpr std::size_t max_size = std::size_t{8192} * 1024;  // CustomAllreduce._MAX_CAR_SIZE
  if (tp != 2 && tp != 4 && tp != 6 && tp != 8)
    return {std::nullopt, fmt::format("the custom all-reduce supports 2, 4, 6 or 8 ranks, not {} (custom_all_reduce.py "
                                      "CustomAllreduce._SUPPORTED_WORLD_SIZES): the stack calls NCCL",
                                      tp)};
  if (bytes % 16 != 0)
    return {std::nullopt, fmt::format("{} bytes are not whole 16-byte packs (custom_all_reduce.py should_custom_ar): "
                                      "the stack calls NCCL",
                                      bytes)};
  if (bytes >= max_size)
    return {std::nullopt, fmt::format("{} bytes are not below the custom all-reduce's 8 MiB buffer (custom_all_reduce.py "
                                      "should_custom_ar): the stack calls NCCL",
                                      bytes)};
  if (tp == 2)
    return {AllReduceModel::custom_1stage,
            "2 ranks always run the 1-stage kernel (custom_all_reduce.cuh CustomAllreduce::allreduce)"};
  if ((tp <= 4 && bytes < 512 * 1024) || bytes < 256 * 1024)
    return {AllReduceModel::custom_1stage,
            fmt::format("{} bytes on {} ranks are below the 2-stage threshold ({} KiB; custom_all_reduce.cuh "
                        "CustomAllreduce::allreduce)",
                        bytes, tp, tp <= 4 ? 512 : 256)};
  return {AllReduceModel::custom_2stage,
          fmt::format("{} bytes on {} ranks reach the 2-stage threshold ({} KiB; custom_all_reduce.cuh "
                      "CustomAllreduce::allreduce)",
                      bytes, tp, tp <= 4 ? 512 : 256)};
}

std::string allreduce_dispatch_note(AllReduceModel m, int tp, std::size_t bytes) {
  if ((m != AllReduceModel::custom_1stage && m != AllReduceModel::custom_2stage) || tp < 2) return {};
  const CustomAllReduceDispatch d = custom_allreduce_dispatch(tp, bytes);
  if (d.kernel == m) return {};
  return fmt::format("{} at tp {}: the stack would not run this kernel on {} bytes: {}{}; the row shows the {} kernel "
                     "as if it ran",
                     allreduce_model_name(m), tp, bytes, d.reason,
                     d.kernel ? fmt::format(", so it runs {}", allreduce_model_name(*d.kernel)) : "",
                     allreduce_model_name(m));
}

std::string allreduce_buffer_problem(AllReduceModel m, DType wire, std::size_t count, int nranks) {
  const std::size_t bytes = count * wire_bytes(wire);
  if (nranks < 2) return {};
  if (m == AllReduceModel::custom_2stage && bytes % 16 != 0)
    return fmt::format(
        "custom-2stage: {} {} elements ({} bytes) are not whole 16-byte packs: the 2-stage kernel refuses them "
        "(custom_all_reduce.cuh CustomAllreduce::allreduce) and the stack sends them to NCCL (custom_all_reduce.py "
        "should_custom_ar)",
        count, dtype_name(wire), bytes);
  // mscclpp_allreduce.cuh allreduce_1shotLL_1node: nelemsPerRank = (bytes / 4) / worldSize ints, of
  // which it reduces nPktsPerRank = nelemsPerRank / 2 packets of 8 bytes.
  if (m == AllReduceModel::mscclpp && bytes % (8 * static_cast<std::size_t>(nranks)) != 0)
    return fmt::format(
        "mscclpp: {} {} elements ({} bytes) do not split into {} slices of whole 8-byte packets: the 1-node kernel "
        "leaves the rest unreduced (sgl-kernel mscclpp_allreduce.cuh allreduce_1shotLL_1node)",
        count, dtype_name(wire), bytes, nranks);
  return {};
}

void check_nccl_ring_orders(const std::vector<std::vector<int>>& orders, int nranks, int channels) {
  if (orders.size() > 1 && orders.size() != static_cast<std::size_t>(channels))
    throw std::invalid_argument(fmt::format("{} rings for {} channel{} (give one ring for every channel, or one per channel)",
                                            orders.size(), channels, channels == 1 ? "" : "s"));
  for (std::size_t c = 0; c < orders.size(); ++c) {
    const std::vector<int>& ring = orders[c];
    std::vector<bool> seen(static_cast<std::size_t>(std::max(nranks, 0)), false);
    bool permutation = static_cast<int>(ring.size()) == nranks;
    for (int r : ring) {
      if (r < 0 || r >= nranks || seen[static_cast<std::size_t>(r)]) {
        permutation = false;
        break;
      }
      seen[static_cast<std::size_t>(r)] = true;
    }
    if (!permutation)
      throw std::invalid_argument(fmt::format("{}ring {} is not a permutation of 0..{} (tp {})",
                                              orders.size() == 1 ? "the " : fmt::format("channel {}'s ", c),
                                              fmt::join(ring, ","), nranks - 1, nranks));
  }
}

ReductionPlan allreduce_plan(const AllReduceConfig& config, DType wire, std::size_t count, int n) {
  if (wire == DType::fp64) throw std::invalid_argument("reduce_sum: the wire dtype cannot be fp64");
  if (n < 1) throw std::invalid_argument("reduce_sum: no inputs");
  if (config.nccl_channels < 1)
    throw std::invalid_argument(fmt::format("reduce_sum: {} NCCL channels", config.nccl_channels));
  const ModelSpec& s = spec(config.model);
  if (s.order == Order::nccl_ring) {
    try {
      check_nccl_ring_orders(config.nccl_ring_orders, n, config.nccl_channels);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("reduce_sum: nccl-ring: {}", e.what()));
    }
  }
  if (const std::string problem = allreduce_buffer_problem(config.model, wire, count, n); !problem.empty())
    throw std::invalid_argument(problem);
  ReductionPlan plan;
  plan.accumulate = s.accumulate;
  plan.start = s.start;
  plan.ranks = n;
  plan.count = count;
  if (count == 0) return plan;
  std::vector<int> order(static_cast<std::size_t>(n));
  switch (s.order) {
    case Order::rank_order:
      rotated(order, 0);
      plan.add_segment(0, order.data());
      break;
    case Order::chain_down:
      for (int k = 0; k < n; ++k) order[k] = n - 1 - k;
      plan.add_segment(0, order.data());
      break;
    case Order::owner_last:
      // mscclpp_allreduce.cuh allreduce_1shotLL_1node: rank r reduces its slice from a zero
      // (data = 0), adding each peer (index < rank ? index : index + 1) and then its own src; the
      // result is written to every peer.
      for (int r = 0; r < n; ++r) {
        for (int p = 0, k = 0; p < n; ++p)
          if (p != r) order[k++] = p;
        order[n - 1] = r;
        plan.add_segment(r * (count / n), order.data());
      }
      break;
    case Order::ring_chunks:
      for (int c = 0; c < n; ++c) {
        const auto [begin, end] = ring_chunk(count, n, c);
        if (begin == end) continue;
        rotated(order, c);
        plan.add_segment(begin, order.data());
      }
      break;
    case Order::nccl_ring:
      // The chunk finishing at position c travels positions c+1, c+2, ..., c of its channel's ring.
      for (const RingSegment& seg : nccl_ring_segments(count, wire, n, config.nccl_channels)) {
        const std::vector<int> ring = ring_from_rank0(config, seg.channel, n);
        for (int k = 0; k < n; ++k) order[k] = ring[(seg.position + 1 + k) % n];
        plan.add_segment(seg.begin, order.data());
      }
      break;
    case Order::slice_owner: {
      // custom_all_reduce.cuh cross_device_reduce_2stage: the buffer in 16-byte packs, rank r
      // reduces packs [r part, (r+1) part), part = packs / ngpus, the last rank to the end.
      const std::size_t pack = 16 / wire_bytes(wire);
      const std::size_t part = count / pack / static_cast<std::size_t>(n);
      for (int r = 0; r < n; ++r) {
        const std::size_t begin = r * part * pack;
        if (part == 0 && r + 1 < n) continue;  // every pack to the last rank
        rotated(order, r);
        plan.add_segment(begin, order.data());
      }
      break;
    }
  }
  return plan;
}

namespace {

// Carries a plan out on the host, segment by segment and, within one, add by add over all its
// elements (as a ring chunk travels: the observer hears a chunk's roundings hop by hop, as the
// message-passing ring of MpiCommunicator replays them). kernels/cuda/allreduce.cu carries out
// the same plan on the device with the same roundings.
class PlanExecutor {
 public:
  PlanExecutor(DType wire, bool truncating, bool order_documented, std::span<const std::span<const float>> in,
               RoundingObserver* obs)
      : wire_(wire), truncating_(truncating), order_documented_(order_documented), in_(in), obs_(obs) {}

  void run(const ReductionPlan& plan, std::span<float> out) {
    std::vector<double> acc;  // exact holder of the fp32 and wire-dtype accumulators too
    for (std::size_t s = 0; s < plan.segments(); ++s) {
      const std::size_t b = plan.begin[s], e = plan.end(s);
      const int* order = plan.order_of(s);
      acc.resize(e - b);
      start(plan, in_[order[0]], b, acc);
      for (int k = 1; k < plan.ranks; ++k) add(plan.accumulate, in_[order[k]], b, acc);
      finish(plan.accumulate, b, acc, out);
    }
  }

 private:
  void start(const ReductionPlan& plan, std::span<const float> first, std::size_t b, std::vector<double>& acc) const {
    const bool zero = plan.start == ReductionStart::zero;
    for (std::size_t j = 0; j < acc.size(); ++j) {
      const float x = first[b + j];
      switch (plan.accumulate) {
        // A zero start makes the first add 0 + x: exact (it only turns -0 into +0).
        case Accumulate::wire_each_add: acc[j] = zero ? to_wire(0.0f + x) : x; break;
        case Accumulate::fp32_once: acc[j] = zero ? 0.0f + x : x; break;
        // Starting from the first value, not +0, keeps the sign of an all-negative-zero sum.
        case Accumulate::fp64_once: acc[j] = zero ? 0.0 + x : x; break;
      }
    }
  }

  void add(Accumulate a, std::span<const float> next, std::size_t b, std::vector<double>& acc) {
    switch (a) {
      case Accumulate::wire_each_add:
        for (std::size_t j = 0; j < acc.size(); ++j) {
          // fp32 add, then the wire dtype (__hadd2): correctly rounded, see ring_hop.
          acc[j] = to_wire(static_cast<float>(acc[j]) + next[b + j]);
          report(b + j, acc[j], wire_);
        }
        return;
      case Accumulate::fp32_once:
        for (std::size_t j = 0; j < acc.size(); ++j) {
          acc[j] = static_cast<float>(acc[j]) + next[b + j];
          report(b + j, acc[j], DType::fp32);
        }
        return;
      case Accumulate::fp64_once:
        // The fp64 sum of tp values on a <= 24-bit grid is exact unless their exponents spread
        // over more than ~29 binades, so in practice the final rounding is the only one.
        for (std::size_t j = 0; j < acc.size(); ++j) acc[j] += next[b + j];
        return;
    }
  }

  void finish(Accumulate a, std::size_t b, const std::vector<double>& acc, std::span<float> out) {
    for (std::size_t j = 0; j < acc.size(); ++j) {
      switch (a) {
        case Accumulate::wire_each_add: out[b + j] = static_cast<float>(acc[j]); break;
        case Accumulate::fp32_once:
          out[b + j] = to_wire(static_cast<float>(acc[j]));
          if (wire_ != DType::fp32) report(b + j, out[b + j], wire_);
          break;
        case Accumulate::fp64_once:
          out[b + j] = truncating_ ? round_toward_zero(wire_, static_cast<float>(round_to(DType::fp32, acc[j])))
                                   : static_cast<float>(round_to(wire_, acc[j]));
          report(b + j, out[b + j], wire_);
          break;
      }
    }
  }

  // Onto the wire grid: to nearest, or toward zero under the fault.
  float to_wire(float v) const { return truncating_ ? round_toward_zero(wire_, v) : round_to(wire_, v); }

  // Without a documented order, every rounding is reported at the largest magnitude any
  // partial sum of any order can reach: the budget then holds for whatever order ran.
  void report(std::size_t i, double v, DType grid) const {
    if (!obs_) return;
    if (!order_documented_) {
      v = 0;
      for (const auto& r : in_) v += std::fabs(double(r[i]));
    }
    obs_->rounded(i, v, grid);
  }

  DType wire_;
  bool truncating_, order_documented_;
  std::span<const std::span<const float>> in_;
  RoundingObserver* obs_;
};

}  // namespace

void reduce_sum(const AllReduceConfig& config, DType wire, std::span<const std::span<const float>> inputs,
                std::span<float> out, RoundingObserver* observer) {
  if (inputs.empty()) throw std::invalid_argument("reduce_sum: no inputs");
  for (const auto& part : inputs)
    if (part.size() != out.size())
      throw std::invalid_argument("reduce_sum: input and output sizes differ");
  const ReductionPlan plan = allreduce_plan(config, wire, out.size(), static_cast<int>(inputs.size()));
  PlanExecutor(wire, config.truncating, spec(config.model).order_documented, inputs, observer).run(plan, out);
}

}  // namespace ffn
