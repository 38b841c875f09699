#include "harness/tp/ffn_paths.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "harness/tp/parallel_linear.hpp"
#include "kernels/cpu/gelu.hpp"
#include "kernels/cpu/linear.hpp"

namespace ffn {

void check_ffn_shapes(const Matrix<float>& x, const FfnWeights& w) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (x.rows() == 0) fail("x: zero tokens");
  if (x.cols() != w.dim())
    fail(fmt::format("x: {} features, proj_in expects {}", x.cols(), w.dim()));
  // Biases on both layers, or (an MLP without bias) on neither.
  if (w.b_in.empty() != w.b_out.empty())
    fail(fmt::format("{}: missing while {} has one; an MLP has biases on both layers or on none",
                     w.b_in.empty() ? "proj_in.bias" : "proj_out.bias", w.b_in.empty() ? "proj_out" : "proj_in"));
  if (!w.b_in.empty() && static_cast<std::int64_t>(w.b_in.size()) != w.inner())
    fail(fmt::format("proj_in.bias: {} elements, proj_in has {} outputs", w.b_in.size(), w.inner()));
  if (w.w_out.rows() != w.dim() || w.w_out.cols() != w.inner())
    fail(fmt::format("proj_out.weight: [{}, {}], expected [{}, {}]", w.w_out.rows(),
                     w.w_out.cols(), w.dim(), w.inner()));
  if (!w.b_out.empty() && static_cast<std::int64_t>(w.b_out.size()) != w.dim())
    fail(fmt::format("proj_out.bias: {} elements, proj_out has {} outputs", w.b_out.size(), w.dim()));
}

namespace {
RankTensors replicate(const Matrix<float>& x, const Communicator& comm) {
  return RankTensors(comm.local_ranks().size(), x);
}

Matrix<float> side_by_side(const RankTensors& shards) {
  std::int64_t cols = 0;
  for (const auto& s : shards) cols += s.cols();
  Matrix<float> full(shards.front().rows(), cols);
  std::int64_t c0 = 0;
  for (const auto& s : shards) {
    for (std::int64_t r = 0; r < s.rows(); ++r)
      for (std::int64_t c = 0; c < s.cols(); ++c) full(r, c0 + c) = s(r, c);
    c0 += s.cols();
  }
  return full;
}
}  // namespace

Matrix<float> ffn_allgather(const Matrix<float>& x, const FfnWeights& w, Communicator& comm,
                            DType dtype, FfnTrace* trace, const Kernels& kernels) {
  check_ffn_shapes(x, w);
  const ColumnParallelLinear proj_in("proj_in", w.w_in, w.b_in, /*gather_output=*/true, comm, dtype,
                                     w.quant ? &w.quant->proj_in : nullptr, kernels);
  const ColumnParallelLinear proj_out("proj_out", w.w_out, w.b_out, /*gather_output=*/true, comm,
                                      dtype, w.quant ? &w.quant->proj_out : nullptr, kernels);
  RankTensors h = proj_in.forward(replicate(x, comm));
  if (trace) trace->hidden = h.front();
  for (auto& t : h) kernels.gelu_tanh_inplace(t, dtype);
  if (trace) trace->activation = h.front();
  return proj_out.forward(h).front();
}

Matrix<float> ffn_sharded(const Matrix<float>& x, const FfnWeights& w, Communicator& comm,
                          DType dtype, RoundingObserver* observer, FfnTrace* trace,
                          InputScaleScope proj_out_scales, ShardedPathVariant variant, const Kernels& kernels) {
  check_ffn_shapes(x, w);
  const ColumnParallelLinear proj_in("proj_in", w.w_in, w.b_in, /*gather_output=*/false, comm,
                                     dtype, w.quant ? &w.quant->proj_in : nullptr, kernels);
  const RowParallelLinear proj_out("proj_out", w.w_out, w.b_out, /*input_is_parallel=*/true,
                                   /*reduce_results=*/true, comm, dtype,
                                   w.quant ? &w.quant->proj_out : nullptr, proj_out_scales,
                                   variant.bias_on_every_rank, kernels);
  RankTensors h = proj_in.forward(replicate(x, comm));
  if (trace) trace->hidden = side_by_side(h);
  for (auto& t : h) variant.gelu_erf ? cpu::gelu_erf_inplace(t, dtype) : kernels.gelu_tanh_inplace(t, dtype);
  if (trace) trace->activation = side_by_side(h);
  return proj_out.forward(h, observer, trace ? &trace->partials : nullptr).front();
}

ReferenceResult ffn_reference(const Matrix<float>& x, const FfnWeights& w) {
  check_ffn_shapes(x, w);
  return ffn_reference(convert<double>(x), w);
}

ReferenceResult ffn_reference(const Matrix<double>& x, const FfnWeights& w) {
  if (x.rows() == 0 || x.cols() != w.dim())
    throw std::invalid_argument(fmt::format("x: [{}, {}], proj_in expects {} features", x.rows(), x.cols(), w.dim()));
  const auto to_double = [](const std::vector<float>& v) {
    return std::vector<double>(v.begin(), v.end());
  };
  ReferenceResult r;
  const auto weight = [&](const Matrix<float>& master, const QuantizedLinear* q) {
    return q ? dequantize<double>(q->weight) : convert<double>(master);
  };
  // One fp64 weight copy at a time: at LTX-2 dims each is 512 MiB.
  r.hidden = cpu::linear(x, weight(w.w_in, w.quant ? &w.quant->proj_in : nullptr), to_double(w.b_in));
  r.activation = r.hidden;
  cpu::gelu_tanh_inplace(r.activation);
  r.output = cpu::linear(r.activation, weight(w.w_out, w.quant ? &w.quant->proj_out : nullptr),
                         to_double(w.b_out));
  return r;
}

}  // namespace ffn
