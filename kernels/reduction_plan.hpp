#pragma once
// An AllReduce-sum as data: for each element, the ranks in the order their values are added, and
// how the accumulator starts and rounds. harness/tp/allreduce_model.cpp builds the plan of every
// implementation (the one place that knows their layouts: NCCL's channels, loops and chunks, the
// 2-stage slices, ...); its host executor and the device kernel of kernels/cuda/allreduce.cu both
// carry the same plan out, so no layout rule is written twice. C++17: nvcc compiles the device
// side as C++17.
#include <cstddef>
#include <vector>

namespace ffn {

// What the accumulator is and where it rounds.
enum class ReductionAccumulate {
  wire_each_add,  // every add rounded to the wire dtype (__hadd2 on bf16/fp16)
  fp32_once,      // fp32 adds, one rounding to the wire dtype at the end
  fp64_once,      // fp64 adds, one rounding
};

// Where the accumulator starts: the first visited value, or a zero of the accumulator's type
// added to it (0 + x: exact, it only turns -0 into +0).
enum class ReductionStart { first_value, zero };

struct ReductionPlan {
  ReductionAccumulate accumulate = ReductionAccumulate::fp64_once;
  ReductionStart start = ReductionStart::first_value;
  int ranks = 0;
  std::size_t count = 0;
  // Segment s covers the elements [begin[s], end(s)), in increasing order from begin[0] = 0,
  // none empty; its elements visit the ranks order[s * ranks], ..., order[s * ranks + ranks - 1].
  std::vector<std::size_t> begin;
  std::vector<int> order;

  std::size_t segments() const { return begin.size(); }
  std::size_t end(std::size_t s) const { return s + 1 < begin.size() ? begin[s + 1] : count; }
  const int* order_of(std::size_t s) const { return order.data() + s * static_cast<std::size_t>(ranks); }
  // Appends [b, e) visiting `visit` (ranks values); merges it into the last segment when that
  // one visits the same ranks in the same order.
  void add_segment(std::size_t b, const int* visit) {
    const std::size_t n = static_cast<std::size_t>(ranks);
    if (!begin.empty()) {
      bool same = true;
      for (std::size_t k = 0; k < n && same; ++k) same = order[order.size() - n + k] == visit[k];
      if (same) return;
    }
    begin.push_back(b);
    order.insert(order.end(), visit, visit + n);
  }
};

}  // namespace ffn
