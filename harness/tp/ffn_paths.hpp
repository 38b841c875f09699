#pragma once
// A feed-forward block, y = proj_out(act(proj_in(x))), three ways (DESIGN sections 1 and 8):
//   allgather  the old path: proj_in column-parallel with gather_output (gated: gate and up as
//              two such layers), the activation on the full tensors, proj_out column-parallel
//              with gather_output. Every output element is one full-K GEMM.
//   sharded    the new path: proj_in column-parallel without gather (gated: one
//              MergedColumnParallelLinear, rank r holding [gate_r | up_r]), the activation on the
//              shard, proj_out row-parallel (bias on rank 0), AllReduce-sum in the activation dtype.
//   reference  unsharded, fp64 throughout, on the same (already rounded) inputs.
#include <optional>
#include <span>
#include <vector>

#include "harness/tp/communicator.hpp"
#include "harness/tp/parallel_linear.hpp"

namespace ffn {

// The MLP: full checkpoint tensors, PyTorch layout, and the activation between them.
// w_in [inner, dim] (gated: [2 inner, dim], the fused gate_up tensor, gate rows first), w_out
// [dim, inner]; b_in and b_out both empty for an MLP without bias.
struct FfnWeights {
  Matrix<float> w_in;
  std::vector<float> b_in;
  Matrix<float> w_out;
  std::vector<float> b_out;
  Activation activation;
  // A quantized checkpoint: quantized from w_in and w_out (their fp32 masters), run instead.
  std::optional<QuantizedFfn> quant;

  std::int64_t dim() const { return w_in.cols(); }
  // proj_out's input size: of gate and of up, each, when gated.
  std::int64_t inner() const { return activation.gated ? w_in.rows() / 2 : w_in.rows(); }
};

// What a path computed on the way to its output, over the local ranks.
struct FfnTrace {
  // proj_in output, the local ranks' columns side by side (gated: the gate columns of the
  // local ranks, then their up columns: the layout of the full [gate | up] tensors).
  Matrix<float> hidden;
  Matrix<float> activation;  // the activation's output, the local ranks' columns side by side
  RankTensors partials;      // sharded only: every local rank's proj_out partial before the AllReduce
};

// Departures of the sharded path from the stack's layers, one per realistic bug that lives
// inside the path itself (harness/verdict/fault_injection.hpp maps a fault onto them).
struct ShardedPathVariant {
  bool bias_on_every_rank = false;      // row-parallel proj_out adds its bias on every rank
  std::optional<ActFn> act_fn;          // another activation function than the model's
  bool gate_up_contiguous = false;      // the fused gate_up sharded as one contiguous tensor
  bool gate_up_swapped = false;         // the loader puts up where gate belongs: [up_r | gate_r]
  bool act_on_up_half = false;          // the activation takes the second half as gate
  std::span<const float> stray_bias;    // a bias proj_out adds on every rank where the MLP has none
};

// `kernels`: the backend the layers and the GELU compute on (the CPU reference by default).
Matrix<float> ffn_allgather(const Matrix<float>& x, const FfnWeights& w, Communicator& comm,
                            DType dtype, FfnTrace* trace = nullptr,
                            const Kernels& kernels = cpu_kernels());
Matrix<float> ffn_sharded(const Matrix<float>& x, const FfnWeights& w, Communicator& comm,
                          DType dtype, RoundingObserver* observer = nullptr,
                          FfnTrace* trace = nullptr,
                          InputScaleScope proj_out_scales = InputScaleScope::local,
                          ShardedPathVariant variant = {},
                          const Kernels& kernels = cpu_kernels());

// The reference runs the checkpoint as shipped: for a quantized one, the dequantized weights
// (exact in fp64) on unquantized activations.
struct ReferenceResult {
  Matrix<double> hidden;      // x W_in^T + b_in
  Matrix<double> activation;  // act(hidden)
  Matrix<double> output;
};
ReferenceResult ffn_reference(const Matrix<float>& x, const FfnWeights& w);
// The same on an fp64 input that lies on no low-precision grid (a rolled-out hidden state).
ReferenceResult ffn_reference(const Matrix<double>& x, const FfnWeights& w);

// Gated ranks' shards [gate_r | up_r] (the merged layer's outputs, rank order) in the layout of
// the full tensors: every rank's gate columns, then every rank's up columns.
Matrix<float> gated_logical_layout(const RankTensors& shards);

// Checks that x and the weights fit together; throws with a message naming the tensor.
void check_ffn_shapes(const Matrix<float>& x, const FfnWeights& w);

}  // namespace ffn
