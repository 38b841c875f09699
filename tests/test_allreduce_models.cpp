// The AllReduce model of each real implementation (issue 17), tested the way nccl-tests builds
// its checks: every model against a brute-force reference written here from the sources (NCCL's
// ring simulated step by step as its ranks exchange chunks, the others as sequences of
// correctly rounded adds computed in fp64), over random inputs and tp 2..8; hand-built inputs
// whose results are derived by hand and tell every pair of models apart; and buffer sizes that
// reach NCCL's partial last loop and the 2-stage kernel's remainder.
//
// bf16 near 1: spacing 2^-7, so 1 + 2^-8 is a tie between 1 (even) and 1 + 2^-7, and rounds to 1.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness/tp/allreduce_model.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;
using M = AllReduceModel;

namespace {

using Buffers = std::vector<std::vector<float>>;  // [rank][element]

std::vector<float> model(const AllReduceConfig& c, DType wire, const Buffers& in) {
  std::vector<std::span<const float>> spans(in.begin(), in.end());
  std::vector<float> out(in.front().size());
  reduce_sum(c, wire, spans, out, nullptr);
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return false;
  return true;
}

// a + b rounded once onto `grid` (exact in fp64 for values on grids of <= 24 bits).
float add(DType grid, float a, float b) { return static_cast<float>(round_to(grid, double(a) + double(b))); }

// Sums ranks `order` of element i: every add rounded to `each` (fp32 for an fp32 accumulator),
// then one rounding to `wire`; `zero`: the accumulator starts from +0 of its type.
float chain(const Buffers& in, std::size_t i, const std::vector<int>& order, DType each, DType wire, bool zero) {
  float acc = zero ? add(each, 0.0f, in[order[0]][i]) : in[order[0]][i];
  for (std::size_t k = 1; k < order.size(); ++k) acc = add(each, acc, in[order[k]][i]);
  return round_to(wire, acc);
}

std::vector<int> ranks_from(int first, int n) {
  std::vector<int> o;
  for (int k = 0; k < n; ++k) o.push_back((first + k) % n);
  return o;
}

// NCCL runRing on one channel, chunk by chunk as each travels the ring: per loop, rank c + 1
// sends chunk c at step 0 (chunk = ringIx + nranks - 1), each rank it reaches adds its own values
// and rounds (__hadd2), rank c finishes it at step nranks - 1; the all-gather only copies.
// chunk_elems: the full-loop chunk (Simple: 2 MiB of data); the partial last loop recomputes it.
std::vector<float> nccl_ring_simulated(const Buffers& in, DType wire, std::size_t chunk_elems) {
  const int n = static_cast<int>(in.size());
  const std::size_t count = in.front().size(), align = 16 / (wire == DType::fp32 ? 4 : 2);
  std::vector<float> out(count);
  std::size_t chunk = chunk_elems;
  for (std::size_t off = 0; off < count; off += n * chunk) {
    const std::size_t rem = count - off;
    if (rem < n * chunk) chunk = (rem + n - 1) / n, chunk = (chunk + align - 1) / align * align;
    const auto range = [&](int c) {
      const std::size_t b = std::min(rem, c * chunk), e = std::min(rem, b + chunk);
      return std::pair{off + b, off + e};
    };
    // in_flight[c]: the running sum of chunk c as it travels; sent first by rank c + 1.
    for (int c = 0; c < n; ++c) {
      const auto [b, e] = range(c);
      for (std::size_t i = b; i < e; ++i) {
        float acc = in[(c + 1) % n][i];
        for (int step = 1; step < n; ++step) acc = add(wire, acc, in[(c + 1 + step) % n][i]);
        out[i] = acc;
      }
    }
  }
  return out;
}

// The brute-force prediction of every model, from the sources cited in allreduce_model.cpp.
std::vector<float> reference(M m, DType wire, const Buffers& in) {
  const int n = static_cast<int>(in.size());
  const std::size_t count = in.front().size();
  std::vector<float> out(count);
  std::vector<int> rank_order = ranks_from(0, n), down;
  for (int r = n - 1; r >= 0; --r) down.push_back(r);
  // mscclpp: the owner of slice r (count / n elements) adds the other ranks in order, then its own.
  const auto others_then = [n](int owner) {
    std::vector<int> o;
    for (int r = 0; r < n; ++r)
      if (r != owner) o.push_back(r);
    o.push_back(owner);
    return o;
  };
  const std::size_t pack = 16 / (wire == DType::fp32 ? 4 : 2);
  for (std::size_t i = 0; i < count; ++i) {
    switch (m) {
      case M::ring: {  // tp equal chunks, the first count % n one longer; chunk c from rank c
        std::size_t c = 0, begin = 0;
        while (begin + count / n + (c < count % n) <= i) begin += count / n + (c < count % n), ++c;
        out[i] = chain(in, i, ranks_from(static_cast<int>(c), n), wire, wire, false);
        break;
      }
      case M::nccl_ring: break;  // below, simulated
      case M::nccl_tree: out[i] = chain(in, i, down, wire, wire, false); break;
      case M::nccl_nvls: out[i] = chain(in, i, rank_order, DType::fp32, wire, false); break;
      case M::nccl_nvls_bf16: out[i] = chain(in, i, rank_order, wire, wire, false); break;
      case M::custom_1stage: out[i] = chain(in, i, rank_order, DType::fp32, wire, true); break;
      case M::custom_2stage: {
        const std::size_t part = count / pack / n;
        const int owner = part == 0 ? n - 1 : static_cast<int>(std::min<std::size_t>(i / pack / part, n - 1));
        out[i] = chain(in, i, ranks_from(owner, n), DType::fp32, wire, false);
        break;
      }
      case M::symm_mem: out[i] = chain(in, i, rank_order, wire, wire, false); break;
      case M::mscclpp: out[i] = chain(in, i, others_then(static_cast<int>(i / (count / n))), wire, wire, true); break;
      case M::trtllm: out[i] = chain(in, i, rank_order, wire, wire, true); break;
      case M::trtllm_fp32acc: out[i] = chain(in, i, rank_order, DType::fp32, wire, true); break;
      case M::exact: {
        double s = in[0][i];
        for (int r = 1; r < n; ++r) s += in[r][i];
        out[i] = static_cast<float>(round_to(wire, s));
        break;
      }
    }
  }
  if (m == M::nccl_ring) return nccl_ring_simulated(in, wire, (std::size_t{2} << 20) / (wire == DType::fp32 ? 4 : 2));
  return out;
}

Buffers random_buffers(int tp, std::size_t count, DType wire, std::mt19937_64& gen) {
  std::normal_distribution<double> nd;
  std::uniform_int_distribution<int> scale(-6, 6);
  Buffers in(static_cast<std::size_t>(tp), std::vector<float>(count));
  for (auto& b : in)
    for (float& v : b) v = static_cast<float>(round_to(wire, nd(gen) * std::ldexp(1.0, scale(gen))));
  return in;
}

// One element pattern (rank r holds pattern[r]) at every element.
Buffers repeat(const std::vector<float>& pattern, std::size_t count) {
  Buffers in;
  for (float v : pattern) in.emplace_back(count, v);
  return in;
}

}  // namespace

TEST_CASE("every model equals its brute-force reference, random inputs, tp 2..8", "[allreduce]") {
  std::mt19937_64 gen(17);
  for (DType wire : {DType::bf16, DType::fp16, DType::fp32})
    for (int tp = 2; tp <= 8; ++tp)
      for (std::size_t count : {std::size_t{1}, std::size_t{37}, std::size_t(8 * 3 * tp + 5), std::size_t{1000},
                                std::size_t(48 * tp)}) {  // the last: whole mscclpp slices at every tp
        const Buffers in = random_buffers(tp, count, wire, gen);
        for (M m : allreduce_models()) {
          INFO(allreduce_model_name(m) << " " << dtype_name(wire) << " tp " << tp << " count " << count);
          // A buffer the implementation cannot reduce (custom-2stage, mscclpp) is refused.
          if (const std::string problem = allreduce_buffer_problem(m, wire, count, tp); !problem.empty())
            CHECK_THROWS_WITH(model(m, wire, in), problem);
          else
            CHECK(same_bits(model(m, wire, in), reference(m, wire, in)));
        }
      }
}

TEST_CASE("nccl-ring: full loops and NCCL's partial last loop, one channel", "[allreduce]") {
  // Simple protocol: a full loop is nranks chunks of 2 MiB; these sizes run one full loop and a
  // partial one whose chunk is alignUp(divUp(rem, nranks), 8) bf16 elements (the last chunks short
  // or empty).
  std::mt19937_64 gen(5);
  const std::size_t chunk = (std::size_t{2} << 20) / 2;
  for (int tp : {2, 3}) {
    const std::size_t count = tp * chunk + 8 * tp + 3;
    const Buffers in = random_buffers(tp, count, DType::bf16, gen);
    INFO("tp " << tp);
    CHECK(same_bits(model(M::nccl_ring, DType::bf16, in), reference(M::nccl_ring, DType::bf16, in)));
    const auto seg = nccl_ring_segments(count, DType::bf16, tp, 1);
    // The partial loop: rem = 8 tp + 3, chunkCount = alignUp(divUp(rem, tp), 8) = 16: two chunks
    // hold elements ([0, 16) and the rest), the others are empty.
    REQUIRE(seg.size() == static_cast<std::size_t>(tp + 2));
    CHECK(seg[0].end - seg[0].begin == chunk);  // a full loop's chunk
    CHECK(seg[tp].end - seg[tp].begin == 16);
    CHECK(seg[tp + 1].end == count);
  }
}

TEST_CASE("nccl-ring: chunk positions of a partial loop by hand", "[allreduce]") {
  // 20 bf16 elements on 3 ranks: chunkCount = alignUp(divUp(20, 3), 8) = 8: chunks [0, 8) at
  // position 0, [8, 16) at 1, [16, 20) at 2. Chunk c is accumulated from position c + 1.
  const auto seg = nccl_ring_segments(20, DType::bf16, 3, 1);
  REQUIRE(seg.size() == 3u);
  CHECK((seg[0].begin == 0 && seg[0].end == 8 && seg[0].position == 0));
  CHECK((seg[1].begin == 8 && seg[1].end == 16 && seg[1].position == 1));
  CHECK((seg[2].begin == 16 && seg[2].end == 20 && seg[2].position == 2));
  // 9 elements on 4 ranks: chunkCount 8: only positions 0 and 1 hold elements.
  const auto short_seg = nccl_ring_segments(9, DType::bf16, 4, 1);
  REQUIRE(short_seg.size() == 2u);
  CHECK((short_seg[1].begin == 8 && short_seg[1].end == 9 && short_seg[1].position == 1));
  // Ranks hold {1, 2^-8, 2^-8} at every element. Position 0's chunk is summed 1, 2, 0:
  // 2^-8 + 2^-8 = 2^-7, + 1 = 1 + 2^-7. Position 1's: 2, 0, 1: 2^-8 + 1 = 1 (tie to even), + 2^-8 = 1.
  // Position 2's: 0, 1, 2: 1 + 2^-8 = 1, + 2^-8 = 1.
  const auto out = model(M::nccl_ring, DType::bf16, repeat({1.0f, 0x1.0p-8f, 0x1.0p-8f}, 20));
  CHECK(out[0] == 1.0f + 0x1.0p-7f);
  CHECK(out[8] == 1.0f);
  CHECK(out[16] == 1.0f);
}

TEST_CASE("nccl-ring: channels split the buffer into 16 KiB cells, as scheduleCollTasksToPlan does", "[allreduce]") {
  // 262144 bf16 (512 KiB, LTX-2's 64 x 4096 output) on 4 channels: traffic 1 MiB, 256 KiB per
  // channel = 8 cells of 16 KiB (8192 elements) each: 4 parts of 65536 elements.
  const auto seg = nccl_ring_segments(262144, DType::bf16, 2, 4);
  std::set<std::size_t> starts;
  for (const auto& s : seg) starts.insert(s.begin);
  for (std::size_t c = 0; c < 4; ++c) CHECK(starts.count(c * 65536) == 1);
  // Every element is covered once, in order.
  std::size_t at = 0;
  for (const auto& s : seg) {
    CHECK(s.begin == at);
    at = s.end;
  }
  CHECK(at == 262144u);
  // A message below channels * 32 KiB runs on fewer channels (getAlgoInfo's channel tuning).
  CHECK(nccl_effective_channels(1024, 8) == 1);
  CHECK(nccl_effective_channels(512 << 10, 8) == 8);
  CHECK(nccl_effective_channels(100 << 10, 8) == 3);
  // The channel count changes the rounding: the same inputs reduce differently on 1 and 4
  // channels (the chunk positions move).
  std::mt19937_64 gen(3);
  const Buffers in = random_buffers(4, 262144, DType::bf16, gen);
  CHECK_FALSE(same_bits(model({M::nccl_ring, 1}, DType::bf16, in), model({M::nccl_ring, 4}, DType::bf16, in)));
}

TEST_CASE("custom-2stage: slices of 16-byte packs, the last rank takes the remainder", "[allreduce]") {
  // 3 ranks, 10 packs of 8 bf16: part = 3 packs; rank 0 owns elements [0, 24), rank 1 [24, 48),
  // rank 2 (the last, with the remainder) [48, 80). An fp32 sum that depends on its start:
  // {1, 2^-24, -1} from rank 0: (1 + 2^-24) = 1 (tie to even in fp32), - 1 = 0;
  // from rank 1: 2^-24 - 1 = -(1 - 2^-24), exact; + 1 = 2^-24;
  // from rank 2: -1 + 1 = 0, + 2^-24 = 2^-24.
  const auto out = model(M::custom_2stage, DType::bf16, repeat({1.0f, 0x1.0p-24f, -1.0f}, 80));
  for (std::size_t i = 0; i < 24; ++i) CHECK(out[i] == 0.0f);
  for (std::size_t i = 24; i < 80; ++i) CHECK(out[i] == 0x1.0p-24f);
  CHECK(same_bits(out, reference(M::custom_2stage, DType::bf16, repeat({1.0f, 0x1.0p-24f, -1.0f}, 80))));
}

TEST_CASE("hand-built inputs tell every pair of models apart", "[allreduce]") {
  // Each candidate: inputs and (for some) the bits every model must give, derived by hand. 48
  // elements, 3 or 4 ranks; a pattern repeated at every element so that every ring chunk, 2-stage
  // slice and mscclpp slice sees it.
  struct Candidate {
    std::string what;
    Buffers in;
  };
  const float t = 0x1.0p-8f;  // half a bf16 ulp of 1
  std::vector<Candidate> candidates = {
      // Ties: who adds the two halves first decides 1 or 1 + 2^-7.
      {"{1, h, h}", repeat({1.0f, t, t}, 48)},
      {"{h, 1, h}", repeat({t, 1.0f, t}, 48)},
      {"{h, h, 1}", repeat({t, t, 1.0f}, 48)},
      {"{h, 1, h, 0}", repeat({t, 1.0f, t, 0.0f}, 48)},
      {"{0, h, 1, h}", repeat({0.0f, t, 1.0f, t}, 48)},
      // All -0: models that start from +0 return +0.
      {"{-0, -0, -0}", repeat({-0.0f, -0.0f, -0.0f}, 48)},
      // Double rounding: 1 + 2^-8 is the bf16 tie and 1 + 2^-8 + 2^-40 lies above it. fp64 keeps
      // 2^-40 and rounds up to 1 + 2^-7; fp32 drops it (below half an fp32 ulp) and the tie goes
      // to even: 1.
      {"{1, h, 2^-40}", repeat({1.0f, t, 0x1.0p-40f}, 48)},
      // fp32 order: {1, 2^-24, -1} from rank 0 gives 0, from rank 1 or 2 gives 2^-24.
      {"{1, 2^-24, -1}", repeat({1.0f, 0x1.0p-24f, -1.0f}, 48)},
  };
  // Derived by hand: {1, h, h} in rank order rounds each add: 1 + h = 1, + h = 1 (bf16 adders);
  // in fp32, 1 + 2h = 1 + 2^-7 exactly, one rounding: 1 + 2^-7.
  CHECK(model(M::symm_mem, DType::bf16, candidates[0].in)[0] == 1.0f);
  CHECK(model(M::custom_1stage, DType::bf16, candidates[0].in)[0] == 1.0f + 0x1.0p-7f);
  CHECK(model(M::nccl_tree, DType::bf16, candidates[0].in)[0] == 1.0f + 0x1.0p-7f);  // h + h first
  CHECK(model(M::exact, DType::bf16, candidates[6].in)[0] == 1.0f + 0x1.0p-7f);
  CHECK(model(M::nccl_nvls, DType::bf16, candidates[6].in)[0] == 1.0f);
  CHECK(std::bit_cast<std::uint32_t>(model(M::trtllm, DType::bf16, candidates[5].in)[0]) == 0u);
  CHECK(std::bit_cast<std::uint32_t>(model(M::symm_mem, DType::bf16, candidates[5].in)[0]) == 0x8000'0000u);
  // {h, 1, h}: mscclpp's slices of 16. Owner 1 adds rank 0's h, rank 2's h (2^-7), then its own 1:
  // 1 + 2^-7; owners 0 and 2 meet 1 second: h + 1 = 1 (tie), + h = 1. Symmetric memory goes
  // h + 1 = 1, + h = 1 everywhere.
  const std::vector<float> mscclpp = model(M::mscclpp, DType::bf16, candidates[1].in);
  CHECK((mscclpp[0] == 1.0f && mscclpp[16] == 1.0f + 0x1.0p-7f && mscclpp[32] == 1.0f));
  CHECK(model(M::symm_mem, DType::bf16, candidates[1].in)[16] == 1.0f);

  // Every model agrees with the reference on every candidate (the hand values above included).
  std::map<M, std::vector<std::vector<float>>> predicted;
  for (M m : allreduce_models())
    for (const Candidate& c : candidates) {
      INFO(allreduce_model_name(m) << " on " << c.what);
      const auto p = model(m, DType::bf16, c.in);
      CHECK(same_bits(p, reference(m, DType::bf16, c.in)));
      predicted[m].push_back(p);
    }
  // Pairs whose implementations round identically (same accumulator, start and order): no
  // input can tell them apart, and the table says so.
  const std::set<std::pair<M, M>> identical = {{M::nccl_nvls_bf16, M::symm_mem},
                                               {M::custom_1stage, M::trtllm_fp32acc}};
  const auto& all = allreduce_models();
  for (std::size_t a = 0; a < all.size(); ++a)
    for (std::size_t b = a + 1; b < all.size(); ++b) {
      bool differ = false;
      for (std::size_t k = 0; k < candidates.size(); ++k) differ |= !same_bits(predicted[all[a]][k], predicted[all[b]][k]);
      INFO(allreduce_model_name(all[a]) << " vs " << allreduce_model_name(all[b]));
      CHECK(differ != (identical.count({all[a], all[b]}) == 1));
    }
}

TEST_CASE("allreduce models: sources, aliases, flags", "[allreduce]") {
  for (M m : allreduce_models()) {
    INFO(allreduce_model_name(m));
    CHECK_FALSE(allreduce_model_source(m).empty());
    CHECK(parse_allreduce_model(allreduce_model_name(m)) == m);
  }
  CHECK(parse_allreduce_model("oneshot") == M::custom_1stage);
  CHECK_FALSE(allreduce_order_documented(M::nccl_nvls));
  CHECK_FALSE(allreduce_order_documented(M::nccl_nvls_bf16));
  std::vector<float> out(2);
  const std::vector<float> a(2, 1.0f);
  const std::vector<std::span<const float>> in{a, a};
  CHECK_THROWS_WITH(reduce_sum(M::mscclpp, DType::bf16, in, out),
                    "mscclpp: 2 bf16 elements (4 bytes) do not split into 2 slices of whole 8-byte packets: the 1-node "
                    "kernel leaves the rest unreduced (sgl-kernel mscclpp_allreduce.cuh allreduce_1shotLL_1node)");
  CHECK_THROWS_AS(reduce_sum({M::nccl_ring, 0}, DType::bf16, in, out), std::invalid_argument);
  CHECK_THROWS_AS(nccl_ring_segments(8, DType::bf16, 0, 1), std::invalid_argument);
}

TEST_CASE("undocumented orders are budgeted for any order", "[allreduce]") {
  // nccl-nvls-bf16 reports each of its tp - 1 roundings at sum |x|, the largest partial sum any
  // order can reach: here 1 + 1 + 0.5 = 2.5, where rank order's partial sums are 0 and 0.5.
  struct Log final : RoundingObserver {
    std::vector<double> values;
    void rounded(std::size_t, double v, DType) override { values.push_back(v); }
  } log;
  const std::vector<float> x0{1.0f}, x1{-1.0f}, x2{0.5f};
  const std::vector<std::span<const float>> in{x0, x1, x2};
  std::vector<float> out(1);
  reduce_sum(M::nccl_nvls_bf16, DType::bf16, in, out, &log);
  CHECK(out[0] == 0.5f);
  CHECK(log.values == std::vector<double>{2.5, 2.5});
}

TEST_CASE("truncating reductions (fault injection) round toward zero", "[allreduce]") {
  // 1 + 3 * 2^-8 lies between the bf16 neighbours 1 + 2^-7 and 1 + 2^-6, above their midpoint:
  // to nearest 1 + 2^-6, truncated 1 + 2^-7.
  const std::vector<float> a{1.0f}, b{0x1.8p-7f};
  const std::vector<std::span<const float>> in{a, b};
  std::vector<float> out(1);
  AllReduceConfig c(M::custom_1stage);
  reduce_sum(c, DType::bf16, in, out);
  CHECK(out[0] == 1.0f + 0x1.0p-6f);
  c.truncating = true;
  reduce_sum(c, DType::bf16, in, out);
  CHECK(out[0] == 1.0f + 0x1.0p-7f);
}

TEST_CASE("allreduce_plan: segments cover the buffer in order, each visits every rank once", "[allreduce]") {
  // The plan is what the device kernel executes (kernels/cuda/allreduce.cu): checked here, where
  // no device is needed.
  for (DType wire : {DType::bf16, DType::fp32})
    for (int tp = 1; tp <= 8; ++tp)
      for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{37}, std::size_t{1000},
                                std::size_t(tp) * (std::size_t{2} << 20) / 2 + 4099})
        for (M m : allreduce_models())
          for (int channels : {1, 3}) {
            INFO(allreduce_model_name(m) << " " << dtype_name(wire) << " tp " << tp << " count " << count << " ch "
                                         << channels);
            if (!allreduce_buffer_problem(m, wire, count, tp).empty()) {
              CHECK_THROWS(allreduce_plan({m, channels}, wire, count, tp));
              continue;
            }
            const ReductionPlan plan = allreduce_plan({m, channels}, wire, count, tp);
            CHECK(plan.ranks == tp);
            CHECK(plan.count == count);
            REQUIRE(plan.order.size() == plan.segments() * static_cast<std::size_t>(tp));
            if (count == 0) {
              CHECK(plan.segments() == 0u);
              continue;
            }
            REQUIRE(plan.segments() >= 1);
            CHECK(plan.begin[0] == 0u);
            bool increasing = true, permutations = true, merged = true;
            for (std::size_t s = 0; s < plan.segments(); ++s) {
              increasing = increasing && plan.begin[s] < plan.end(s);
              std::set<int> ranks(plan.order_of(s), plan.order_of(s) + tp);
              permutations = permutations && ranks.size() == static_cast<std::size_t>(tp) && *ranks.begin() == 0 &&
                             *ranks.rbegin() == tp - 1;
              if (s > 0) merged = merged && !std::equal(plan.order_of(s), plan.order_of(s) + tp, plan.order_of(s - 1));
            }
            CHECK(increasing);
            CHECK(permutations);
            CHECK(merged);  // neighbours that visit alike are one segment
          }
}

TEST_CASE("allreduce_plan: the layouts, by hand", "[allreduce]") {
  using V = std::vector<int>;
  const auto orders = [](const ReductionPlan& p) {
    std::vector<std::pair<std::size_t, V>> o;
    for (std::size_t s = 0; s < p.segments(); ++s) o.push_back({p.begin[s], V(p.order_of(s), p.order_of(s) + p.ranks)});
    return o;
  };
  using O = std::vector<std::pair<std::size_t, V>>;
  // ring: 10 elements in chunks 3, 3, 2, 2; chunk c from rank c.
  CHECK(orders(allreduce_plan(M::ring, DType::bf16, 10, 4)) ==
        O{{0, {0, 1, 2, 3}}, {3, {1, 2, 3, 0}}, {6, {2, 3, 0, 1}}, {8, {3, 0, 1, 2}}});
  // nccl-ring, 20 bf16 on 3 ranks: chunks of 8 at positions 0, 1, 2, each from the next position.
  CHECK(orders(allreduce_plan(M::nccl_ring, DType::bf16, 20, 3)) == O{{0, {1, 2, 0}}, {8, {2, 0, 1}}, {16, {0, 1, 2}}});
  // nccl-tree: the chain from rank n-1; mscclpp, 24 bf16 on 3 ranks: slices of 8, each reduced by
  // its owner from the others in rank order, its own value last.
  CHECK(orders(allreduce_plan(M::nccl_tree, DType::bf16, 20, 3)) == O{{0, {2, 1, 0}}});
  CHECK(orders(allreduce_plan(M::mscclpp, DType::bf16, 24, 3)) == O{{0, {1, 2, 0}}, {8, {0, 2, 1}}, {16, {0, 1, 2}}});
  CHECK(allreduce_plan(M::mscclpp, DType::bf16, 24, 3).start == ReductionStart::zero);
  // custom-2stage: 80 bf16 = 10 packs on 3 ranks: slices of 3 packs from their owners.
  CHECK(orders(allreduce_plan(M::custom_2stage, DType::bf16, 80, 3)) == O{{0, {0, 1, 2}}, {24, {1, 2, 0}}, {48, {2, 0, 1}}});
  // How each accumulates.
  CHECK(allreduce_plan(M::custom_1stage, DType::bf16, 8, 2).accumulate == ReductionAccumulate::fp32_once);
  CHECK(allreduce_plan(M::custom_1stage, DType::bf16, 8, 2).start == ReductionStart::zero);
  CHECK(allreduce_plan(M::trtllm, DType::bf16, 8, 2).accumulate == ReductionAccumulate::wire_each_add);
  CHECK(allreduce_plan(M::exact, DType::bf16, 8, 2).accumulate == ReductionAccumulate::fp64_once);
  CHECK_THROWS_WITH(allreduce_plan(M::ring, DType::fp64, 8, 2), "reduce_sum: the wire dtype cannot be fp64");
}

TEST_CASE("nccl-ring: a ring order per channel moves the chunks' starts", "[allreduce]") {
  // Ranks hold {1, h, -h} (h = 2^-8, half a bf16 ulp of 1), 20 bf16 on 3 ranks, chunks of 8 at
  // positions 0, 1, 2 (see "chunk positions of a partial loop by hand"). The chunk finishing at
  // position 1 travels positions 2, 0, 1. Ring 0,1,2: ranks 2, 0, 1: (1 - h) exact, + h = 1.
  // Ring 0,2,1: ranks 1, 0, 2: 1 + h = 1 (tie to even), - h = 1 - h.
  const float h = 0x1.0p-8f;
  const Buffers in = repeat({1.0f, h, -h}, 20);
  AllReduceConfig given(M::nccl_ring);
  CHECK(model(given, DType::bf16, in)[8] == 1.0f);
  given.nccl_ring_orders = {{0, 2, 1}};
  const std::vector<float> other = model(given, DType::bf16, in);
  CHECK(other[8] == 1.0f - h);
  // A ring is a cycle: positions count from rank 0 (src/init.cc setupChannel), whichever rank the
  // list starts with.
  for (const std::vector<int>& same_cycle : {std::vector<int>{1, 0, 2}, std::vector<int>{2, 1, 0}}) {
    given.nccl_ring_orders = {same_cycle};
    CHECK(same_bits(model(given, DType::bf16, in), other));
  }
  given.nccl_ring_orders = {{0, 1, 2}};
  CHECK(model(given, DType::bf16, in)[8] == 1.0f);

  // Two channels (65536 bf16 = 128 KiB: both used), a ring for each: channel 0's elements as on
  // ring 0,1,2 everywhere, channel 1's as on ring 0,2,1 everywhere.
  const Buffers big = repeat({1.0f, h, -h}, 65536);
  AllReduceConfig both(M::nccl_ring, 2), plain(M::nccl_ring, 2), swapped(M::nccl_ring, 2);
  both.nccl_ring_orders = {{0, 1, 2}, {0, 2, 1}};
  swapped.nccl_ring_orders = {{0, 2, 1}};
  const std::vector<float> mixed = model(both, DType::bf16, big), a = model(plain, DType::bf16, big),
                           b = model(swapped, DType::bf16, big);
  std::size_t differ = 0;
  for (const RingSegment& seg : nccl_ring_segments(65536, DType::bf16, 3, 2))
    for (std::size_t i = seg.begin; i < seg.end; ++i) {
      const bool as_expected = std::bit_cast<std::uint32_t>(mixed[i]) ==
                               std::bit_cast<std::uint32_t>(seg.channel == 0 ? a[i] : b[i]);
      if (!as_expected) ++differ;
    }
  CHECK(differ == 0u);
  CHECK_FALSE(same_bits(a, b));
}

TEST_CASE("nccl-ring: ring orders that do not fit are refused in one line", "[allreduce]") {
  CHECK_NOTHROW(check_nccl_ring_orders({}, 4, 2));
  CHECK_NOTHROW(check_nccl_ring_orders({{3, 1, 0, 2}}, 4, 2));
  CHECK_NOTHROW(check_nccl_ring_orders({{3, 1, 0, 2}, {0, 1, 2, 3}}, 4, 2));
  CHECK_THROWS_WITH(check_nccl_ring_orders({{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}}, 4, 2),
                    "3 rings for 2 channels (give one ring for every channel, or one per channel)");
  CHECK_THROWS_WITH(check_nccl_ring_orders({{0, 1, 2}}, 4, 1), "the ring 0,1,2 is not a permutation of 0..3 (tp 4)");
  CHECK_THROWS_WITH(check_nccl_ring_orders({{0, 1, 1, 3}}, 4, 1), "the ring 0,1,1,3 is not a permutation of 0..3 (tp 4)");
  CHECK_THROWS_WITH(check_nccl_ring_orders({{0, 1, 2, 3}, {0, 1, 2, 4}}, 4, 2),
                    "channel 1's ring 0,1,2,4 is not a permutation of 0..3 (tp 4)");
  AllReduceConfig bad(M::nccl_ring);
  bad.nccl_ring_orders = {{0, 1}};
  const Buffers in = repeat({1.0f, 2.0f, 3.0f}, 4);
  CHECK_THROWS_WITH(model(bad, DType::bf16, in), "reduce_sum: nccl-ring: the ring 0,1 is not a permutation of 0..2 (tp 3)");
  // Other models ignore the option.
  bad.model = M::ring;
  CHECK_NOTHROW(model(bad, DType::bf16, in));
}

TEST_CASE("custom all-reduce: what the serving stack dispatches, as custom_all_reduce.py and .cuh do", "[allreduce]") {
  using D = CustomAllReduceDispatch;
  const auto kernel = [](int tp, std::size_t bytes) { return custom_allreduce_dispatch(tp, bytes).kernel; };
  // 2 ranks: always the 1-stage kernel, below 8 MiB.
  CHECK(kernel(2, 16) == M::custom_1stage);
  CHECK(kernel(2, (8 << 20) - 16) == M::custom_1stage);
  // Up to 4 ranks: 1-stage below 512 KiB; up to 8: below 256 KiB; 2-stage from there.
  CHECK(kernel(4, (512 << 10) - 16) == M::custom_1stage);
  CHECK(kernel(4, 512 << 10) == M::custom_2stage);  // LTX-2, 64 tokens x 4096 bf16 at tp 4
  CHECK(kernel(6, (256 << 10) - 16) == M::custom_1stage);
  CHECK(kernel(8, 256 << 10) == M::custom_2stage);
  // NCCL: 8 MiB and more, a partial 16-byte pack, a world size it does not support.
  const D big = custom_allreduce_dispatch(8, 8 << 20), odd = custom_allreduce_dispatch(4, 1000 + 2),
          three = custom_allreduce_dispatch(3, 4096);
  CHECK_FALSE(big.kernel);
  CHECK_THAT(big.reason, Catch::Contains("8 MiB") && Catch::Contains("should_custom_ar"));
  CHECK_FALSE(odd.kernel);
  CHECK_THAT(odd.reason, Catch::Contains("16-byte packs"));
  CHECK_FALSE(three.kernel);
  CHECK_THAT(three.reason, Catch::Contains("2, 4, 6 or 8 ranks"));
  // The note a run prints: only where the stack would run something else than the model's kernel.
  CHECK(allreduce_dispatch_note(M::custom_2stage, 4, 512 << 10).empty());
  CHECK(allreduce_dispatch_note(M::custom_1stage, 4, 1024).empty());
  CHECK(allreduce_dispatch_note(M::custom_1stage, 1, 3).empty());  // tp 1 reduces nothing
  CHECK(allreduce_dispatch_note(M::nccl_ring, 3, 3).empty());      // not the custom all-reduce
  CHECK(allreduce_dispatch_note(M::custom_2stage, 2, 1024) ==
        "custom-2stage at tp 2: the stack would not run this kernel on 1024 bytes: 2 ranks always run the 1-stage "
        "kernel (custom_all_reduce.cuh CustomAllreduce::allreduce), so it runs custom-1stage; the row shows the "
        "custom-2stage kernel as if it ran");
  CHECK_THAT(allreduce_dispatch_note(M::custom_1stage, 8, 8 << 20), Catch::Contains("the stack calls NCCL;"));
}

TEST_CASE("buffers an implementation cannot reduce are refused: custom-2stage partial packs, mscclpp partial slices", "[allreduce]") {
  CHECK(allreduce_buffer_problem(M::custom_2stage, DType::bf16, 8, 2).empty());
  CHECK(allreduce_buffer_problem(M::custom_2stage, DType::fp32, 4, 3).empty());
  CHECK_THROWS_WITH(model(M::custom_2stage, DType::fp32, repeat({1.0f, 2.0f}, 6)),
                    "custom-2stage: 6 fp32 elements (24 bytes) are not whole 16-byte packs: the 2-stage kernel "
                    "refuses them (custom_all_reduce.cuh CustomAllreduce::allreduce) and the stack sends them to NCCL "
                    "(custom_all_reduce.py should_custom_ar)");
  CHECK_THROWS_WITH(model(M::custom_2stage, DType::bf16, repeat({1.0f, 2.0f}, 12)), Catch::Contains("12 bf16 elements"));
  CHECK(allreduce_buffer_problem(M::custom_2stage, DType::bf16, 12, 2) ==
        "custom-2stage: 12 bf16 elements (24 bytes) are not whole 16-byte packs: the 2-stage kernel refuses them "
        "(custom_all_reduce.cuh CustomAllreduce::allreduce) and the stack sends them to NCCL (custom_all_reduce.py "
        "should_custom_ar)");
  // mscclpp: tp slices of whole 8-byte packets; other models reduce any buffer.
  CHECK(allreduce_buffer_problem(M::mscclpp, DType::bf16, 32, 8).empty());
  CHECK_FALSE(allreduce_buffer_problem(M::mscclpp, DType::bf16, 24, 8).empty());
  CHECK(allreduce_buffer_problem(M::nccl_ring, DType::bf16, 3, 8).empty());
  // One rank reduces nothing: no kernel runs, nothing to refuse.
  CHECK_NOTHROW(model(M::custom_2stage, DType::bf16, repeat({1.0f}, 3)));
}
