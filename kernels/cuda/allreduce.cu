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

// The ring chunk of element i, as ring_chunk() cuts n elements into tp chunks (the first
// n % tp chunks one element longer).
__device__ int ring_chunk_of(std::size_t i, std::size_t n, int tp) {
  const std::size_t base = n / tp, extra = n % tp, boundary = extra * (base + 1);
  return static_cast<int>(i < boundary ? i / (base + 1) : extra + (i - boundary) / base);
}

template <class T>
__global__ void reduce_kernel(DeviceReduction model, DType wire, RankPointers<T> in, T* out, std::size_t n) {
  const int tp = in.tp;
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    float result;
    if (model == DeviceReduction::ring) {
      const int c = ring_chunk_of(i, n, tp);
      float acc = load_as_float(in.p[c], i);
      for (int hop = 1; hop < tp; ++hop) acc = round_to_grid(__fadd_rn(acc, load_as_float(in.p[(c + hop) % tp], i)), wire);
      result = acc;
    } else if (model == DeviceReduction::oneshot) {
      // custom-1stage: from an fp32 zero (0 + x is exact; it only turns -0 into +0).
      float acc = __fadd_rn(0.0f, load_as_float(in.p[0], i));
      for (int r = 1; r < tp; ++r) acc = __fadd_rn(acc, load_as_float(in.p[r], i));
      result = round_to_grid(acc, wire);
    } else {
      // Starting from the first value, not +0, keeps the sign of an all-negative-zero sum.
      double acc = load_as_float(in.p[0], i);
      for (int r = 1; r < tp; ++r) acc = __dadd_rn(acc, static_cast<double>(load_as_float(in.p[r], i)));
      result = round_to_grid(acc, wire);
    }
    store_from_float(out, i, result);
  }
}

template <class T>
void launch(DeviceReduction model, DType wire, const std::vector<const void*>& inputs, void* out, std::size_t n,
            cudaStream_t stream) {
  RankPointers<T> in{};
  in.tp = static_cast<int>(inputs.size());
  for (int r = 0; r < in.tp; ++r) in.p[r] = static_cast<const T*>(inputs[r]);
  reduce_kernel<<<std::min(blocks_for(n, 256), 65535u), 256, 0, stream>>>(model, wire, in, static_cast<T*>(out), n);
  check_launch("reduce_kernel");
}

__global__ void max_kernel(RankPointers<float> in, float* out, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    float m = in.p[0][i];
    for (int r = 1; r < in.tp; ++r) m = fmaxf(m, in.p[r][i]);
    out[i] = m;
  }
}

void check_ranks(std::size_t tp) {
  if (tp == 0 || tp > k_max_device_ranks)
    throw std::invalid_argument(fmt::format("device all-reduce: {} ranks, supported 1 to {}", tp, k_max_device_ranks));
}

}  // namespace

void all_reduce_device(DeviceReduction model, DType wire, const std::vector<const void*>& inputs, void* out,
                       std::size_t count, bool typed, cudaStream_t stream) {
  check_ranks(inputs.size());
  if (wire == DType::fp64) throw std::invalid_argument("device all-reduce: the wire dtype cannot be fp64");
  if (count == 0) return;
  if (!typed || wire == DType::fp32) return launch<float>(model, wire, inputs, out, count, stream);
  if (wire == DType::bf16) return launch<__nv_bfloat16>(model, wire, inputs, out, count, stream);
  return launch<__half>(model, wire, inputs, out, count, stream);
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
