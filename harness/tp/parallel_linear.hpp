#pragma once
// Tensor-parallel Linear layers with the serving stack's semantics (DESIGN section 1).
// Each layer takes its ranks' shards out of the full checkpoint tensors, as a loader does;
// the shards are views, so the full tensors must outlive the layer.
#include <span>
#include <string>
#include <vector>

#include "harness/tp/communicator.hpp"
#include "harness/tp/quantized_linear.hpp"

namespace ffn {

// Rows [begin, end) of a checkpoint tensor that form one logical weight: the whole tensor,
// or the gate or up half of a fused gate_up tensor.
struct LogicalRows {
  std::int64_t begin = 0, end = -1;  // end -1: to the last row
};

// Rank r holds rows [r*out/tp, (r+1)*out/tp) of W [out, in] and the same slice of the bias,
// and adds its own bias shard. gather_output AllGathers the output columns in rank order.
class ColumnParallelLinear {
 public:
  // With `quant`, the layer runs the quantized checkpoint instead of `weight`; its weight
  // scales are sharded with the rows. `rows`: the layer's weight is these rows of `weight`
  // (and of the bias and the quantized weight), e.g. the gate half of a fused gate_up tensor.
  ColumnParallelLinear(std::string name, const Matrix<float>& weight, std::span<const float> bias,
                       bool gather_output, Communicator& comm, DType dtype,
                       const QuantizedLinear* quant = nullptr, const Kernels& kernels = cpu_kernels(),
                       LogicalRows rows = {});

  // x: the full input on every local rank. Returns each local rank's output shard, or the
  // gathered full output with gather_output.
  RankTensors forward(const RankTensors& x) const;

  MatrixView<float> weight_shard(std::size_t local) const { return weights_[local]; }
  std::span<const float> bias_shard(std::size_t local) const { return biases_[local]; }

 private:
  std::string name_;
  bool gather_output_;
  Communicator& comm_;
  DType dtype_;
  const QuantizedLinear* quant_;
  const Kernels& kernels_;
  std::vector<MatrixView<float>> weights_;
  std::vector<QuantizedView> quant_weights_;
  std::vector<std::span<const float>> biases_;
};

// MergedColumnParallelLinear(output_sizes=[n, n], gather_output=False) over a fused [gate; up]
// weight [2n, in] (gate rows first): each logical weight is sharded on its own, so rank r holds
// gate rows [r n/tp, (r+1) n/tp) and the same up rows, stacked into one [2n/tp, in] weight,
// and computes [gate_r | up_r] in one GEMM (the stack's loader: MergedColumnParallelLinear.
// weight_loader narrows each loaded shard by tp_rank into its offset of the merged parameter).
// Quantized weights are stacked with their per-row or block scales (one scale per logical
// weight: quantize_linear's `logical_rows`).
class MergedColumnParallelLinear {
 public:
  // `swap_halves`: an injected fault, the loader puts up where gate belongs ([up_r | gate_r]).
  MergedColumnParallelLinear(std::string name, const Matrix<float>& weight, std::span<const float> bias,
                             Communicator& comm, DType dtype, const QuantizedLinear* quant = nullptr,
                             const Kernels& kernels = cpu_kernels(), bool swap_halves = false);

  // Each local rank's [tokens, 2n/tp] output: [gate_r | up_r].
  RankTensors forward(const RankTensors& x) const;

 private:
  std::string name_;
  Communicator& comm_;
  DType dtype_;
  const QuantizedLinear* quant_;
  const Kernels& kernels_;
  std::vector<Matrix<float>> weights_;
  std::vector<QuantizedMatrix> quant_weights_;
  std::vector<std::vector<float>> biases_;
};

// Whose rows a row-parallel layer's dynamic input scales cover: the rank-local slice, as
// the serving stack does, or the full row agreed over the group by an AllReduce-max (what
// the old path sees; used to attribute the parity error to its causes).
enum class InputScaleScope { local, group };

// Rank r holds columns [r*in/tp, (r+1)*in/tp) of W [out, in] and the full bias, which only
// rank 0 adds, so that it is added once. reduce_results AllReduces the partial outputs.
class RowParallelLinear {
 public:
  // With `quant`, the layer runs the quantized checkpoint; per-channel weight scales stay
  // whole, block scales are sharded by block columns. `bias_on_every_rank` is an injected
  // fault (harness/verdict/fault.hpp): every rank adds the full bias.
  RowParallelLinear(std::string name, const Matrix<float>& weight, std::span<const float> bias,
                    bool input_is_parallel, bool reduce_results, Communicator& comm, DType dtype,
                    const QuantizedLinear* quant = nullptr,
                    InputScaleScope scale_scope = InputScaleScope::local, bool bias_on_every_rank = false,
                    const Kernels& kernels = cpu_kernels());

  // Each rank's partial output p_r = x_r W_r^T (+ b on rank 0), rounded to the dtype.
  RankTensors partial_outputs(const RankTensors& x) const;
  // The partials, AllReduced when reduce_results (and tp > 1). `partials`, when given,
  // receives a copy of the partials as they went into the reduction.
  RankTensors forward(const RankTensors& x, RoundingObserver* observer = nullptr,
                      RankTensors* partials = nullptr) const;

  MatrixView<float> weight_shard(std::size_t local) const { return weights_[local]; }
  // The bias this local rank adds: the full bias on rank 0, none elsewhere.
  std::span<const float> bias_added(std::size_t local) const;

 private:
  std::string name_;
  bool input_is_parallel_;
  bool reduce_results_;
  Communicator& comm_;
  DType dtype_;
  const QuantizedLinear* quant_;
  InputScaleScope scale_scope_;
  bool bias_on_every_rank_;
  const Kernels& kernels_;
  std::int64_t in_per_rank_;
  std::vector<MatrixView<float>> weights_;
  std::vector<QuantizedView> quant_weights_;
  std::span<const float> bias_;
};

}  // namespace ffn
