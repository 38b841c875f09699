#include "kernels/cuda/allreduce.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/grid_rounding.cuh"

namespace ffn::cuda {

namespace {

template <class T>
struct RankPointers {
  const T* p[k_max_device_ranks];
  int tp;
};

struct PlanView {
  ReductionAccumulate accumulate;
  ReductionStart start;
  int ranks;
  std::size_t count, segments;
  const std::size_t* begin;
  const int* order;
};

void check_ranks(std::size_t tp) {
  if (tp == 0 || tp > k_max_device_ranks)
    throw std::invalid_argument(fmt::format("device all-reduce: {} ranks, supported 1 to {}", tp, k_max_device_ranks));
}

// The ranks element i visits: those of the last segment beginning at or before it.
__device__ const int* order_of(const PlanView& plan, std::size_t i) {
  std::size_t lo = 0, hi = plan.segments;
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (plan.begin[mid] <= i) lo = mid;
    else hi = mid;
  }
  return plan.order + lo * static_cast<std::size_t>(plan.ranks);
}

// One element, as harness/tp/allreduce_model.cpp PlanExecutor computes it: every add an fp32 add
// (__fadd_rn: never contracted) rounded as the plan says.
template <class T>
__device__ float reduce_element(const PlanView& plan, DType wire, const RankPointers<T>& in, std::size_t i) {
  const int* order = order_of(plan, i);
  const bool zero = plan.start == ReductionStart::zero;
  const float first = load_as_float(in.p[order[0]], i);
  switch (plan.accumulate) {
    case ReductionAccumulate::wire_each_add: {
      float acc = zero ? round_to_grid(__fadd_rn(0.0f, first), wire) : first;
      for (int k = 1; k < plan.ranks; ++k) acc = round_to_grid(__fadd_rn(acc, load_as_float(in.p[order[k]], i)), wire);
      return acc;
    }
    case ReductionAccumulate::fp32_once: {
      float acc = zero ? __fadd_rn(0.0f, first) : first;
      for (int k = 1; k < plan.ranks; ++k) acc = __fadd_rn(acc, load_as_float(in.p[order[k]], i));
      return round_to_grid(acc, wire);
    }
    case ReductionAccumulate::fp64_once: break;
  }
  double acc = zero ? __dadd_rn(0.0, static_cast<double>(first)) : static_cast<double>(first);
  for (int k = 1; k < plan.ranks; ++k) acc = __dadd_rn(acc, static_cast<double>(load_as_float(in.p[order[k]], i)));
  return round_to_grid(acc, wire);
}

template <class T>
__global__ void reduce_kernel(PlanView plan, DType wire, RankPointers<T> in, T* out) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < plan.count;
       i += std::size_t{gridDim.x} * blockDim.x)
    store_from_float(out, i, reduce_element(plan, wire, in, i));
}

template <class T>
void launch(const PlanView& plan, DType wire, const std::vector<const void*>& inputs, void* out, cudaStream_t stream) {
  RankPointers<T> in{};
  in.tp = static_cast<int>(inputs.size());
  for (int r = 0; r < in.tp; ++r) in.p[r] = static_cast<const T*>(inputs[r]);
  reduce_kernel<<<std::min(blocks_for(plan.count, 256), 65535u), 256, 0, stream>>>(plan, wire, in, static_cast<T*>(out));
  check_launch("reduce_kernel");
}

__global__ void max_kernel(RankPointers<float> in, float* out, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    float m = in.p[0][i];
    for (int r = 1; r < in.tp; ++r) m = fmaxf(m, in.p[r][i]);
    out[i] = m;
  }
}

}  // namespace

DevicePlan::DevicePlan(const ReductionPlan& plan)
    : accumulate_(plan.accumulate),
      start_(plan.start),
      ranks_(plan.ranks),
      count_(plan.count),
      begin_(plan.begin.size()),
      order_(plan.order.size()) {
  check_ranks(static_cast<std::size_t>(plan.ranks));
  const bool covered = plan.count == 0 || (!plan.begin.empty() && plan.begin.front() == 0);
  if (!covered || plan.order.size() != plan.begin.size() * static_cast<std::size_t>(plan.ranks))
    throw std::invalid_argument("device all-reduce: the plan's segments do not cover its elements");
  begin_.upload(plan.begin.data(), plan.begin.size());
  order_.upload(plan.order.data(), plan.order.size());
}

void all_reduce_device(const DevicePlan& plan, DType wire, const std::vector<const void*>& inputs, void* out,
                       bool typed, cudaStream_t stream) {
  check_ranks(inputs.size());
  if (static_cast<int>(inputs.size()) != plan.ranks())
    throw std::invalid_argument(
        fmt::format("device all-reduce: {} input buffers for a plan of {} ranks", inputs.size(), plan.ranks()));
  if (wire == DType::fp64) throw std::invalid_argument("device all-reduce: the wire dtype cannot be fp64");
  if (plan.count() == 0) return;
  const PlanView view{plan.accumulate(), plan.start(), plan.ranks(), plan.count(), plan.segments(), plan.begin(),
                      plan.order()};
  if (!typed || wire == DType::fp32) return launch<float>(view, wire, inputs, out, stream);
  if (wire == DType::bf16) return launch<__nv_bfloat16>(view, wire, inputs, out, stream);
  return launch<__half>(view, wire, inputs, out, stream);
}

void all_reduce_max_device(const std::vector<const float*>& inputs, float* out, std::size_t count, cudaStream_t stream) {
  check_ranks(inputs.size());
  if (count == 0) return;
  RankPointers<float> in{};
  in.tp = static_cast<int>(inputs.size());
  for (int r = 0; r < in.tp; ++r) in.p[r] = inputs[r];
  max_kernel<<<std::min(blocks_for(count, 256), 65535u), 256, 0, stream>>>(in, out, count);
  check_launch("max_kernel");
}

}  // namespace ffn::cuda
