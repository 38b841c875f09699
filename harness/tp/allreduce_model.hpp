#pragma once
// How an AllReduce-sum rounds (DESIGN section 2). This file is the one place where the
// reduction of the partial sums is rounded; every communicator that simulates or predicts
// a reduction calls reduce_sum below.
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kernels/dtype.hpp"

namespace ffn {

enum class AllReduceModel {
  // NCCL ring: the buffer is cut into tp contiguous chunks; chunk c starts at rank c and
  // travels the ring, fl(...fl(fl(x_c + x_c+1) + x_c+2)...), every pairwise add done in
  // fp32 and rounded to the wire dtype at each hop; all ranks get the same bits.
  ring,
  // One-shot custom all-reduce: each rank sums all tp inputs in fp32 in rank order and
  // rounds once.
  oneshot,
  // fp64 sum, one rounding: the best any implementation can do.
  exact,
};

// Every model, in the order of the enum.
const std::vector<AllReduceModel>& allreduce_models();
std::string_view allreduce_model_name(AllReduceModel m);
// One line for `ffn-parity list allreduce` and --help.
std::string_view allreduce_model_description(AllReduceModel m);
std::optional<AllReduceModel> parse_allreduce_model(std::string_view name);

// Told of every rounding a reduction performs, with the value it produced: the error
// budget is built from the magnitudes that were actually rounded.
class RoundingObserver {
 public:
  virtual ~RoundingObserver() = default;
  virtual void rounded(std::size_t index, double value, DType grid) = 0;
};

// out[i] = sum over ranks r of inputs[r][i], rounded as the model does. All inputs lie on
// the grid of `wire` (fp32, bf16 or fp16) and have out.size() elements.
void reduce_sum(AllReduceModel model, DType wire, std::span<const std::span<const float>> inputs,
                std::span<float> out, RoundingObserver* observer = nullptr);

// [begin, end) of chunk c when n elements are cut into `parts` ring chunks (the first
// n % parts chunks are one element longer).
std::pair<std::size_t, std::size_t> ring_chunk(std::size_t n, int parts, int c);

// One hop of the ring on a chunk: the running sum `acc` arrives at a rank, which adds its
// own values and rounds to the wire dtype. reduce_sum's ring and the message-passing rings
// (MpiCommunicator) both step with this, so they round alike.
void ring_hop(DType wire, std::span<float> acc, std::span<const float> own);

}  // namespace ffn
