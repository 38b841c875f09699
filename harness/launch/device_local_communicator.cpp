#include "harness/launch/device_local_communicator.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cuda/allreduce.hpp"
#include "kernels/cuda/host_transfer.hpp"

namespace ffn {

namespace {

cuda::DeviceReduction device_reduction(AllReduceModel m) {
  switch (m) {
    case AllReduceModel::ring: return cuda::DeviceReduction::ring;
    case AllReduceModel::custom_1stage: return cuda::DeviceReduction::oneshot;
    case AllReduceModel::exact: return cuda::DeviceReduction::exact;
    default: break;
  }
  throw std::invalid_argument(fmt::format("--backend cuda: the AllReduce model {} has no device kernel yet (ring, "
                                          "custom-1stage/oneshot and exact have)",
                                          allreduce_model_name(m)));
}

void check_group(const RankTensors& local, int size, const char* op, bool same_cols) {
  if (static_cast<int>(local.size()) != size)
    throw std::invalid_argument(fmt::format("{}: got tensors of {} ranks, the group has {}", op, local.size(), size));
  for (const auto& t : local)
    if (t.rows() != local[0].rows() || (same_cols && t.cols() != local[0].cols()))
      throw std::invalid_argument(fmt::format("{}: ranks disagree on the buffer shape", op));
}

std::vector<cuda::DeviceBuffer<float>> upload_all(const RankTensors& local) {
  std::vector<cuda::DeviceBuffer<float>> d;
  for (const auto& t : local) d.push_back(cuda::upload(t.view()));
  return d;
}

}  // namespace

DeviceLocalCommunicator::DeviceLocalCommunicator(int tp, AllReduceModel model) : model_(model) {
  device_reduction(model);  // refuses a model without a device kernel before any work
  if (tp < 1 || tp > cuda::k_max_device_ranks)
    throw std::invalid_argument(fmt::format("tp must be between 1 and {}, got {}", cuda::k_max_device_ranks, tp));
  for (int r = 0; r < tp; ++r) ranks_.push_back(r);
}

RankTensors DeviceLocalCommunicator::all_gather_cols(const RankTensors& local) {
  check_group(local, size(), "all_gather", false);
  const std::int64_t rows = local[0].rows();
  std::int64_t cols = 0;
  for (const auto& t : local) cols += t.cols();
  cuda::DeviceBuffer<float> full(static_cast<std::size_t>(rows * cols));
  const std::vector<cuda::DeviceBuffer<float>> parts = upload_all(local);
  std::int64_t c0 = 0;
  for (std::size_t r = 0; r < local.size(); ++r) {
    const std::int64_t w = local[r].cols();
    if (rows > 0 && w > 0)
      cuda::check(cudaMemcpy2D(full.get() + c0, cols * sizeof(float), parts[r].get(), w * sizeof(float), w * sizeof(float),
                               rows, cudaMemcpyDeviceToDevice),
                  "cudaMemcpy2D (all_gather)");
    c0 += w;
  }
  return RankTensors(local.size(), cuda::download(full, rows, cols));
}

void DeviceLocalCommunicator::all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) {
  check_group(local, size(), "all_reduce", true);
  if (size() == 1) return;  // a group of one reduces nothing and rounds nothing
  if (observer) {
    std::vector<std::span<const float>> inputs;
    for (const auto& t : local) inputs.push_back(t.values());
    Matrix<float> modelled(local[0].rows(), local[0].cols());
    reduce_sum(model_, wire, inputs, modelled.values(), observer);
  }
  const std::vector<cuda::DeviceBuffer<float>> parts = upload_all(local);
  std::vector<const void*> inputs;
  for (const auto& p : parts) inputs.push_back(p.get());
  cuda::DeviceBuffer<float> sum(local[0].size());
  cuda::all_reduce_device(device_reduction(model_), wire, inputs, sum.get(), sum.size(), /*typed=*/false, nullptr);
  const Matrix<float> result = cuda::download(sum, local[0].rows(), local[0].cols());
  for (auto& t : local) t = result;
}

void DeviceLocalCommunicator::all_reduce_max(RankTensors& local) {
  check_group(local, size(), "all_reduce_max", true);
  const std::vector<cuda::DeviceBuffer<float>> parts = upload_all(local);
  std::vector<const float*> inputs;
  for (const auto& p : parts) inputs.push_back(p.get());
  cuda::DeviceBuffer<float> m(local[0].size());
  cuda::all_reduce_max_device(inputs, m.get(), m.size(), nullptr);
  const Matrix<float> result = cuda::download(m, local[0].rows(), local[0].cols());
  for (auto& t : local) t = result;
}

}  // namespace ffn
