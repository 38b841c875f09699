#include "harness/tp/simulated_communicator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ffn {

SimulatedCommunicator::SimulatedCommunicator(int tp, AllReduceConfig reduction) : reduction_(reduction) {
  if (tp < 1) throw std::invalid_argument("tp must be at least 1, got " + std::to_string(tp));
  for (int r = 0; r < tp; ++r) ranks_.push_back(r);
}

void SimulatedCommunicator::check_group(const RankTensors& local, const char* op) const {
  if (static_cast<int>(local.size()) != size())
    throw std::invalid_argument(std::string(op) + ": got tensors of " +
                                std::to_string(local.size()) + " ranks, the group has " +
                                std::to_string(size()));
  for (const auto& t : local)
    if (t.rows() != local[0].rows())
      throw std::invalid_argument(std::string(op) + ": ranks disagree on the number of rows");
}

RankTensors SimulatedCommunicator::all_gather_cols(const RankTensors& local) {
  check_group(local, "all_gather");
  std::int64_t cols = 0;
  for (const auto& t : local) cols += t.cols();
  Matrix<float> full(local[0].rows(), cols, Unfilled{});
  std::int64_t c0 = 0;
  for (const auto& t : local) {
    for (std::int64_t r = 0; r < t.rows(); ++r)
      std::copy(t.data() + r * t.cols(), t.data() + (r + 1) * t.cols(), &full(r, c0));
    c0 += t.cols();
  }
  return RankTensors(local.size(), full);
}

void SimulatedCommunicator::check_same_shape(const RankTensors& local, const char* op) const {
  check_group(local, op);
  for (const auto& t : local)
    if (t.cols() != local[0].cols())
      throw std::invalid_argument(std::string(op) + ": ranks disagree on the buffer shape");
}

void SimulatedCommunicator::all_reduce_max(RankTensors& local) {
  check_same_shape(local, "all_reduce_max");
  Matrix<float> m = local[0];
  for (const auto& t : local)
    for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = std::max(m.data()[i], t.data()[i]);
  for (auto& t : local) t = m;
}

void SimulatedCommunicator::all_reduce_sum(RankTensors& local, DType wire,
                                           RoundingObserver* observer) {
  check_same_shape(local, "all_reduce");
  if (size() == 1) return;  // a group of one reduces nothing and rounds nothing
  std::vector<std::span<const float>> inputs;
  for (const auto& t : local) inputs.push_back(t.values());
  Matrix<float> sum(local[0].rows(), local[0].cols());
  reduce_sum(reduction_, wire, inputs, sum.values(), observer);
  for (auto& t : local) t = sum;
}

}  // namespace ffn
