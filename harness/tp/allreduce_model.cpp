#include "harness/tp/allreduce_model.hpp"

#include <fmt/format.h>

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
  own_first,    // the receiving rank, then the others in rank order
};
// Where the accumulator starts: the first visited value, or a zero of the accumulator's type.
enum class Start { first_value, zero };
// What the accumulator is and where it rounds.
enum class Accumulate {
  wire_each_add,  // every add rounded to the wire dtype (__hadd2 on bf16/fp16)
  fp32_once,      // fp32 adds, one rounding to the wire dtype at the end
  fp64_once,      // fp64 adds, one rounding
};

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
       "root directRecvReduceCopy); src/graph/connect.cc (intra-node tree = chain)",
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
       "the remainder) in fp32 from its own value, ranks r, r+1, ..., one rounding",
       "sgl-kernel/csrc/allreduce/custom_all_reduce.cuh cross_device_reduce_2stage (ptrs[i] = ptrs[(rank + i) % "
       "ngpus], part = size / ngpus, the last rank takes the remainder) / packed_reduce",
       O::slice_owner, S::first_value, A::fp32_once},
      {AllReduceModel::symm_mem, "symm-mem",
       "PyTorch symmetric memory one-shot/two-shot: bf16 add (__hadd2) after each add, ranks 0..n-1",
       "torch/csrc/distributed/c10d/symm_mem/CUDASymmetricMemoryOps.cu one_shot_all_reduce_kernel / "
       "load_and_reduce (add_vec)",
       O::rank_order, S::first_value, A::wire_each_add},
      {AllReduceModel::mscclpp, "mscclpp",
       "mscclpp as the serving stack calls it: bf16 adds, the receiving rank's own value first, then the peers "
       "in rank order (ranks may differ in bits)",
       "sgl-kernel/csrc/allreduce/mscclpp_allreduce.cuh allreduce kernels (own data, then add of each peer's)",
       O::own_first, S::first_value, A::wire_each_add},
      {AllReduceModel::trtllm, "trtllm",
       "TensorRT-LLM custom all-reduce: bf16 adds (add128b) from a zero over ranks 0..n-1",
       "TensorRT-LLM cpp/tensorrt_llm/kernels/customAllReduceKernels.cu oneShotAllReduceKernel / "
       "twoShotAllReduceKernel (\"always reduce from rank 0\")",
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
bool allreduce_same_on_every_rank(AllReduceModel m) { return spec(m).order != Order::own_first; }
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
  for (const auto& [offset, part] : parts) {
    std::size_t chunk = full_chunk;
    for (std::size_t done = 0; done < part; done += n * chunk) {
      const std::size_t rem = part - done;
      if (rem < n * chunk) chunk = align_up(div_up(rem, n), 16 / elem);
      for (std::size_t c = 0; c < n; ++c) {
        const std::size_t b = c * chunk;
        if (b >= rem) break;
        segments.push_back({offset + done + b, offset + done + std::min(b + chunk, rem), static_cast<int>(c)});
      }
    }
  }
  return segments;
}

namespace {

// Visits the ranks of one element in the model's order.
class Reducer {
 public:
  Reducer(const ModelSpec& s, DType wire, bool truncating, std::span<const std::span<const float>> in,
          RoundingObserver* obs)
      : s_(s), wire_(wire), truncating_(truncating), in_(in), obs_(obs) {}

  // Element i, ranks visited in `order` (a permutation of 0..n-1).
  float element(std::size_t i, std::span<const int> order) {
    // Without a documented order, every rounding is reported at the largest magnitude any
    // partial sum of any order can reach: the budget then holds for whatever order ran.
    double any_order = 0;
    if (!s_.order_documented)
      for (const auto& r : in_) any_order += std::fabs(double(r[i]));
    const auto report = [&](std::size_t index, double v, DType grid) {
      if (obs_) obs_->rounded(index, s_.order_documented ? v : any_order, grid);
    };
    switch (s_.accumulate) {
      case Accumulate::wire_each_add: {
        // A zero start makes the first add 0 + x: exact (it only turns -0 into +0).
        float acc = s_.start == Start::zero ? to_wire(0.0f + in_[order[0]][i]) : in_[order[0]][i];
        for (std::size_t k = 1; k < order.size(); ++k) {
          acc = to_wire(acc + in_[order[k]][i]);  // correctly rounded: see ring_hop
          report(i, acc, wire_);
        }
        return acc;
      }
      case Accumulate::fp32_once: {
        float acc = s_.start == Start::zero ? 0.0f + in_[order[0]][i] : in_[order[0]][i];
        for (std::size_t k = 1; k < order.size(); ++k) {
          acc += in_[order[k]][i];
          report(i, acc, DType::fp32);
        }
        const float out = to_wire(acc);
        if (wire_ != DType::fp32) report(i, out, wire_);
        return out;
      }
      case Accumulate::fp64_once: {
        // The fp64 sum of tp values on a <= 24-bit grid is exact unless their exponents spread
        // over more than ~29 binades, so in practice the rounding below is the only one.
        // Starting from the first value, not +0, keeps the sign of an all-negative-zero sum.
        double acc = in_[order[0]][i];
        for (std::size_t k = 1; k < order.size(); ++k) acc += in_[order[k]][i];
        const float out = static_cast<float>(to_wire(acc));
        report(i, out, wire_);
        return out;
      }
    }
    return 0;
  }

 private:
  const ModelSpec& s_;
  // Onto the wire grid: to nearest, or toward zero under the fault.
  float to_wire(float v) const { return truncating_ ? round_toward_zero(wire_, v) : round_to(wire_, v); }
  double to_wire(double v) const {
    return truncating_ ? round_toward_zero(wire_, static_cast<float>(round_to(DType::fp32, v))) : round_to(wire_, v);
  }

  DType wire_;
  bool truncating_;
  std::span<const std::span<const float>> in_;
  RoundingObserver* obs_;
};

// The ranks starting at `first` and wrapping: first, first+1, ..., first-1.
void rotated(std::vector<int>& order, int first) {
  const int n = static_cast<int>(order.size());
  for (int k = 0; k < n; ++k) order[k] = (first + k) % n;
}

// The generic ring, chunk by chunk (the observer hears each chunk's hops in hop order, as the
// message-passing ring of MpiCommunicator replays them).
void reduce_ring_chunks(DType wire, bool truncating, std::span<const std::span<const float>> in,
                        std::span<float> out, RoundingObserver* obs) {
  const int tp = static_cast<int>(in.size());
  for (int c = 0; c < tp; ++c) {
    const auto [begin, end] = ring_chunk(out.size(), tp, c);
    const std::span<float> acc = out.subspan(begin, end - begin);
    std::copy(in[c].begin() + begin, in[c].begin() + end, acc.begin());
    for (int hop = 1; hop < tp; ++hop) {
      ring_hop(wire, acc, in[(c + hop) % tp].subspan(begin, end - begin), truncating);
      if (obs)
        for (std::size_t i = 0; i < acc.size(); ++i) obs->rounded(begin + i, acc[i], wire);
    }
  }
}

}  // namespace

void reduce_sum(const AllReduceConfig& config, DType wire, std::span<const std::span<const float>> inputs,
                std::span<float> out, RoundingObserver* observer, int holder) {
  if (wire == DType::fp64) throw std::invalid_argument("reduce_sum: the wire dtype cannot be fp64");
  if (inputs.empty()) throw std::invalid_argument("reduce_sum: no inputs");
  for (const auto& part : inputs)
    if (part.size() != out.size())
      throw std::invalid_argument("reduce_sum: input and output sizes differ");
  const int n = static_cast<int>(inputs.size());
  if (holder < 0 || holder >= n)
    throw std::invalid_argument(fmt::format("reduce_sum: rank {} is not in a group of {}", holder, n));
  if (config.nccl_channels < 1)
    throw std::invalid_argument(fmt::format("reduce_sum: {} NCCL channels", config.nccl_channels));
  const ModelSpec& s = spec(config.model);
  if (s.order == Order::ring_chunks) return reduce_ring_chunks(wire, config.truncating, inputs, out, observer);

  Reducer reducer(s, wire, config.truncating, inputs, observer);
  std::vector<int> order(static_cast<std::size_t>(n));
  const auto run = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) out[i] = reducer.element(i, order);
  };
  switch (s.order) {
    case Order::rank_order: rotated(order, 0); return run(0, out.size());
    case Order::chain_down:
      for (int k = 0; k < n; ++k) order[k] = n - 1 - k;
      return run(0, out.size());
    case Order::own_first:
      order[0] = holder;
      for (int r = 0, k = 1; r < n; ++r)
        if (r != holder) order[k++] = r;
      return run(0, out.size());
    case Order::nccl_ring:
      for (const RingSegment& seg : nccl_ring_segments(out.size(), wire, n, config.nccl_channels)) {
        rotated(order, (seg.position + 1) % n);
        run(seg.begin, seg.end);
      }
      return;
    case Order::slice_owner: {
      // custom_all_reduce.cuh cross_device_reduce_2stage: the buffer in 16-byte packs, rank r
      // reduces packs [r part, (r+1) part), part = packs / ngpus, the last rank to the end. (The
      // stack sends a buffer that is not a whole number of packs to NCCL instead; here the last
      // rank also takes the partial pack, so that any buffer has a prediction.)
      const std::size_t pack = 16 / wire_bytes(wire);
      const std::size_t packs = out.size() / pack, part = packs / static_cast<std::size_t>(n);
      for (int r = 0; r < n; ++r) {
        rotated(order, r);
        run(r * part * pack, r == n - 1 ? out.size() : (r + 1) * part * pack);
      }
      return;
    }
    case Order::ring_chunks: break;
  }
}

}  // namespace ffn
