#pragma once
// Puts an injected fault (fault.hpp) into the path under test: the inputs and weights as the
// faulty loader hands them over, the faulty collectives, the faulty GELU kernel. The
// reference and the error budgets stay those of the correct implementation, so a case
// judged FAIL has detected the fault.
#include <memory>
#include <optional>

#include "harness/communicator.hpp"
#include "harness/fault.hpp"
#include "harness/inputs.hpp"

namespace ffn {

// GELU with the exact erf form, 0.5 x (1 + erf(x / sqrt 2)), in fp32, rounded once to `out`:
// the kernel of the gelu_exact fault.
void gelu_erf_inplace(Matrix<float>& m, DType out);

// What the faulted path computes from: the case's inputs as the faulty loader or scheduler
// hands them over, and its communicator. Holds the originals by reference where the fault
// leaves them alone.
class FaultedInputs {
 public:
  FaultedInputs(Fault fault, const FfnInputs& inputs, Communicator& comm);

  const Matrix<float>& x(FaultedPath p) const { return p == path_ && x_ ? *x_ : inputs_.x; }
  const FfnWeights& weights(FaultedPath p) const { return p == path_ && weights_ ? *weights_ : inputs_.weights; }
  Communicator& comm(FaultedPath p) const { return p == path_ && comm_ ? *comm_ : base_comm_; }

 private:
  FaultedPath path_;
  const FfnInputs& inputs_;
  Communicator& base_comm_;
  std::optional<Matrix<float>> x_;
  std::optional<FfnWeights> weights_;
  std::unique_ptr<Communicator> comm_;
};

}  // namespace ffn
