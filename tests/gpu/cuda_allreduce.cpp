// GPU test: the device-local communicator (harness/launch/device_local_communicator.hpp) against the
// in-process simulated one (harness/tp/simulated_communicator.hpp), which computes the AllReduce
// models of allreduce_model.hpp on the host. Every model (nccl-ring also on several channels with
// rings of its own per channel), wire dtype and group size 1..8 must give the same bits on every
// rank, for buffers that reach NCCL's partial last loop after full loops, chunk and slice counts
// that do not divide the buffer (the 2-stage remainder), and inputs built to expose a wrong order
// or a missing rounding (cancellation, wide exponent spread). AllGather and AllReduce-max are
// exact. The device kernel on wire-dtype storage (the bench's form) must give the same bits as on
// float storage.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "harness/launch/device_local_communicator.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "kernels/cuda/allreduce.hpp"
#include "kernels/cuda/device_tensor.hpp"
#include "kernels/cuda/host_transfer.hpp"
#include "kernels/rounding.hpp"
#include "tests/gpu/gpu_check.hpp"

namespace {

using namespace ffn;
using gpu_test::Checks;
using gpu_test::Draw;

RankTensors partials(int tp, std::int64_t rows, std::int64_t cols, DType wire, Draw& d) {
  RankTensors r;
  for (int rank = 0; rank < tp; ++rank) {
    Matrix<float> m(rows, cols);
    for (std::size_t i = 0; i < m.size(); ++i) {
      // Spread exponents over ~20 binades, and make rank tp-1 nearly cancel rank 0.
      double v = d.normal() * std::ldexp(1.0, d.integer(-10, 10));
      if (rank == tp - 1 && tp > 1 && i % 3 == 0) v = -double(r[0].data()[i]) * (1 + 0x1.0p-6 * d.normal());
      m.data()[i] = static_cast<float>(round_to(wire, v));
    }
    r.push_back(std::move(m));
  }
  return r;
}

bool same_bits(const Matrix<float>& a, const Matrix<float>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class Recorder final : public RoundingObserver {
 public:
  void rounded(std::size_t index, double value, DType grid) override { seen.push_back({index, value, grid}); }
  struct Seen {
    std::size_t index;
    double value;
    DType grid;
    bool operator==(const Seen&) const = default;
  };
  std::vector<Seen> seen;
};

// What runs: every model on one channel, and nccl-ring on 2 channels with a ring per channel.
struct Setup {
  AllReduceConfig config;
  std::string name;
};
std::vector<Setup> setups(int tp) {
  std::vector<Setup> s;
  for (AllReduceModel m : allreduce_models()) s.push_back({AllReduceConfig(m), std::string(allreduce_model_name(m))});
  AllReduceConfig two(AllReduceModel::nccl_ring, 2);
  std::vector<int> reversed;
  for (int r = tp - 1; r >= 0; --r) reversed.push_back(r);
  std::vector<int> evens_first;
  for (int r = 0; r < tp; r += 2) evens_first.push_back(r);
  for (int r = 1; r < tp; r += 2) evens_first.push_back(r);
  two.nccl_ring_orders = {reversed, evens_first};
  s.push_back({two, "nccl-ring, 2 channels, rings reversed and evens first"});
  return s;
}

// Element counts per wire dtype: a few, a 2-stage remainder (packs % tp != 0) and a partial pack,
// whole mscclpp slices, and for nccl-ring one full loop of tp chunks (2 MiB each) and a partial
// loop after it (at a few tp: the buffers are tp MiB per rank); those the model cannot reduce
// (allreduce_buffer_problem: custom-2stage, mscclpp) left out.
constexpr std::size_t k_small = 5000;  // the observer's log and the exact collectives only below
std::vector<std::size_t> counts(const AllReduceConfig& c, DType wire, int tp) {
  const std::size_t elem = wire == DType::fp32 ? 4 : 2, pack = 16 / elem;
  const std::size_t remainder = 3 * pack * static_cast<std::size_t>(tp) + 2 * pack;
  std::vector<std::size_t> n{1, 7, remainder, remainder + 3, 1001, 48 * static_cast<std::size_t>(tp)};
  // The large buffer (tp MiB per rank and chunk): one channel at tp 2, 3, 8; two channels at tp 3;
  // bf16 and fp32 (fp16 has bf16's layout). Within ci/device-check.sh's 60 s per test.
  const bool large = wire != DType::fp16 && c.model == AllReduceModel::nccl_ring &&
                     (c.nccl_channels == 1 ? (tp == 2 || tp == 3 || tp == 8) : tp == 3);
  if (large) n.push_back((std::size_t{2} << 20) / elem * tp + 5 * 1024 + 3);
  std::erase_if(n, [&](std::size_t count) { return !allreduce_buffer_problem(c.model, wire, count, tp).empty(); });
  return n;
}

}  // namespace

int main() {
  gpu_test::require_device();
  Checks c;
  Draw d(11);
  for (DType wire : {DType::fp32, DType::bf16, DType::fp16})
    for (int tp = 1; tp <= 8; ++tp)
      for (const Setup& setup : setups(tp))
        for (std::size_t count : counts(setup.config, wire, tp)) {
          const std::int64_t cols = static_cast<std::int64_t>(count);
          const std::string what = fmt::format("{} {} tp {} [{}]", setup.name, dtype_name(wire), tp, count);
          const RankTensors in = partials(tp, 1, cols, wire, d);
          SimulatedCommunicator host(tp, setup.config);
          DeviceLocalCommunicator device(tp, setup.config);
          RankTensors h = in, g = in;
          Recorder ho, go;
          const bool small = count <= k_small;
          host.all_reduce_sum(h, wire, small ? &ho : nullptr);
          device.all_reduce_sum(g, wire, small ? &go : nullptr);
          for (int r = 0; r < tp; ++r) c.expect(same_bits(h[r], g[r]), what + fmt::format(": rank {} differs from the host model", r));
          c.expect(ho.seen == go.seen, what + ": the observer saw other roundings");

          // The same kernel on wire-dtype storage, as rank 0 receives it.
          if (wire != DType::fp32 && tp > 1) {
            std::vector<cuda::DeviceTensor> typed;
            std::vector<const void*> ptrs;
            for (const auto& t : in) {
              const cuda::DeviceBuffer<float> f = cuda::upload(t.view());
              typed.push_back(cuda::to_storage(f.get(), f.size(), wire, nullptr));
              ptrs.push_back(typed.back().data());
            }
            cuda::DeviceTensor out{wire, count, cuda::DeviceBuffer<unsigned char>(count * 2)};
            const cuda::DevicePlan plan(allreduce_plan(setup.config, wire, count, tp));
            cuda::all_reduce_device(plan, wire, ptrs, out.data(), /*typed=*/true, nullptr);
            cuda::DeviceBuffer<float> back(out.count);
            cuda::to_float(out, back.get(), nullptr);
            c.expect(same_bits(cuda::download(back, 1, cols), h[0]), what + ": typed storage differs");
          }

          if (!small) continue;
          RankTensors hm = in, gm = in;
          host.all_reduce_max(hm);
          device.all_reduce_max(gm);
          c.expect(same_bits(hm[0], gm[0]), what + ": all_reduce_max differs");
          const RankTensors hg = host.all_gather_cols(in), gg = device.all_gather_cols(in);
          c.expect(same_bits(hg[0], gg[0]) && same_bits(hg.back(), gg.back()), what + ": all_gather_cols differs");
        }
  // A group of the wrong size is refused as by the host communicator.
  try {
    DeviceLocalCommunicator device(4, AllReduceModel::ring);
    RankTensors two(2, Matrix<float>(1, 4));
    device.all_reduce_sum(two, DType::bf16, nullptr);
    c.expect(false, "tensors of 2 ranks accepted by a group of 4");
  } catch (const std::invalid_argument& e) {
    c.expect(std::string(e.what()).find("2 ranks") != std::string::npos, e.what());
  }
  // The truncating fault reduces on the host only; a ring order must fit tp.
  try {
    AllReduceConfig truncating(AllReduceModel::ring);
    truncating.truncating = true;
    DeviceLocalCommunicator device(2, truncating);
    c.expect(false, "the truncating fault accepted by the device communicator");
  } catch (const std::invalid_argument& e) {
    c.expect(std::string(e.what()).find("truncating") != std::string::npos, e.what());
  }
  try {
    AllReduceConfig ringed(AllReduceModel::nccl_ring);
    ringed.nccl_ring_orders = {{0, 1}};
    DeviceLocalCommunicator device(3, ringed);
    c.expect(false, "a ring of 2 ranks accepted for tp 3");
  } catch (const std::invalid_argument& e) {
    c.expect(std::string(e.what()).find("not a permutation") != std::string::npos, e.what());
  }
  return c.finish("cuda_allreduce");
}
