#pragma once
// A kernel set that remembers its widest ungated activation and answers a later one whose
// input is the same bits, or the same bits as a block of its columns (a column-parallel rank's
// shard), with the remembered output, copied. Every other call goes to the inner set.
//
// Why: the cases of one input set compute the same proj_in output over and over. Column-parallel
// proj_in gives each column by the same dot product whatever the TP size, so the allgather path
// at tp 1, 2, 4 and 8, and every rank of the sharded path, usually hand the activation the
// same bits; in fp32 each element is a call of the C library's tanhf (DESIGN section 8), the
// largest cost of a case besides its GEMMs.
//
// Sound only over an inner set whose activation is a function of the input's bits, element by
// element, as the CPU reference kernels' is (kernels/cpu/activation.hpp): an ungated activation
// of a column block is the same block of the activation. Gated activations are passed on: a
// rank's [gate_r | up_r] is no column block of [gate | up]. Thread-safe: the cases of a set run
// side by side.
#include <cstdint>
#include <mutex>

#include "kernels/forwarding_kernels.hpp"

namespace ffn {

class ActivationMemo final : public ForwardingKernels {
 public:
  explicit ActivationMemo(const Kernels& inner) : ForwardingKernels(inner) {}
  Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) const override;
  // Activations answered from memory, for the tests.
  std::int64_t hits() const;

 private:
  mutable std::mutex mutex_;
  mutable Matrix<float> input_, output_;
  mutable Activation activation_;
  mutable DType dtype_ = DType::fp32;
  mutable std::int64_t hits_ = 0;
};

}  // namespace ffn
