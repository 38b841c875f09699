#include "harness/launch/mpi_communicator.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace ffn {

namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(fmt::format("MPI: {} failed: {}", call, std::string(text, length)));
}

int as_count(std::size_t n, const char* op) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument(fmt::format("{}: {} elements are more than one MPI message takes", op, n));
  return static_cast<int>(n);
}

template <class Tensors>
auto& only_rank(Tensors& local, const char* op) {
  if (local.size() != 1)
    throw std::invalid_argument(fmt::format("{}: got tensors of {} ranks, this process holds one", op,
                                            local.size()));
  return local.front();
}

// Every rank's (rows, cols), so that a disagreement is found by all ranks alike instead of
// by mismatched message sizes.
std::vector<long long> all_shapes(const Matrix<float>& t, int size) {
  const long long mine[2] = {t.rows(), t.cols()};
  std::vector<long long> all(2 * static_cast<std::size_t>(size));
  check(MPI_Allgather(mine, 2, MPI_LONG_LONG, all.data(), 2, MPI_LONG_LONG, MPI_COMM_WORLD), "MPI_Allgather");
  return all;
}

void check_same_shape(const Matrix<float>& t, int size, const char* op) {
  const std::vector<long long> all = all_shapes(t, size);
  for (int r = 1; r < size; ++r)
    if (all[2 * r] != all[0] || all[2 * r + 1] != all[1])
      throw std::invalid_argument(fmt::format("{}: ranks disagree on the buffer shape", op));
}

}  // namespace

MpiCommunicator::MpiCommunicator(const MpiSession& session, AllReduceConfig reduction)
    : reduction_(reduction), size_(session.world_size()), rank_{session.rank()} {}

std::vector<float> MpiCommunicator::all_gather_values(std::span<const float> mine,
                                                      std::vector<int>& counts) const {
  const int n = as_count(mine.size(), "all_gather");
  counts.assign(static_cast<std::size_t>(size_), 0);
  check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  std::vector<int> offsets(counts.size(), 0);
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = as_count(total, "all_gather");
    total += static_cast<std::size_t>(counts[r]);
  }
  std::vector<float> all(total);
  check(MPI_Allgatherv(mine.data(), n, MPI_FLOAT, all.data(), counts.data(), offsets.data(), MPI_FLOAT,
                       MPI_COMM_WORLD),
        "MPI_Allgatherv");
  return all;
}

RankTensors MpiCommunicator::all_gather_cols(const RankTensors& local) {
  const Matrix<float>& mine = only_rank(local, "all_gather");
  const std::vector<long long> shapes = all_shapes(mine, size_);
  long long cols = 0;
  for (int r = 0; r < size_; ++r) {
    if (shapes[2 * r] != mine.rows())
      throw std::invalid_argument("all_gather: ranks disagree on the number of rows");
    cols += shapes[2 * r + 1];
  }
  std::vector<int> counts;
  const std::vector<float> all = all_gather_values(mine.values(), counts);
  Matrix<float> full(mine.rows(), cols);
  const float* from = all.data();
  std::int64_t c0 = 0;
  for (int r = 0; r < size_; ++r) {
    const std::int64_t rc = shapes[2 * r + 1];
    for (std::int64_t row = 0; row < mine.rows(); ++row, from += rc) std::copy(from, from + rc, &full(row, c0));
    c0 += rc;
  }
  return {full};
}

void MpiCommunicator::all_reduce_max(RankTensors& local) {
  Matrix<float>& mine = only_rank(local, "all_reduce_max");
  check_same_shape(mine, size_, "all_reduce_max");
  check(MPI_Allreduce(MPI_IN_PLACE, mine.data(), as_count(mine.size(), "all_reduce_max"), MPI_FLOAT,
                      MPI_MAX, MPI_COMM_WORLD),
        "MPI_Allreduce");
}

void MpiCommunicator::all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) {
  Matrix<float>& mine = only_rank(local, "all_reduce");
  check_same_shape(mine, size_, "all_reduce");
  if (wire == DType::fp64) throw std::invalid_argument("all_reduce: the wire dtype cannot be fp64");
  if (size_ == 1) return;  // a group of one reduces nothing and rounds nothing
  if (reduction_.model == AllReduceModel::ring) return ring_all_reduce(mine.values(), wire, observer);
  // Every other model: every rank reads every rank's buffer and reduces them itself, in the
  // model's order.
  std::vector<int> counts;
  const std::vector<float> all = all_gather_values(mine.values(), counts);
  std::vector<std::span<const float>> inputs;
  for (int r = 0; r < size_; ++r) inputs.emplace_back(all.data() + r * mine.size(), mine.size());
  reduce_sum(reduction_, wire, inputs, mine.values(), observer);
}

void MpiCommunicator::ring_all_reduce(std::span<float> buffer, DType wire, RoundingObserver* observer) {
  const int tp = size_, r = rank_.front();
  const int next = (r + 1) % tp, prev = (r + tp - 1) % tp;
  const auto chunk = [&](int c) {
    const auto [begin, end] = ring_chunk(buffer.size(), tp, ((c % tp) + tp) % tp);
    return buffer.subspan(begin, end - begin);
  };
  std::vector<float> arriving(chunk(0).size());  // chunk 0 is the longest
  std::vector<float> hops;  // this rank's running sums after each of its hops, for the observer
  // Reduce-scatter: at step s rank r passes on the running sum of chunk r - s and receives
  // that of chunk r - 1 - s, to which it adds its own values. Chunk c thus starts at rank c
  // and meets ranks c+1, c+2, ... in order; after tp - 1 steps rank r holds chunk r + 1 whole.
  for (int s = 0; s + 1 < tp; ++s) {
    const std::span<float> out = chunk(r - s), in = chunk(r - 1 - s);
    const std::span<float> acc(arriving.data(), in.size());
    check(MPI_Sendrecv(out.data(), as_count(out.size(), "all_reduce"), MPI_FLOAT, next, s, acc.data(),
                       as_count(acc.size(), "all_reduce"), MPI_FLOAT, prev, s, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
          "MPI_Sendrecv");
    ring_hop(wire, acc, in);
    std::copy(acc.begin(), acc.end(), in.begin());
    if (observer) hops.insert(hops.end(), acc.begin(), acc.end());
  }
  // All-gather: the finished chunks travel the ring unchanged.
  for (int s = 0; s + 1 < tp; ++s) {
    const std::span<float> out = chunk(r + 1 - s), in = chunk(r - s);
    check(MPI_Sendrecv(out.data(), as_count(out.size(), "all_reduce"), MPI_FLOAT, next, tp + s, in.data(),
                       as_count(in.size(), "all_reduce"), MPI_FLOAT, prev, tp + s, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE),
          "MPI_Sendrecv");
  }
  if (!observer) return;
  // Rank q did hop s + 1 of chunk q - 1 - s; replay the hops chunk by chunk, each element's
  // roundings in hop order, as reduce_sum reports them.
  std::vector<int> counts;
  const std::vector<float> all = all_gather_values(hops, counts);
  std::vector<std::size_t> rank_offset(static_cast<std::size_t>(tp), 0);
  for (int q = 1; q < tp; ++q) rank_offset[q] = rank_offset[q - 1] + static_cast<std::size_t>(counts[q - 1]);
  for (int c = 0; c < tp; ++c) {
    const auto [begin, end] = ring_chunk(buffer.size(), tp, c);
    for (int hop = 1; hop < tp; ++hop) {
      const int q = (c + hop) % tp;
      std::size_t at = rank_offset[q];
      for (int s = 0; s + 1 < hop; ++s) at += chunk(q - 1 - s).size();
      for (std::size_t i = begin; i < end; ++i) observer->rounded(i, all[at + (i - begin)], wire);
    }
  }
}

}  // namespace ffn
