// AllReduce models (DESIGN section 2) against hand-built inputs whose exact results are
// derived by hand below, like nccl-tests' known-answer checks; random inputs against a
// reference built from correctly rounded pairwise adds computed in fp64.
//
// bf16 near 1: grid spacing 2^-7, so 1 + 2^-8 is a tie between 1 (even) and 1 + 2^-7 (odd)
// and rounds to 1. fp16 near 1: spacing 2^-10.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "harness/tp/allreduce_model.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;
using Catch::Matchers::Contains;

namespace {

const std::vector<AllReduceModel>& kModels = allreduce_models();

// inputs[r] is rank r's buffer.
std::vector<float> reduce(AllReduceModel m, DType wire, const std::vector<std::vector<float>>& in,
                          RoundingObserver* obs = nullptr) {
  std::vector<std::span<const float>> spans(in.begin(), in.end());
  std::vector<float> out(in.front().size());
  reduce_sum(m, wire, spans, out, obs);
  return out;
}

// The same element pattern (rank r holds pattern[r]) at every one of n elements.
std::vector<std::vector<float>> repeat(const std::vector<float>& pattern, std::size_t n) {
  std::vector<std::vector<float>> in;
  for (float v : pattern) in.emplace_back(n, v);
  return in;
}

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

struct Rounding {
  std::size_t index;
  double value;
  DType grid;
};

class RecordingObserver final : public RoundingObserver {
 public:
  void rounded(std::size_t index, double value, DType grid) override {
    log.push_back({index, value, grid});
  }
  std::vector<Rounding> for_index(std::size_t i) const {
    std::vector<Rounding> r;
    for (const auto& e : log)
      if (e.index == i) r.push_back(e);
    return r;
  }
  std::vector<Rounding> log;
};

// a + b rounded once onto the wire grid: computed exactly in fp64 (two values on a grid of
// at most 24 bits whose sum fits in 53 bits) and rounded by round_to from fp64.
float hop(DType wire, float a, float b) {
  return static_cast<float>(round_to(wire, double(a) + double(b)));
}

}  // namespace

TEST_CASE("ring_chunk: contiguous chunks, the first n % parts one longer", "[allreduce]") {
  using P = std::pair<std::size_t, std::size_t>;
  CHECK(ring_chunk(12, 4, 0) == P{0, 3});
  CHECK(ring_chunk(12, 4, 3) == P{9, 12});
  // 10 = 3 + 3 + 2 + 2
  CHECK(ring_chunk(10, 4, 0) == P{0, 3});
  CHECK(ring_chunk(10, 4, 1) == P{3, 6});
  CHECK(ring_chunk(10, 4, 2) == P{6, 8});
  CHECK(ring_chunk(10, 4, 3) == P{8, 10});
  // Fewer elements than chunks: trailing chunks are empty.
  CHECK(ring_chunk(2, 4, 0) == P{0, 1});
  CHECK(ring_chunk(2, 4, 1) == P{1, 2});
  CHECK(ring_chunk(2, 4, 2) == P{2, 2});
  CHECK(ring_chunk(2, 4, 3) == P{2, 2});
  CHECK(ring_chunk(0, 8, 5) == P{0, 0});
  CHECK(ring_chunk(7, 1, 0) == P{0, 7});
  // Tiling: for many (n, parts), the chunks cover [0, n) in order without gaps, sizes
  // differ by at most one and never increase.
  for (std::size_t n = 0; n < 40; ++n)
    for (int parts = 1; parts <= 8; ++parts) {
      std::size_t next = 0, prev_size = n + 1;
      for (int c = 0; c < parts; ++c) {
        const auto [b, e] = ring_chunk(n, parts, c);
        INFO("n " << n << " parts " << parts << " c " << c);
        CHECK(b == next);
        CHECK(e >= b);
        CHECK(e - b <= prev_size);
        CHECK(e - b >= n / parts);
        CHECK(e - b <= n / parts + 1);
        prev_size = e - b;
        next = e;
      }
      CHECK(next == n);
    }
}

TEST_CASE("bf16 known answers: ring vs oneshot vs exact, tp 3", "[allreduce]") {
  // Rank inputs 1, 2^-8, 2^-8 at every element; n = 3, so element c is chunk c and is
  // started by rank c.
  //   oneshot: fp32 1 + 2^-8 + 2^-8 = 1 + 2^-7 exactly, on the bf16 grid    -> 1 + 2^-7
  //   exact:   same sum in fp64                                             -> 1 + 2^-7
  //   ring from rank 0: fl(fl(1 + 2^-8) + 2^-8) = fl(1 + 2^-8) = 1 (ties to even)
  //   ring from rank 1: fl(fl(2^-8 + 2^-8) + 1) = fl(2^-7 + 1) = 1 + 2^-7
  //   ring from rank 2: fl(fl(2^-8 + 1) + 2^-8) = fl(1 + 2^-8) = 1
  const auto in = repeat({1.0f, 0x1.0p-8f, 0x1.0p-8f}, 3);
  const float up = 1.0f + 0x1.0p-7f;
  CHECK(reduce(AllReduceModel::custom_1stage, DType::bf16, in) == std::vector<float>{up, up, up});
  CHECK(reduce(AllReduceModel::exact, DType::bf16, in) == std::vector<float>{up, up, up});
  CHECK(reduce(AllReduceModel::ring, DType::bf16, in) == std::vector<float>{1.0f, up, 1.0f});

  // Uneven chunks, n = 7 = 3 + 2 + 2: elements 0-2 started by rank 0, 3-4 by rank 1, 5-6 by
  // rank 2.
  const auto in7 = repeat({1.0f, 0x1.0p-8f, 0x1.0p-8f}, 7);
  CHECK(reduce(AllReduceModel::ring, DType::bf16, in7) ==
        std::vector<float>{1.0f, 1.0f, 1.0f, up, up, 1.0f, 1.0f});
}

TEST_CASE("bf16 known answers: oneshot accumulates in fp32, exact in fp64", "[allreduce]") {
  // Rank inputs 1, 2^-8, 2^-30 (tp 3). Exact sum 1 + 2^-8 + 2^-30: just above the bf16
  // midpoint 1 + 2^-8.
  //   exact:   fl_bf16(1 + 2^-8 + 2^-30) = 1 + 2^-7
  //   oneshot: fp32 1 + 2^-8 = exact; + 2^-30 needs 31 bits -> fp32 rounds to 1 + 2^-8 (the
  //            2^-30 is below half an fp32 ulp, 2^-24); then bf16 tie -> 1
  //   ring, every start: from 0: fl(1+2^-8) = 1, fl(1 + 2^-30) = 1;
  //            from 1: fl(2^-8 + 2^-30) = 2^-8, fl(2^-8 + 1) = 1;
  //            from 2: fl(2^-30 + 1) = 1, fl(1 + 2^-8) = 1
  const auto in = repeat({1.0f, 0x1.0p-8f, 0x1.0p-30f}, 3);
  CHECK(reduce(AllReduceModel::exact, DType::bf16, in) == std::vector<float>(3, 1.0f + 0x1.0p-7f));
  CHECK(reduce(AllReduceModel::custom_1stage, DType::bf16, in) == std::vector<float>(3, 1.0f));
  CHECK(reduce(AllReduceModel::ring, DType::bf16, in) == std::vector<float>(3, 1.0f));
}

TEST_CASE("fp16 known answers, including overflow on the wire", "[allreduce]") {
  // Rank inputs 1, 2^-11, 2^-11: as the bf16 case with fp16's spacing 2^-10 at 1.
  const float up = 1.0f + 0x1.0p-10f;
  const auto in = repeat({1.0f, 0x1.0p-11f, 0x1.0p-11f}, 3);
  CHECK(reduce(AllReduceModel::custom_1stage, DType::fp16, in) == std::vector<float>(3, up));
  CHECK(reduce(AllReduceModel::exact, DType::fp16, in) == std::vector<float>(3, up));
  CHECK(reduce(AllReduceModel::ring, DType::fp16, in) == std::vector<float>{1.0f, up, 1.0f});

  // Rank inputs 65504 (fp16 max, odd significand), 16, -16; spacing 32 in [32768, 65536).
  //   oneshot/exact: 65504 + 16 - 16 = 65504 in fp32/fp64            -> 65504
  //   ring from 0: fl(65504 + 16) = 65520 is the tie between 65504 and 2^16 (the overflow
  //                boundary): ties to even -> 2^16 -> +inf; inf - 16 = inf
  //   ring from 1: fl(16 - 16) = 0; fl(0 + 65504) = 65504
  //   ring from 2: fl(-16 + 65504) = 65488, tie between 65472 (even) and 65504 -> 65472;
  //                fl(65472 + 16) = 65488 -> 65472 again
  const float inf = std::numeric_limits<float>::infinity();
  const auto big = repeat({65504.0f, 16.0f, -16.0f}, 3);
  CHECK(reduce(AllReduceModel::custom_1stage, DType::fp16, big) == std::vector<float>(3, 65504.0f));
  CHECK(reduce(AllReduceModel::exact, DType::fp16, big) == std::vector<float>(3, 65504.0f));
  CHECK(reduce(AllReduceModel::ring, DType::fp16, big) == std::vector<float>{inf, 65504.0f, 65472.0f});

  // fp16 subnormals lie on a fixed grid (spacing 2^-24), so sums of them are exact: 2^-24,
  // 3 * 2^-24, -2^-23 -> 2^-23 for every model and starting rank (24 elements: whole 16-byte
  // packs for custom-2stage and 3 slices of 8-byte packets for mscclpp).
  const auto sub = repeat({0x1.0p-24f, 3 * 0x1.0p-24f, -0x1.0p-23f}, 24);
  for (AllReduceModel m : kModels)
    CHECK(reduce(m, DType::fp16, sub) == std::vector<float>(24, 0x1.0p-23f));
}

TEST_CASE("fp32 wire: oneshot sums in rank order, exact rounds once", "[allreduce]") {
  // Rank inputs 1, 2^-24, 2^-24 (fp32 spacing 2^-23 at 1; 1 + 2^-24 is a tie -> 1).
  //   oneshot (rank order): fl(fl(1 + 2^-24) + 2^-24) = 1
  //   exact: fl(1 + 2^-23) = 1 + 2^-23
  //   ring from 1: fl(2^-24 + 2^-24) = 2^-23, + 1 -> 1 + 2^-23; from 0 and 2: 1
  const float up = 1.0f + 0x1.0p-23f;
  const auto in = repeat({1.0f, 0x1.0p-24f, 0x1.0p-24f}, 3);
  CHECK(reduce(AllReduceModel::custom_1stage, DType::fp32, in) == std::vector<float>(3, 1.0f));
  CHECK(reduce(AllReduceModel::exact, DType::fp32, in) == std::vector<float>(3, up));
  CHECK(reduce(AllReduceModel::ring, DType::fp32, in) == std::vector<float>{1.0f, up, 1.0f});
  // Rank order matters to oneshot: 2^-24, 2^-24, 1 -> fl(2^-23 + 1) = 1 + 2^-23.
  const auto rev = repeat({0x1.0p-24f, 0x1.0p-24f, 1.0f}, 3);
  CHECK(reduce(AllReduceModel::custom_1stage, DType::fp32, rev) == std::vector<float>(3, up));
}

TEST_CASE("ring: chunk c is started by rank c, tp - 1 roundings with the rounded values",
          "[allreduce]") {
  // Rank r holds 2^r at every element: every partial sum is exact, and the first hop
  // 2^c + 2^(c+1 mod tp) names the starting rank c.
  for (int tp : {2, 3, 4, 8}) {
    for (std::size_t n : {std::size_t(1), std::size_t(5), std::size_t(13), std::size_t(16)}) {
      std::vector<std::vector<float>> in;
      for (int r = 0; r < tp; ++r) in.emplace_back(n, std::ldexp(1.0f, r));
      RecordingObserver obs;
      const auto out = reduce(AllReduceModel::ring, DType::bf16, in, &obs);
      CHECK(obs.log.size() == n * static_cast<std::size_t>(tp - 1));
      for (int c = 0; c < tp; ++c) {
        const auto [b, e] = ring_chunk(n, tp, c);
        for (std::size_t i = b; i < e; ++i) {
          INFO("tp " << tp << " n " << n << " element " << i << " chunk " << c);
          CHECK(out[i] == std::ldexp(1.0f, tp) - 1);
          const auto seen = obs.for_index(i);
          REQUIRE(seen.size() == static_cast<std::size_t>(tp - 1));
          double running = std::ldexp(1.0, c);
          for (int h = 1; h < tp; ++h) {
            running += std::ldexp(1.0, (c + h) % tp);
            CHECK(seen[h - 1].value == running);
            CHECK(seen[h - 1].grid == DType::bf16);
          }
        }
      }
    }
  }
  // The observer sees the rounded values, not the exact sums: the tp-3 known-answer case.
  RecordingObserver obs;
  reduce(AllReduceModel::ring, DType::bf16, repeat({1.0f, 0x1.0p-8f, 0x1.0p-8f}, 3), &obs);
  const auto v0 = obs.for_index(0), v1 = obs.for_index(1), v2 = obs.for_index(2);
  REQUIRE(v0.size() == 2);
  REQUIRE(v1.size() == 2);
  REQUIRE(v2.size() == 2);
  CHECK(v0[0].value == 1.0);  // fl(1 + 2^-8), not 1 + 2^-8
  CHECK(v0[1].value == 1.0);
  CHECK(v1[0].value == 0x1.0p-7);
  CHECK(v1[1].value == 1.0 + 0x1.0p-7);
  CHECK(v2[0].value == 1.0);
  CHECK(v2[1].value == 1.0);
}

TEST_CASE("observer counts of oneshot and exact", "[allreduce]") {
  // Documented by allreduce_model.cpp: oneshot reports its tp - 1 fp32 adds and, on a
  // narrower wire, the final rounding; exact reports its one rounding.
  // Ranks 1, 2^-8, 2^-9, 0.5: fp32 running sums 1 + 2^-8, 1 + 3 * 2^-9, 1.5 + 3 * 2^-9 (all
  // exact); bf16 (spacing 2^-7 in [1, 2)): 3 * 2^-9 = 0.75 * 2^-7 -> 1.5 + 2^-7.
  const auto in = repeat({1.0f, 0x1.0p-8f, 0x1.0p-9f, 0.5f}, 6);
  RecordingObserver one, ex;
  reduce(AllReduceModel::custom_1stage, DType::bf16, in, &one);
  reduce(AllReduceModel::exact, DType::bf16, in, &ex);
  CHECK(one.log.size() == 6 * 4);
  CHECK(ex.log.size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    const auto o = one.for_index(i);
    REQUIRE(o.size() == 4);
    for (int h = 0; h < 3; ++h) CHECK(o[h].grid == DType::fp32);
    CHECK(o[0].value == 1.0 + 0x1.0p-8);
    CHECK(o[1].value == 1.0 + 3 * 0x1.0p-9);
    CHECK(o[2].value == 1.5 + 3 * 0x1.0p-9);  // the fp32 sum before the final rounding
    CHECK(o[3].grid == DType::bf16);
    CHECK(o[3].value == 1.5 + 0x1.0p-7);
    CHECK(ex.for_index(i).at(0).value == 1.5 + 0x1.0p-7);
    CHECK(ex.for_index(i).at(0).grid == DType::bf16);
  }
}

TEST_CASE("random inputs: every model against an independent reference", "[allreduce]") {
  std::mt19937_64 gen(42);
  std::normal_distribution<double> nd;
  for (DType wire : {DType::bf16, DType::fp16, DType::fp32}) {
    for (int tp : {2, 3, 4, 8}) {
      const std::size_t n = 1001;
      std::vector<std::vector<float>> in(static_cast<std::size_t>(tp), std::vector<float>(n));
      for (auto& part : in)
        for (float& v : part) v = static_cast<float>(round_to(wire, nd(gen)));
      const auto ring = reduce(AllReduceModel::ring, wire, in);
      const auto one = reduce(AllReduceModel::custom_1stage, wire, in);
      const auto ex = reduce(AllReduceModel::exact, wire, in);
      std::size_t ring_vs_exact = 0;
      for (std::size_t i = 0; i < n; ++i) {
        // exact: the fp64 sum of tp values of magnitude < 2^3 on a grid no finer than 2^-40
        // (these draws) is exact; one correctly rounded result.
        double s = 0;
        for (int r = 0; r < tp; ++r) s += in[r][i];
        const float want_exact = static_cast<float>(round_to(wire, s));
        // oneshot: correctly rounded fp32 adds in rank order, then one rounding.
        float acc = in[0][i];
        for (int r = 1; r < tp; ++r) acc = hop(DType::fp32, acc, in[r][i]);
        const float want_one = static_cast<float>(round_to(wire, double(acc)));
        // ring: the chunk's starting rank, then correctly rounded wire-dtype adds.
        int c = 0;
        while (ring_chunk(n, tp, c).second <= i) ++c;
        float hopsum = in[c][i];
        for (int h = 1; h < tp; ++h) hopsum = hop(wire, hopsum, in[(c + h) % tp][i]);
        INFO(dtype_name(wire) << " tp " << tp << " element " << i);
        CHECK(same_bits(ex[i], want_exact));
        CHECK(same_bits(one[i], want_one));
        CHECK(same_bits(ring[i], hopsum));
        if (!same_bits(ring[i], ex[i])) ++ring_vs_exact;
      }
      // The hop roundings are visible at this size (except with the fp32 wire at tp 2,
      // where one fp32 add is already correctly rounded).
      if (wire != DType::fp32 && tp >= 3) CHECK(ring_vs_exact > 0);
      if (tp == 2) CHECK(ring_vs_exact == 0);  // one add, one rounding: all models agree
    }
  }
}

TEST_CASE("tp 1 is the identity", "[allreduce]") {
  // Values on the bf16, fp16 and fp32 grids (61440 = 15 * 2^12).
  const std::vector<float> x{1.0f, -0x1.0p-8f, 3.0f, 0.0f, 0x1.0p-14f, 61440.0f};
  for (AllReduceModel m : kModels)
    for (DType wire : {DType::bf16, DType::fp16, DType::fp32}) {
      const auto out = reduce(m, wire, {x});
      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO(allreduce_model_name(m) << " " << dtype_name(wire) << " x = " << x[i] << " out = " << out[i]);
        CHECK(same_bits(out[i], x[i]));
      }
    }
  RecordingObserver ring_obs;
  reduce(AllReduceModel::ring, DType::bf16, {x}, &ring_obs);
  CHECK(ring_obs.log.empty());
  // Through the communicator: unchanged and no rounding reported, for every model.
  for (AllReduceModel m : kModels) {
    SimulatedCommunicator comm(1, m);
    Matrix<float> t(2, 3);
    for (std::size_t i = 0; i < 6; ++i) t.data()[i] = x[i];
    RankTensors local{t};
    RecordingObserver obs;
    comm.all_reduce_sum(local, DType::bf16, &obs);
    REQUIRE(local.size() == 1);
    CHECK(local[0] == t);
    CHECK(obs.log.empty());
  }
}

TEST_CASE("every model keeps the sign of zero", "[allreduce]") {
  // IEEE 754 (6.3): a sum of zeros that are all -0 is -0, exactly computed or not. NCCL's
  // __hadd2 ring, the 2-stage custom all-reduce and symmetric memory (which start from the first
  // value) return -0; the exact model must too, since it is "the best any implementation can
  // do", and round_to keeps the sign of zero. The models that start from a zero (the 1-stage
  // custom all-reduce, TensorRT-LLM, mscclpp's data = 0) compute 0 + (-0) = +0 first. One +0
  // anywhere gives +0.
  const auto starts_from_zero = [](AllReduceModel m) {
    return m == AllReduceModel::custom_1stage || m == AllReduceModel::trtllm || m == AllReduceModel::trtllm_fp32acc ||
           m == AllReduceModel::mscclpp;
  };
  for (AllReduceModel m : kModels)
    for (DType wire : {DType::bf16, DType::fp16, DType::fp32})
      for (int tp : {1, 2, 3}) {
        INFO(allreduce_model_name(m) << " " << dtype_name(wire) << " tp " << tp);
        std::vector<std::vector<float>> neg(static_cast<std::size_t>(tp), std::vector<float>(24, -0.0f));
        const auto out = reduce(m, wire, neg);
        for (float v : out) CHECK(same_bits(v, starts_from_zero(m) ? 0.0f : -0.0f));
        if (tp > 1) {
          neg[1] = std::vector<float>(24, 0.0f);
          for (float v : reduce(m, wire, neg)) CHECK(same_bits(v, 0.0f));
        }
      }
}

TEST_CASE("SimulatedCommunicator: every rank gets the model's result (the same bits on every rank)",
          "[allreduce]") {
  std::mt19937_64 gen(9);
  std::normal_distribution<double> nd;
  for (AllReduceModel m : kModels)
    for (int tp : {2, 4, 8}) {
      SimulatedCommunicator comm(tp, m);
      CHECK(comm.size() == tp);
      CHECK(comm.local_ranks().size() == static_cast<std::size_t>(tp));
      for (int r = 0; r < tp; ++r) CHECK(comm.local_ranks()[r] == r);
      RankTensors local;
      std::vector<std::vector<float>> flat;
      for (int r = 0; r < tp; ++r) {
        Matrix<float> t(8, 8);  // whole 16-byte packs (custom-2stage), tp slices of 8-byte packets (mscclpp)
        for (float& v : t.values()) v = static_cast<float>(round_to(DType::bf16, nd(gen)));
        local.push_back(t);
        flat.emplace_back(t.values().begin(), t.values().end());
      }
      RecordingObserver obs;
      comm.all_reduce_sum(local, DType::bf16, &obs);
      for (int r = 0; r < tp; ++r) {
        INFO(allreduce_model_name(m) << " tp " << tp << " rank " << r);
        std::vector<std::span<const float>> spans(flat.begin(), flat.end());
        std::vector<float> want(flat.front().size());
        reduce_sum(m, DType::bf16, spans, want, nullptr);
        CHECK(local[r] == local[0]);
        for (std::size_t i = 0; i < want.size(); ++i) CHECK(same_bits(local[r].data()[i], want[i]));
      }
      if (m == AllReduceModel::ring) CHECK(obs.log.size() == 64u * (tp - 1));
    }
}

TEST_CASE("AllReduce errors", "[allreduce]") {
  const std::vector<float> a(4, 1.0f), b(5, 1.0f);
  std::vector<float> out(4);
  const std::vector<std::span<const float>> mismatched{a, b};
  for (AllReduceModel m : kModels) {
    CHECK_THROWS_AS(reduce_sum(m, DType::bf16, mismatched, out), std::invalid_argument);
    CHECK_THROWS_AS(reduce_sum(m, DType::bf16, std::span<const std::span<const float>>{}, out),
                    std::invalid_argument);
    const std::vector<std::span<const float>> ok{a, a};
    CHECK_THROWS_AS(reduce_sum(m, DType::fp64, ok, out), std::invalid_argument);
    std::vector<float> short_out(3);
    CHECK_THROWS_AS(reduce_sum(m, DType::bf16, ok, short_out), std::invalid_argument);

    SimulatedCommunicator comm(4, m);
    RankTensors three(3, Matrix<float>(2, 2, 1.0f));
    CHECK_THROWS_WITH(comm.all_reduce_sum(three, DType::bf16, nullptr), Contains("3") && Contains("4"));
    RankTensors five(5, Matrix<float>(2, 2, 1.0f));
    CHECK_THROWS_AS(comm.all_reduce_sum(five, DType::bf16, nullptr), std::invalid_argument);
    RankTensors cols{Matrix<float>(2, 2), Matrix<float>(2, 2), Matrix<float>(2, 3), Matrix<float>(2, 2)};
    CHECK_THROWS_AS(comm.all_reduce_sum(cols, DType::bf16, nullptr), std::invalid_argument);
    RankTensors rows{Matrix<float>(2, 2), Matrix<float>(3, 2), Matrix<float>(2, 2), Matrix<float>(2, 2)};
    CHECK_THROWS_AS(comm.all_reduce_sum(rows, DType::bf16, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(comm.all_gather_cols(three), std::invalid_argument);
    CHECK_THROWS_AS(comm.all_gather_cols(rows), std::invalid_argument);
  }
  CHECK_THROWS_AS(SimulatedCommunicator(0, AllReduceModel::ring), std::invalid_argument);
}

TEST_CASE("AllGather: rank order, exact copies, every rank the same", "[allreduce]") {
  for (int tp : {1, 2, 3, 8}) {
    SimulatedCommunicator comm(tp, AllReduceModel::ring);
    RankTensors local;
    // Rank r: 3 rows, r + 1 columns (widths may differ), values that are not on any
    // narrow grid, including NaN payloads and signed zeros: the gather does no arithmetic.
    for (int r = 0; r < tp; ++r) {
      Matrix<float> t(3, r + 1);
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j <= r; ++j)
          t(i, j) = std::bit_cast<float>(0x3f800001u + static_cast<std::uint32_t>(1000 * r + 10 * i + j));
      if (r == tp - 1) {
        t(0, 0) = std::bit_cast<float>(0x7fc12345u);  // NaN with a payload
        t(1, 0) = -0.0f;
      }
      local.push_back(t);
    }
    const RankTensors full = comm.all_gather_cols(local);
    REQUIRE(full.size() == static_cast<std::size_t>(tp));
    const std::int64_t cols = tp * (tp + 1) / 2;
    for (int q = 0; q < tp; ++q) {
      REQUIRE(full[q].rows() == 3);
      REQUIRE(full[q].cols() == cols);
      std::int64_t c0 = 0;
      for (int r = 0; r < tp; ++r) {
        for (std::int64_t i = 0; i < 3; ++i)
          for (std::int64_t j = 0; j <= r; ++j) {
            INFO("receiver " << q << " sender " << r << " (" << i << ", " << j << ")");
            CHECK(std::bit_cast<std::uint32_t>(full[q](i, c0 + j)) ==
                  std::bit_cast<std::uint32_t>(local[r](i, j)));
          }
        c0 += r + 1;
      }
    }
  }
}

TEST_CASE("allreduce model names round-trip", "[allreduce]") {
  for (AllReduceModel m : kModels) CHECK(parse_allreduce_model(allreduce_model_name(m)) == m);
  CHECK(allreduce_model_name(AllReduceModel::ring) == "ring");
  CHECK(allreduce_model_name(AllReduceModel::custom_1stage) == "custom-1stage");
  CHECK(parse_allreduce_model("oneshot") == AllReduceModel::custom_1stage);  // the alias stays
  CHECK(allreduce_model_name(AllReduceModel::exact) == "exact");
  CHECK_FALSE(parse_allreduce_model("nccl").has_value());
}
