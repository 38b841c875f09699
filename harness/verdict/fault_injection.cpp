#include "harness/verdict/fault_injection.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "harness/tp/simulated_communicator.hpp"
#include "kernels/cpu/quantize.hpp"
#include "kernels/forwarding_kernels.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

namespace {

// A full [rows, cols] tensor whose column shards, taken the correct way, are what the faulty
// loader hands each rank: column j of the result is `source_of(i, j)` of the original.
Matrix<float> remap(const Matrix<float>& w, const std::function<std::pair<std::int64_t, std::int64_t>(
                                                std::int64_t, std::int64_t)>& source_of) {
  Matrix<float> out(w.rows(), w.cols());
  for (std::int64_t i = 0; i < w.rows(); ++i)
    for (std::int64_t j = 0; j < w.cols(); ++j) {
      const auto [si, sj] = source_of(i, j);
      out(i, j) = w(si, sj);
    }
  return out;
}

// proj_out.weight [dim, inner] narrowed on dim 0: rank r gets rows [r d, (r+1) d) (d = dim/tp),
// a [d, inner] slice, reshaped (row-major) to the [dim, n] its parameter has (n = inner/tp).
Matrix<float> wrong_axis(const Matrix<float>& w, int tp) {
  const std::int64_t dim = w.rows(), inner = w.cols(), d = dim / tp, n = inner / tp;
  return remap(w, [=](std::int64_t i, std::int64_t j) {
    const std::int64_t r = j / n, flat = i * n + j % n;
    return std::pair{r * d + flat / inner, flat % inner};
  });
}

// Rank r >= 1 takes columns [r n - 1, (r+1) n - 1): every column from the first boundary on
// is its left neighbour.
Matrix<float> off_by_one(const Matrix<float>& w, int tp) {
  const std::int64_t n = w.cols() / tp;
  return remap(w, [=](std::int64_t i, std::int64_t j) { return std::pair{i, j >= n ? j - 1 : j}; });
}

// The checkpoint as a loader that rescales each shard would hold it: one FP8 scale per
// shard of the layer (row shards for column-parallel proj_in, column shards for
// row-parallel proj_out), quantized from the fp32 master.
FfnWeights per_shard_scales(const FfnWeights& w, int tp) {
  FfnWeights out = w;
  const QuantFormat format = scheme_layout(w.quant->proj_in.scheme).weight.format;
  out.quant->proj_in.weight = cpu::quantize(w.w_in.view(), {format, w.inner() / tp, 0, false});
  out.quant->proj_out.weight = cpu::quantize(w.w_out.view(), {format, 0, w.inner() / tp, false});
  return out;
}

FfnWeights remapped_proj_out(const FfnWeights& w, int tp, Matrix<float> (*f)(const Matrix<float>&, int)) {
  FfnWeights out = w;
  out.w_out = f(w.w_out, tp);
  // Per-tensor or per-row scales follow the values (fault_not_applicable refuses the others).
  if (out.quant) out.quant->proj_out.weight.values = f(w.quant->proj_out.weight.values, tp);
  return out;
}

Matrix<float> drop_token(const Matrix<float>& x) {
  const std::int64_t dropped = x.rows() / 2;
  Matrix<float> out(x.rows(), x.cols());
  for (std::int64_t t = 0, src = 0; src < x.rows(); ++src) {
    if (src == dropped) continue;
    for (std::int64_t c = 0; c < x.cols(); ++c) out(t, c) = x(src, c);
    ++t;
  }
  return out;
}

// The faulty collectives. Whatever the output, the observer is told of the roundings of the
// correct reduction, so that the budget stays that of the correct implementation.
class FaultyCommunicator final : public Communicator {
 public:
  FaultyCommunicator(Communicator& inner, Fault fault, const AllReduceConfig& reduction)
      : inner_(inner), fault_(fault), reduction_(reduction) {}

  int size() const override { return inner_.size(); }
  const std::vector<int>& local_ranks() const override { return inner_.local_ranks(); }

  RankTensors all_gather_cols(const RankTensors& local) override {
    if (fault_ != Fault::allgather_rank_order) return inner_.all_gather_cols(local);
    return inner_.all_gather_cols(RankTensors(local.rbegin(), local.rend()));
  }

  void all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) override {
    if (observer) {
      RankTensors correct = local;
      inner_.all_reduce_sum(correct, wire, observer);
    }
    switch (fault_) {
      case Fault::allreduce_skipped: return;  // every rank keeps its own partial
      case Fault::allreduce_fp16:
        return inner_.all_reduce_sum(local, wire == DType::bf16 ? DType::fp16 : wire, nullptr);
      case Fault::control_allreduce_fp32:
        inner_.all_reduce_sum(local, DType::fp32, nullptr);
        for (auto& t : local) round_inplace(wire, t.values());
        return;
      case Fault::control_allreduce_exact: {
        SimulatedCommunicator exact(size(), AllReduceModel::exact);
        return exact.all_reduce_sum(local, wire, nullptr);
      }
      case Fault::allreduce_truncate: {
        AllReduceConfig truncating = reduction_;
        truncating.truncating = true;
        SimulatedCommunicator faulty(size(), truncating);
        return faulty.all_reduce_sum(local, wire, nullptr);
      }
      default: return inner_.all_reduce_sum(local, wire, nullptr);
    }
  }

  void all_reduce_max(RankTensors& local) override { inner_.all_reduce_max(local); }

 private:
  Communicator& inner_;
  Fault fault_;
  AllReduceConfig reduction_;
};

// Kernels whose GEMM epilogue truncates where it should round to nearest, for the calls of the
// row-parallel proj_out only (recognised by their weight, which lies in proj_out's storage):
// the partials come out biased toward zero, everything else is computed as before.
class TruncatingEpilogue final : public ForwardingKernels {
 public:
  TruncatingEpilogue(const Kernels& inner, const FfnWeights& w) : ForwardingKernels(inner) {
    storage_.emplace_back(w.w_out.values());
    if (w.quant) storage_.emplace_back(w.quant->proj_out.weight.values.values());
  }
  Matrix<float> linear(MatrixView<float> x, MatrixView<float> w, std::span<const float> bias, DType out) const override {
    if (!is_proj_out(w.data)) return inner().linear(x, w, bias, out);
    return truncated(inner().linear(x, w, bias, DType::fp32), out);
  }
  Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                                 DType out) const override {
    if (!is_proj_out(w.values.data)) return inner().quantized_linear(x, w, bias, out);
    return truncated(inner().quantized_linear(x, w, bias, DType::fp32), out);
  }

 private:
  bool is_proj_out(const float* p) const {
    return std::ranges::any_of(storage_, [p](std::span<const float> s) {
      return !s.empty() && std::less_equal<>()(s.data(), p) && std::less<>()(p, s.data() + s.size());
    });
  }
  static Matrix<float> truncated(Matrix<float> y, DType out) {
    for (float& v : y.values()) v = round_toward_zero(out, v);
    return y;
  }
  std::vector<std::span<const float>> storage_;
};

}  // namespace

FaultedInputs::FaultedInputs(Fault fault, const FfnInputs& inputs, Communicator& comm,
                             const AllReduceConfig& reduction)
    : path_(fault == Fault::none ? FaultedPath::sharded : fault_info(fault).path),
      inputs_(inputs),
      base_comm_(comm),
      fault_(fault) {
  const int tp = comm.size();
  switch (fault) {
    case Fault::proj_out_wrong_axis: weights_ = remapped_proj_out(inputs.weights, tp, wrong_axis); break;
    case Fault::shard_off_by_one: weights_ = remapped_proj_out(inputs.weights, tp, off_by_one); break;
    case Fault::fp8_scale_per_shard: weights_ = per_shard_scales(inputs.weights, tp); break;
    case Fault::token_dropped: x_ = drop_token(inputs.x); break;
    case Fault::allgather_rank_order:
    case Fault::allreduce_skipped:
    case Fault::allreduce_fp16:
    case Fault::control_allreduce_fp32:
    case Fault::allreduce_truncate:
    case Fault::control_allreduce_exact: comm_ = std::make_unique<FaultyCommunicator>(comm, fault, reduction); break;
    case Fault::stray_bias:
      // What an unloaded nn.Linear-style bias holds: its initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
      stray_bias_ = linear_init_values(inputs.weights.dim(), inputs.weights.inner(), 0, "proj_out.stray_bias",
                                       DType::bf16);
      break;
    case Fault::none:
    case Fault::bias_every_rank:  // put in by ffn_sharded itself
    case Fault::gelu_exact:
    case Fault::gate_up_contiguous:
    case Fault::gate_up_swapped:
    case Fault::act_wrong_half:
    case Fault::partial_truncate: break;  // the kernels, below
  }
  variant_ = {.bias_on_every_rank = fault == Fault::bias_every_rank,
              .act_fn = fault == Fault::gelu_exact ? std::optional(ActFn::gelu) : std::nullopt,
              .gate_up_contiguous = fault == Fault::gate_up_contiguous,
              .gate_up_swapped = fault == Fault::gate_up_swapped,
              .act_on_up_half = fault == Fault::act_wrong_half,
              .stray_bias = stray_bias_};
}

const Kernels& FaultedInputs::kernels(FaultedPath p, const Kernels& base) const {
  if (fault_ != Fault::partial_truncate || p != path_) return base;
  if (!kernels_) kernels_ = std::make_unique<TruncatingEpilogue>(base, weights(p));
  return *kernels_;
}

}  // namespace ffn
