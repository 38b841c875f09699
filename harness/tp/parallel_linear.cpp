#include "harness/tp/parallel_linear.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cpu/quantize.hpp"


namespace ffn {

namespace {
std::int64_t per_rank(const std::string& layer, const char* what, std::int64_t n, int tp) {
  if (n % tp != 0)
    throw std::invalid_argument(
        fmt::format("{}: {} size {} is not divisible by tp {}", layer, what, n, tp));
  return n / tp;
}

void check_bias(const std::string& layer, std::span<const float> bias, std::int64_t out) {
  if (!bias.empty() && static_cast<std::int64_t>(bias.size()) != out)
    throw std::invalid_argument(
        fmt::format("{}: bias has {} elements, the weight has {} rows", layer, bias.size(), out));
}

void check_inputs(const std::string& layer, const RankTensors& x, const Communicator& comm,
                  std::int64_t cols) {
  if (x.size() != comm.local_ranks().size())
    throw std::invalid_argument(fmt::format("{}: got inputs for {} ranks, this process holds {}",
                                            layer, x.size(), comm.local_ranks().size()));
  for (const auto& t : x)
    if (t.cols() != cols)
      throw std::invalid_argument(
          fmt::format("{}: input has {} features, expected {}", layer, t.cols(), cols));
}
}  // namespace

ColumnParallelLinear::ColumnParallelLinear(std::string name, const Matrix<float>& weight,
                                           std::span<const float> bias, bool gather_output,
                                           Communicator& comm, DType dtype,
                                           const QuantizedLinear* quant, const Kernels& kernels,
                                           LogicalRows logical)
    : name_(std::move(name)),
      gather_output_(gather_output),
      comm_(comm),
      dtype_(dtype),
      quant_(quant),
      kernels_(kernels) {
  check_bias(name_, bias, weight.rows());
  const std::int64_t begin = logical.begin, end = logical.end < 0 ? weight.rows() : logical.end;
  if (begin < 0 || end < begin || end > weight.rows())
    throw std::invalid_argument(fmt::format("{}: rows [{}, {}) outside the weight's {}", name_, begin, end, weight.rows()));
  const std::int64_t rows = per_rank(name_, "output", end - begin, comm.size());
  const std::string where = fmt::format("{} (column-parallel, output size {} at tp {})", name_,
                                        end - begin, comm.size());
  for (int r : comm.local_ranks()) {
    const std::int64_t r0 = begin + r * rows;
    weights_.push_back(weight.row_view(r0, r0 + rows));
    if (quant_) quant_weights_.push_back(rows_of(view_of(quant_->weight), r0, r0 + rows, where));
    biases_.push_back(bias.empty() ? bias : bias.subspan(r0, rows));
  }
}

namespace {
// Each local rank's column-parallel output x W_r^T + b_r, its input quantized first for a
// quantized checkpoint (the rank quantizes the whole x it holds).
RankTensors column_outputs(const RankTensors& x, const std::vector<MatrixView<float>>& w,
                           const std::vector<QuantizedView>& wq, const std::vector<std::span<const float>>& b,
                           const QuantizedLinear* quant, const Kernels& kernels, DType dtype) {
  RankTensors y;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!quant) {
      y.push_back(kernels.linear(x[i], w[i], b[i], dtype));
      continue;
    }
    const QuantizedMatrix xq = quantize_input(*quant, x[i].view(), nullptr, kernels);
    y.push_back(kernels.quantized_linear(view_of(xq), wq[i], b[i], dtype));
  }
  return y;
}
}  // namespace

RankTensors ColumnParallelLinear::forward(const RankTensors& x) const {
  check_inputs(name_, x, comm_, weights_.front().cols);
  RankTensors y = column_outputs(x, weights_, quant_weights_, biases_, quant_, kernels_, dtype_);
  return gather_output_ ? comm_.all_gather_cols(y) : y;
}

MergedColumnParallelLinear::MergedColumnParallelLinear(std::string name, const Matrix<float>& weight,
                                                       std::span<const float> bias, Communicator& comm, DType dtype,
                                                       const QuantizedLinear* quant, const Kernels& kernels,
                                                       bool swap_halves)
    : name_(std::move(name)), comm_(comm), dtype_(dtype), quant_(quant), kernels_(kernels) {
  check_bias(name_, bias, weight.rows());
  if (weight.rows() % 2 != 0)
    throw std::invalid_argument(fmt::format("{}: {} rows do not split into gate and up halves", name_, weight.rows()));
  const std::int64_t n = weight.rows() / 2;
  const std::int64_t rows = per_rank(name_, "output (of gate and of up, each)", n, comm.size());
  const std::string where = fmt::format("{} (merged column-parallel, output sizes [{}, {}] at tp {})", name_, n, n,
                                        comm.size());
  for (int r : comm.local_ranks()) {
    // The two halves of this rank's merged parameter: offsets into the fused tensor.
    std::int64_t first = r * rows, second = n + r * rows;
    if (swap_halves) std::swap(first, second);
    Matrix<float> w(2 * rows, weight.cols());
    std::copy_n(weight.row_view(first, first + rows).data, rows * weight.cols(), w.data());
    std::copy_n(weight.row_view(second, second + rows).data, rows * weight.cols(), w.data() + rows * weight.cols());
    weights_.push_back(std::move(w));
    std::vector<float> b;
    if (!bias.empty()) {
      b.assign(bias.begin() + first, bias.begin() + first + rows);
      b.insert(b.end(), bias.begin() + second, bias.begin() + second + rows);
    }
    biases_.push_back(std::move(b));
    if (quant_) {
      const QuantizedView q = view_of(quant_->weight);
      quant_weights_.push_back(stack_rows(rows_of(q, first, first + rows, where), rows_of(q, second, second + rows, where),
                                          where));
    }
  }
}

RankTensors MergedColumnParallelLinear::forward(const RankTensors& x) const {
  check_inputs(name_, x, comm_, weights_.front().cols());
  std::vector<MatrixView<float>> w;
  std::vector<QuantizedView> wq;
  std::vector<std::span<const float>> b;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    w.push_back(weights_[i].view());
    if (quant_) wq.push_back(view_of(quant_weights_[i]));
    b.emplace_back(biases_[i]);
  }
  return column_outputs(x, w, wq, b, quant_, kernels_, dtype_);
}

RowParallelLinear::RowParallelLinear(std::string name, const Matrix<float>& weight,
                                     std::span<const float> bias, bool input_is_parallel,
                                     bool reduce_results, Communicator& comm, DType dtype,
                                     const QuantizedLinear* quant, InputScaleScope scale_scope,
                                     bool bias_on_every_rank, const Kernels& kernels)
    : name_(std::move(name)),
      input_is_parallel_(input_is_parallel),
      reduce_results_(reduce_results),
      comm_(comm),
      dtype_(dtype),
      quant_(quant),
      scale_scope_(scale_scope),
      bias_on_every_rank_(bias_on_every_rank),
      kernels_(kernels),
      bias_(bias) {
  check_bias(name_, bias, weight.rows());
  // Without the reduction every rank would return a partial with (rank 0) or without the
  // bias: a result that is wrong whichever rank's copy is used.
  if (!reduce_results_ && !bias_.empty())
    throw std::invalid_argument(
        fmt::format("{}: reduce_results=false with a bias gives partials that are not the "
                    "layer's output; skip the bias or reduce the results",
                    name_));
  in_per_rank_ = per_rank(name_, "input", weight.cols(), comm.size());
  const std::string where = fmt::format("{} (row-parallel, input size {} at tp {})", name_,
                                        weight.cols(), comm.size());
  for (int r : comm.local_ranks()) {
    weights_.push_back(weight.col_view(r * in_per_rank_, (r + 1) * in_per_rank_));
    if (quant_)
      quant_weights_.push_back(
          cols_of(view_of(quant_->weight), r * in_per_rank_, (r + 1) * in_per_rank_, where));
  }
}

std::span<const float> RowParallelLinear::bias_added(std::size_t local) const {
  return comm_.local_ranks()[local] == 0 || bias_on_every_rank_ ? bias_ : std::span<const float>();
}

RankTensors RowParallelLinear::partial_outputs(const RankTensors& x) const {
  check_inputs(name_, x, comm_, input_is_parallel_ ? in_per_rank_ : in_per_rank_ * comm_.size());
  std::vector<MatrixView<float>> own;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const int r = comm_.local_ranks()[i];
    own.push_back(input_is_parallel_ ? x[i].view() : x[i].col_view(r * in_per_rank_, (r + 1) * in_per_rank_));
  }
  // Group-wide input scales: every rank's row amax, maximised over the group.
  RankTensors amax;
  // (Scales of static inputs and of sub-row groups are the same on every rank already.)
  const SchemeLayout layout = quant_ ? scheme_layout(quant_->scheme) : SchemeLayout{};
  if (quant_ && scale_scope_ == InputScaleScope::group && !layout.static_input && layout.input.block_cols == 0) {
    // amax is exact (a maximum), so the host computes it for every backend.
    for (const auto& v : own) amax.push_back(cpu::block_amax(v, layout.input));
    comm_.all_reduce_max(amax);
  }
  RankTensors partials;
  for (std::size_t i = 0; i < own.size(); ++i) {
    // The partial is a Linear output: fp32 accumulation, rounded to the dtype here.
    if (!quant_) {
      partials.push_back(kernels_.linear(own[i], weights_[i], bias_added(i), dtype_));
      continue;
    }
    const QuantizedMatrix xq = quantize_input(*quant_, own[i], amax.empty() ? nullptr : &amax[i], kernels_);
    partials.push_back(kernels_.quantized_linear(view_of(xq), quant_weights_[i], bias_added(i), dtype_));
  }
  return partials;
}

RankTensors RowParallelLinear::forward(const RankTensors& x, RoundingObserver* observer,
                                       RankTensors* partials) const {
  RankTensors y = partial_outputs(x);
  if (partials) *partials = y;
  if (reduce_results_) comm_.all_reduce_sum(y, dtype_, observer);
  return y;
}

}  // namespace ffn
