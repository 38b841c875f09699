#include "harness/launch/device_local_communicator.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "kernels/cuda/allreduce.hpp"
#include "kernels/cuda/host_transfer.hpp"

namespace ffn {

namespace {

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

DeviceLocalCommunicator::DeviceLocalCommunicator(int tp, AllReduceConfig reduction) : reduction_(std::move(reduction)) {
  if (tp < 1 || tp > cuda::k_max_device_ranks)
    throw std::invalid_argument(fmt::format("tp must be between 1 and {}, got {}", cuda::k_max_device_ranks, tp));
  if (reduction_.truncating)
    throw std::invalid_argument("--backend cuda: the truncating AllReduce is a fault of the host model only");
  allreduce_plan(reduction_, DType::bf16, 0, tp);  // refuses a ring order that does not fit tp before any work
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
    reduce_sum(reduction_, wire, inputs, modelled.values(), observer);
  }
  const std::vector<cuda::DeviceBuffer<float>> parts = upload_all(local);
  std::vector<const void*> inputs;
  for (const auto& p : parts) inputs.push_back(p.get());
  const cuda::DevicePlan plan(allreduce_plan(reduction_, wire, local[0].size(), size()));
  cuda::DeviceBuffer<float> sum(local[0].size());
  cuda::all_reduce_device(plan, wire, inputs, sum.get(), /*typed=*/false, nullptr);
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
