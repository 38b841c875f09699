#pragma once
// The LTX-2 feed-forward block, y = proj_out(gelu_tanh(proj_in(x))), three ways
// (DESIGN section 1):
//   allgather  the old path: proj_in column-parallel with gather_output, GELU on the full
//              tensor, proj_out column-parallel with gather_output. Every output element is
//              one full-K GEMM.
//   sharded    the new path: proj_in column-parallel without gather, GELU on the shard,
//              proj_out row-parallel (bias on rank 0), AllReduce-sum in the activation dtype.
//   reference  unsharded, fp64 throughout, on the same (already rounded) inputs.
#include <optional>
#include <vector>

#include "harness/tp/communicator.hpp"
#include "harness/tp/parallel_linear.hpp"

namespace ffn {

// Full checkpoint tensors, PyTorch layout: w_in [inner, dim], w_out [dim, inner]; b_in and
// b_out both empty for an MLP without bias.
struct FfnWeights {
  Matrix<float> w_in;
  std::vector<float> b_in;
  Matrix<float> w_out;
  std::vector<float> b_out;
  // A quantized checkpoint: quantized from w_in and w_out (their fp32 masters), run instead.
  std::optional<QuantizedFfn> quant;

  std::int64_t dim() const { return w_in.cols(); }
  std::int64_t inner() const { return w_in.rows(); }
};

// What a path computed on the way to its output, over the local ranks.
struct FfnTrace {
  Matrix<float> hidden;      // proj_in output, the local ranks' columns side by side
  Matrix<float> activation;  // GELU output, same layout
  RankTensors partials;      // sharded only: every local rank's proj_out partial before the AllReduce
};

// Departures of the sharded path from the stack's layers, one per realistic bug that lives
// inside the path itself (harness/verdict/fault_injection.hpp maps a fault onto them): the
// row-parallel proj_out adding its bias on every rank instead of rank 0 only, and GELU in its
// exact erf form instead of the tanh approximation.
struct ShardedPathVariant {
  bool bias_on_every_rank = false;
  bool gelu_erf = false;
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
  Matrix<double> activation;  // gelu_tanh(hidden)
  Matrix<double> output;
};
ReferenceResult ffn_reference(const Matrix<float>& x, const FfnWeights& w);
// The same on an fp64 input that lies on no low-precision grid (a rolled-out hidden state).
ReferenceResult ffn_reference(const Matrix<double>& x, const FfnWeights& w);

// Checks that x and the weights fit together; throws with a message naming the tensor.
void check_ffn_shapes(const Matrix<float>& x, const FfnWeights& w);

}  // namespace ffn
