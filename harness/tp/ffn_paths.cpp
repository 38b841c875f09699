#include "harness/tp/ffn_paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "harness/tp/parallel_linear.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/linear.hpp"

namespace ffn {

void check_ffn_shapes(const Matrix<float>& x, const FfnWeights& w) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (x.rows() == 0) fail("x: zero tokens");
  if (x.cols() != w.dim())
    fail(fmt::format("x: {} features, proj_in expects {}", x.cols(), w.dim()));
  if (w.activation.gated && w.w_in.rows() % 2 != 0)
    fail(fmt::format("proj_in.weight: {} rows do not split into gate and up halves", w.w_in.rows()));
  // Biases on both layers, or (an MLP without bias) on neither.
  if (w.b_in.empty() != w.b_out.empty())
    fail(fmt::format("{}: missing while {} has one; an MLP has biases on both layers or on none",
                     w.b_in.empty() ? "proj_in.bias" : "proj_out.bias", w.b_in.empty() ? "proj_out" : "proj_in"));
  if (!w.b_in.empty() && static_cast<std::int64_t>(w.b_in.size()) != w.w_in.rows())
    fail(fmt::format("proj_in.bias: {} elements, proj_in has {} outputs", w.b_in.size(), w.w_in.rows()));
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

// Columns [c0, c1) of every shard, side by side.
Matrix<float> side_by_side(const RankTensors& shards, std::int64_t c0, std::int64_t c1) {
  const std::int64_t w = c1 - c0;
  Matrix<float> full(shards.front().rows(), w * static_cast<std::int64_t>(shards.size()), Unfilled{});
  for (std::size_t s = 0; s < shards.size(); ++s)
    for (std::int64_t r = 0; r < full.rows(); ++r)
      std::copy_n(&shards[s](r, c0), w, &full(r, static_cast<std::int64_t>(s) * w));
  return full;
}

Matrix<float> side_by_side(const RankTensors& shards) { return side_by_side(shards, 0, shards.front().cols()); }

// [a | b] column-wise.
Matrix<float> concat_cols(const Matrix<float>& a, const Matrix<float>& b) {
  Matrix<float> out(a.rows(), a.cols() + b.cols(), Unfilled{});
  for (std::int64_t r = 0; r < a.rows(); ++r) {
    std::copy_n(&a(r, 0), a.cols(), &out(r, 0));
    std::copy_n(&b(r, 0), b.cols(), &out(r, a.cols()));
  }
  return out;
}

// [b | a] from [a | b] (halves of equal width).
Matrix<float> swap_halves(const Matrix<float>& m) {
  const std::int64_t half = m.cols() / 2;
  return concat_cols(m.col_block(half, 2 * half), m.col_block(0, half));
}

const QuantizedLinear* quant_in(const FfnWeights& w) { return w.quant ? &w.quant->proj_in : nullptr; }
const QuantizedLinear* quant_out(const FfnWeights& w) { return w.quant ? &w.quant->proj_out : nullptr; }
}  // namespace

Matrix<float> gated_logical_layout(const RankTensors& shards) {
  const std::int64_t half = shards.front().cols() / 2;
  return concat_cols(side_by_side(shards, 0, half), side_by_side(shards, half, 2 * half));
}

Matrix<float> ffn_allgather(const Matrix<float>& x, const FfnWeights& w, Communicator& comm,
                            DType dtype, FfnTrace* trace, const Kernels& kernels) {
  check_ffn_shapes(x, w);
  const RankTensors xs = replicate(x, comm);
  RankTensors h;
  if (!w.activation.gated) {
    h = ColumnParallelLinear("proj_in", w.w_in, w.b_in, /*gather_output=*/true, comm, dtype, quant_in(w), kernels)
            .forward(xs);
  } else {
    // Before the change: gate and up are two column-parallel layers, each gathered.
    const std::int64_t n = w.inner();
    const RankTensors gate = ColumnParallelLinear("proj_in.gate", w.w_in, w.b_in, true, comm, dtype, quant_in(w),
                                                  kernels, {0, n})
                                 .forward(xs);
    const RankTensors up = ColumnParallelLinear("proj_in.up", w.w_in, w.b_in, true, comm, dtype, quant_in(w),
                                                kernels, {n, 2 * n})
                               .forward(xs);
    for (std::size_t i = 0; i < gate.size(); ++i) h.push_back(concat_cols(gate[i], up[i]));
  }
  if (trace) trace->hidden = h.front();
  RankTensors a;
  // Each rank's gathered copy released once its activation is made (tp full copies at tp 8).
  for (auto& t : h) {
    a.push_back(kernels.activation(t, w.activation, dtype));
    t = Matrix<float>();
  }
  if (trace) trace->activation = a.front();
  const ColumnParallelLinear proj_out("proj_out", w.w_out, w.b_out, /*gather_output=*/true, comm, dtype,
                                      quant_out(w), kernels);
  return proj_out.forward(a).front();
}

Matrix<float> ffn_sharded(const Matrix<float>& x, const FfnWeights& w, Communicator& comm,
                          DType dtype, RoundingObserver* observer, FfnTrace* trace,
                          InputScaleScope proj_out_scales, ShardedPathVariant variant, const Kernels& kernels) {
  check_ffn_shapes(x, w);
  if ((variant.gate_up_contiguous || variant.gate_up_swapped || variant.act_on_up_half) && !w.activation.gated)
    throw std::invalid_argument("ffn_sharded: a gate/up fault needs a gated MLP");
  const RankTensors xs = replicate(x, comm);
  RankTensors h;
  if (!w.activation.gated || variant.gate_up_contiguous)
    h = ColumnParallelLinear("proj_in", w.w_in, w.b_in, /*gather_output=*/false, comm, dtype, quant_in(w), kernels)
            .forward(xs);
  else
    h = MergedColumnParallelLinear("proj_in", w.w_in, w.b_in, comm, dtype, quant_in(w), kernels,
                                   variant.gate_up_swapped)
            .forward(xs);
  if (trace) trace->hidden = w.activation.gated ? gated_logical_layout(h) : side_by_side(h);
  Activation act = w.activation;
  if (variant.act_fn) act.fn = *variant.act_fn;
  RankTensors a;
  for (const auto& t : h) a.push_back(kernels.activation(variant.act_on_up_half ? swap_halves(t) : t, act, dtype));
  if (trace) trace->activation = side_by_side(a);
  const bool stray = !variant.stray_bias.empty();
  const RowParallelLinear proj_out("proj_out", w.w_out, stray ? variant.stray_bias : std::span<const float>(w.b_out),
                                   /*input_is_parallel=*/true, /*reduce_results=*/true, comm, dtype, quant_out(w),
                                   proj_out_scales, variant.bias_on_every_rank || stray, kernels);
  return proj_out.forward(a, observer, trace ? &trace->partials : nullptr).front();
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
  // The weights in fp64, block by block: a whole fp64 copy is 512 MiB at the LTX-2 dims.
  const auto layer = [&](const Matrix<double>& in, const Matrix<float>& master, const QuantizedLinear* q,
                         const std::vector<float>& bias) {
    const auto rows = [&](std::int64_t r0, std::int64_t r1, std::span<double> out) {
      effective_weight_rows<double>(master, q, r0, r1, out);
    };
    const Matrix<float>& shape = effective_weight_shape(master, q);
    return cpu::linear(in, shape.rows(), shape.cols(), rows, to_double(bias));
  };
  ReferenceResult r;
  r.hidden = layer(x, w.w_in, w.quant ? &w.quant->proj_in : nullptr, w.b_in);
  r.activation = cpu::activation(r.hidden, w.activation);
  r.output = layer(r.activation, w.w_out, w.quant ? &w.quant->proj_out : nullptr, w.b_out);
  return r;
}

}  // namespace ffn
