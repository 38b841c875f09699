#include "harness/bench/cuda_bench.hpp"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/tp/allreduce_model.hpp"
#include "kernels/cuda/allreduce.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device_query.hpp"
#include "kernels/cuda/device_tensor_transfer.hpp"
#include "kernels/cuda/activation_device.hpp"
#include "kernels/cuda/linear.hpp"

namespace ffn::bench {

namespace {

using cuda::check;
using cuda::DeviceTensor;

constexpr DType kDtype = DType::bf16;  // the dtype of the change under test
constexpr std::size_t kBytes = 2;

class Event {
 public:
  Event() { check(cudaEventCreate(&e_), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(e_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record() { check(cudaEventRecord(e_), "cudaEventRecord"); }
  // Milliseconds from `start` to this event (synchronises on this event).
  float since(const Event& start) const {
    check(cudaEventSynchronize(e_), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start.e_, e_), "cudaEventElapsedTime");
    return ms;
  }

 private:
  cudaEvent_t e_ = nullptr;
};

DeviceTensor empty_tensor(std::size_t count) {
  return DeviceTensor{kDtype, count, cuda::DeviceBuffer<unsigned char>(count * kBytes)};
}

unsigned char* at(const DeviceTensor& t, std::int64_t elements) {
  return static_cast<unsigned char*>(t.data()) + elements * static_cast<std::int64_t>(kBytes);
}

// Columns [c0, c0 + w) of every rank's [rows, w] shard into the full [rows, cols] tensor.
void gather_cols(const std::vector<DeviceTensor>& shards, const DeviceTensor& full, std::int64_t rows, std::int64_t w,
                 std::int64_t cols) {
  for (std::size_t r = 0; r < shards.size(); ++r)
    check(cudaMemcpy2DAsync(at(full, static_cast<std::int64_t>(r) * w), cols * kBytes, shards[r].data(), w * kBytes,
                            w * kBytes, rows, cudaMemcpyDeviceToDevice),
          "cudaMemcpy2DAsync (all_gather)");
}

struct Phases {
  float compute = 0, all_gather = 0, all_reduce = 0;  // ms, as rank 0 sees them
  float total() const { return compute + all_gather + all_reduce; }
};

struct Model {
  std::int64_t tokens, dim, inner;
  DeviceTensor x, w_in, b_in, w_out, b_out;
};

// One FFN of the old path at tp: rank 0's kernels timed, the other ranks' run too (their
// shards feed the gather) but outside rank 0's time.
Phases allgather_once(const Model& m, int tp) {
  const std::int64_t n_in = m.inner / tp, n_out = m.dim / tp;
  std::vector<DeviceTensor> h, y;
  for (int r = 0; r < tp; ++r) {
    h.push_back(empty_tensor(static_cast<std::size_t>(m.tokens * n_in)));
    y.push_back(empty_tensor(static_cast<std::size_t>(m.tokens * n_out)));
  }
  const DeviceTensor full_h = empty_tensor(static_cast<std::size_t>(m.tokens * m.inner));
  const DeviceTensor full_y = empty_tensor(static_cast<std::size_t>(m.tokens * m.dim));
  Event e0, e1, e2, e3, e4, e5;
  Phases p;
  for (int r = tp - 1; r >= 1; --r)  // the other ranks' proj_in
    cuda::linear_device(m.x.data(), m.dim, at(m.w_in, r * n_in * m.dim), m.dim, at(m.b_in, r * n_in), h[r].data(),
                        m.tokens, n_in, m.dim, kDtype, cuda::Fp32Math::strict, nullptr);
  e0.record();
  cuda::linear_device(m.x.data(), m.dim, m.w_in.data(), m.dim, m.b_in.data(), h[0].data(), m.tokens, n_in, m.dim, kDtype,
                      cuda::Fp32Math::strict, nullptr);
  e1.record();
  gather_cols(h, full_h, m.tokens, n_in, m.inner);
  e2.record();
  cuda::gelu_tanh_device(full_h.data(), full_h.count, kDtype, nullptr);
  cuda::linear_device(full_h.data(), m.inner, m.w_out.data(), m.inner, m.b_out.data(), y[0].data(), m.tokens, n_out,
                      m.inner, kDtype, cuda::Fp32Math::strict, nullptr);
  e3.record();
  for (int r = 1; r < tp; ++r)  // the other ranks' proj_out
    cuda::linear_device(full_h.data(), m.inner, at(m.w_out, r * n_out * m.inner), m.inner, at(m.b_out, r * n_out),
                        y[r].data(), m.tokens, n_out, m.inner, kDtype, cuda::Fp32Math::strict, nullptr);
  e4.record();
  gather_cols(y, full_y, m.tokens, n_out, m.dim);
  e5.record();
  p.compute = e1.since(e0) + e3.since(e2);
  p.all_gather = e2.since(e1) + e5.since(e4);
  return p;
}

// One FFN of the new path at tp.
Phases sharded_once(const Model& m, int tp) {
  const std::int64_t n_in = m.inner / tp;
  std::vector<DeviceTensor> h, partial;
  for (int r = 0; r < tp; ++r) {
    h.push_back(empty_tensor(static_cast<std::size_t>(m.tokens * n_in)));
    partial.push_back(empty_tensor(static_cast<std::size_t>(m.tokens * m.dim)));
  }
  const DeviceTensor y = empty_tensor(static_cast<std::size_t>(m.tokens * m.dim));
  Event e0, e1, e2, e3;
  for (int r = tp - 1; r >= 1; --r) {
    cuda::linear_device(m.x.data(), m.dim, at(m.w_in, r * n_in * m.dim), m.dim, at(m.b_in, r * n_in), h[r].data(),
                        m.tokens, n_in, m.dim, kDtype, cuda::Fp32Math::strict, nullptr);
    cuda::gelu_tanh_device(h[r].data(), h[r].count, kDtype, nullptr);
    cuda::linear_device(h[r].data(), n_in, at(m.w_out, r * n_in), m.inner, nullptr, partial[r].data(), m.tokens, m.dim,
                        n_in, kDtype, cuda::Fp32Math::strict, nullptr);
  }
  e0.record();
  cuda::linear_device(m.x.data(), m.dim, m.w_in.data(), m.dim, m.b_in.data(), h[0].data(), m.tokens, n_in, m.dim, kDtype,
                      cuda::Fp32Math::strict, nullptr);
  cuda::gelu_tanh_device(h[0].data(), h[0].count, kDtype, nullptr);
  cuda::linear_device(h[0].data(), n_in, m.w_out.data(), m.inner, m.b_out.data(), partial[0].data(), m.tokens, m.dim,
                      n_in, kDtype, cuda::Fp32Math::strict, nullptr);
  e1.record();
  std::vector<const void*> inputs;
  for (const auto& t : partial) inputs.push_back(t.data());
  const cuda::DevicePlan ring(allreduce_plan(AllReduceModel::ring, kDtype, y.count, tp));
  e2.record();
  if (tp > 1) cuda::all_reduce_device(ring, kDtype, inputs, y.data(), /*typed=*/true, nullptr);
  e3.record();
  Phases p;
  p.compute = e1.since(e0);
  p.all_reduce = e3.since(e2);
  return p;
}

template <class F>
Phases median_of(F once, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) once();
  std::vector<Phases> runs;
  for (int i = 0; i < reps; ++i) runs.push_back(once());
  std::sort(runs.begin(), runs.end(), [](const Phases& a, const Phases& b) { return a.total() < b.total(); });
  return runs[runs.size() / 2];
}

// TFLOP/s of a large bf16 GEMM on this device, the peak the FFN's GEMMs are measured against:
// proj_in's weight times itself ([inner, dim] x [inner, dim]^T), real data (an all-zero GEMM
// draws less power and runs faster than any real one).
double measured_gemm_peak(const Model& m, int reps) {
  const DeviceTensor c = empty_tensor(static_cast<std::size_t>(m.inner * m.inner));
  const auto gemm = [&] {
    cuda::linear_device(m.w_in.data(), m.dim, m.w_in.data(), m.dim, nullptr, c.data(), m.inner, m.inner, m.dim, kDtype,
                        cuda::Fp32Math::strict, nullptr);
  };
  gemm();
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    Event s, e;
    s.record();
    gemm();
    e.record();
    ms.push_back(e.since(s));
  }
  std::sort(ms.begin(), ms.end());
  return 2.0 * double(m.inner) * double(m.inner) * double(m.dim) / (ms[ms.size() / 2] * 1e-3) / 1e12;
}

}  // namespace

int run_cuda_bench(bool quick) {
  const cuda::DeviceStatus status = cuda::query_devices();
  if (status.count == 0) {
    fmt::print(stderr, "ffn-parity-bench: error: --backend cuda: {}\n", status.summary);
    return 3;  // no usable device (README, "Exit status")
  }
  const FfnShape shape = *find_shape(quick ? "small" : "ltx2-video");
  // The first stage of a 768x512, 121-frame video: 6144 latent tokens.
  const std::int64_t tokens = quick ? 64 : 6144;
  const int warmup = quick ? 1 : 5, reps = quick ? 3 : 25;
  const FfnInputs in = make_inputs({shape, tokens, 0, kDtype});
  Model m{tokens, shape.dim, shape.inner,
          cuda::upload_as(in.x.view(), kDtype),
          cuda::upload_as(in.weights.w_in.view(), kDtype),
          cuda::upload_as({in.weights.b_in.data(), 1, shape.inner, shape.inner}, kDtype),
          cuda::upload_as(in.weights.w_out.view(), kDtype),
          cuda::upload_as({in.weights.b_out.data(), 1, shape.dim, shape.dim}, kDtype)};
  const double peak = measured_gemm_peak(m, quick ? 3 : 10);
  fmt::print("# ffn-parity-bench --backend cuda: {}; shape {} (dim {}, inner {}), {} tokens, bf16, ring AllReduce;\n"
             "# median of {} after {} warm-up; bf16 GEMM peak measured here {:.1f} TFLOP/s. All ranks share one GPU:\n"
             "# a rank's time is its own kernels (compute: GEMMs and GELU) plus the collectives, which are on-device copies/reductions\n"
             "# (a lower bound on an interconnect's time); bytes are what each rank sends over NCCL.\n",
             status.summary, shape.name, shape.dim, shape.inner, tokens, reps, warmup, peak);
  fmt::print("{:<10} {:>3} {:>9} {:>10} {:>8} {:>8} {:>11} {:>11} {:>9} {:>8}\n", "path", "tp", "ffn_ms", "compute_ms",
             "ag_share", "ar_share", "ag_MiB/rank", "ar_MiB/rank", "TFLOP/s", "of_peak");
  for (int tp : {1, 2, 4, 8}) {
    if (shape.inner % tp || shape.dim % tp) continue;
    const double flops = 2.0 * 2.0 * double(tokens) * shape.dim * shape.inner / tp;  // rank 0's two GEMMs
    const double mib = 1.0 / (1024 * 1024);
    const double ag_bytes = double(tp - 1) / tp * double(tokens) * (shape.inner + shape.dim) * kBytes;
    const double ar_bytes = tp > 1 ? 2.0 * (tp - 1) / tp * double(tokens) * shape.dim * kBytes : 0;
    const Phases ag = median_of([&] { return allgather_once(m, tp); }, warmup, reps);
    const Phases sh = median_of([&] { return sharded_once(m, tp); }, warmup, reps);
    for (const auto& [name, p, ag_b, ar_b] :
         {std::tuple{"allgather", ag, ag_bytes, 0.0}, std::tuple{"sharded", sh, 0.0, ar_bytes}}) {
      const double tflops = flops / (p.compute * 1e-3) / 1e12;
      fmt::print("{:<10} {:>3} {:>9.3f} {:>10.3f} {:>7.1f}% {:>7.1f}% {:>11.1f} {:>11.1f} {:>9.1f} {:>7.1f}%\n", name, tp,
                 p.total(), p.compute, 100 * p.all_gather / p.total(), 100 * p.all_reduce / p.total(), ag_b * mib,
                 ar_b * mib, tflops, 100 * tflops / peak);
    }
  }
  return 0;
}

}  // namespace ffn::bench
