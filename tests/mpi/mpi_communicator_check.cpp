// Run under mpirun: MpiCommunicator, one rank per process, against SimulatedCommunicator
// holding every rank in this process, on the same buffers. Every result and every rounding
// the observer is told of must agree bit for bit, for each AllReduce model and wire dtype,
// on buffer lengths that do and do not divide into tp ring chunks. Exit 0 when all agree.
#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "harness/launch/mpi_communicator.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;

namespace {

struct Event {
  std::size_t index;
  std::uint64_t value_bits;
  DType grid;
  bool operator==(const Event&) const = default;
};

class Recorder final : public RoundingObserver {
 public:
  void rounded(std::size_t index, double value, DType grid) override {
    events.push_back({index, std::bit_cast<std::uint64_t>(value), grid});
  }
  std::vector<Event> events;
};

bool same_bits(const Matrix<float>& a, const Matrix<float>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a.data()[i]) != std::bit_cast<std::uint32_t>(b.data()[i])) return false;
  return true;
}

// Every rank's buffer, identical on every process: values on the wire grid over a wide range
// of magnitudes and both signs, so that the hops round and cancel.
RankTensors buffers(int tp, std::int64_t rows, std::int64_t cols, DType wire, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> exponent(-6, 6);
  RankTensors all;
  for (int r = 0; r < tp; ++r) {
    Matrix<float> m(rows, cols);
    for (auto& v : m.values()) v = static_cast<float>(round_to(wire, std::ldexp(normal(gen), exponent(gen))));
    all.push_back(std::move(m));
  }
  return all;
}

int failures = 0;
int checks = 0;

void expect(bool ok, const std::string& what, int rank) {
  ++checks;
  if (ok) return;
  ++failures;
  fmt::print(stderr, "rank {}: MISMATCH {}\n", rank, what);
}

}  // namespace

int main() {
  const std::optional<ProcessGroup> group = detect_process_group();
  if (!group) {
    fmt::print(stderr, "mpi_communicator_check: run it under mpirun\n");
    return 2;
  }
  const MpiSession session(*group);
  const int tp = session.world_size(), rank = session.rank();
  unsigned seed = 1;
  for (AllReduceModel model : {AllReduceModel::ring, AllReduceModel::custom_1stage, AllReduceModel::exact}) {
    SimulatedCommunicator simulated(tp, model);
    MpiCommunicator mpi(session, model);
    for (DType wire : {DType::bf16, DType::fp16, DType::fp32}) {
      // 1 element (chunks of length zero), tp*3+1 (uneven chunks), and a larger buffer.
      for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {1, 3 * tp + 1}, {7, 96}}) {
        const std::string what = fmt::format("{} {} [{}x{}]", allreduce_model_name(model), dtype_name(wire), rows, cols);
        RankTensors all = buffers(tp, rows, cols, wire, seed++);
        RankTensors mine{all[rank]};
        Recorder simulated_log, mpi_log;
        simulated.all_reduce_sum(all, wire, &simulated_log);
        mpi.all_reduce_sum(mine, wire, &mpi_log);
        expect(same_bits(mine[0], all[rank]), what + ": all_reduce_sum result", rank);
        expect(simulated_log.events == mpi_log.events, what + ": roundings told to the observer", rank);
        // Without an observer the result is the same.
        RankTensors again{buffers(tp, rows, cols, wire, seed - 1)[rank]};
        mpi.all_reduce_sum(again, wire, nullptr);
        expect(same_bits(again[0], all[rank]), what + ": all_reduce_sum without observer", rank);
      }
    }
    // Gather with rank-dependent widths, and max.
    RankTensors parts;
    for (int r = 0; r < tp; ++r) parts.push_back(buffers(1, 5, 2 + r, DType::fp32, seed + r).front());
    seed += tp;
    const RankTensors gathered = mpi.all_gather_cols({parts[rank]});
    const RankTensors expected = simulated.all_gather_cols(RankTensors(parts));
    expect(gathered.size() == 1 && same_bits(gathered[0], expected[rank]), "all_gather_cols", rank);
    RankTensors amax = buffers(tp, 3, 17, DType::fp32, seed++);
    RankTensors mine{amax[rank]};
    mpi.all_reduce_max(mine);
    simulated.all_reduce_max(amax);
    expect(same_bits(mine[0], amax[rank]), "all_reduce_max", rank);
  }
  if (rank == 0 || failures > 0)
    fmt::print("rank {} of {}: {} checks, {} mismatches\n", rank, tp, checks, failures);
  return failures == 0 ? 0 : 1;
}
