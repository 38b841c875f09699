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

// Rank r holds rows [r*out/tp, (r+1)*out/tp) of W [out, in] and the same slice of the bias,
// and adds its own bias shard. gather_output AllGathers the output columns in rank order.
class ColumnParallelLinear {
 public:
  // With `quant`, the layer runs the quantized checkpoint instead of `weight`; its weight
  // scales are sharded with the rows.
  ColumnParallelLinear(std::string name, const Matrix<float>& weight, std::span<const float> bias,
                       bool gather_output, Communicator& comm, DType dtype,
                       const QuantizedLinear* quant = nullptr, const Kernels& kernels = cpu_kernels());

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
