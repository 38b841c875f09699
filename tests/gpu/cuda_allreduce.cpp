// GPU test: the device-local communicator (harness/launch/device_local_communicator.hpp) against the
// in-process simulated one (harness/tp/simulated_communicator.hpp), which computes the AllReduce
// models of allreduce_model.hpp on the host. Every model, wire dtype and group size must give
// the same bits, for chunk counts that do not divide the buffer and for inputs built to
// expose a wrong order or a missing rounding (cancellation, wide exponent spread). AllGather
// and AllReduce-max are exact. The device kernels on wire-dtype storage (the bench's form)
// must give the same bits as on float storage.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "harness/launch/device_local_communicator.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "kernels/bf16.hpp"
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

}  // namespace

int main() {
  gpu_test::require_device();
  Checks c;
  Draw d(11);
  for (AllReduceModel model : {AllReduceModel::ring, AllReduceModel::custom_1stage, AllReduceModel::exact})
    for (DType wire : {DType::fp32, DType::bf16, DType::fp16})
      for (int tp : {1, 2, 3, 4, 8})
        for (std::int64_t cols : {std::int64_t{1}, std::int64_t{7}, std::int64_t{1001}}) {
          const std::string what = fmt::format("{} {} tp {} [3x{}]", allreduce_model_name(model), dtype_name(wire), tp, cols);
          const RankTensors in = partials(tp, 3, cols, wire, d);
          SimulatedCommunicator host(tp, model);
          DeviceLocalCommunicator device(tp, model);
          RankTensors h = in, g = in;
          Recorder ho, go;
          host.all_reduce_sum(h, wire, &ho);
          device.all_reduce_sum(g, wire, &go);
          bool all_same = true;
          for (int r = 0; r < tp; ++r) all_same = all_same && same_bits(h[r], g[r]);
          c.expect(all_same, what + ": all_reduce_sum differs from the host model");
          c.expect(ho.seen == go.seen, what + ": the observer saw other roundings");

          // The same kernel on wire-dtype storage.
          if (wire != DType::fp32 && tp > 1) {
            std::vector<cuda::DeviceTensor> typed;
            std::vector<const void*> ptrs;
            for (const auto& t : in) {
              const cuda::DeviceBuffer<float> f = cuda::upload(t.view());
              typed.push_back(cuda::to_storage(f.get(), f.size(), wire, nullptr));
              ptrs.push_back(typed.back().data());
            }
            cuda::DeviceTensor out{wire, in[0].size(), cuda::DeviceBuffer<unsigned char>(in[0].size() * 2)};
            const cuda::DeviceReduction m = model == AllReduceModel::ring      ? cuda::DeviceReduction::ring
                                            : model == AllReduceModel::custom_1stage ? cuda::DeviceReduction::oneshot
                                                                               : cuda::DeviceReduction::exact;
            cuda::all_reduce_device(m, wire, ptrs, out.data(), out.count, /*typed=*/true, nullptr);
            cuda::DeviceBuffer<float> back(out.count);
            cuda::to_float(out, back.get(), nullptr);
            c.expect(same_bits(cuda::download(back, 3, cols), h[0]), what + ": typed storage differs");
          }

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
  return c.finish("cuda_allreduce");
}
