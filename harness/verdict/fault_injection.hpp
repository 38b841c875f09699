#pragma once
// Puts an injected fault (fault.hpp) into the path under test: the inputs and weights as the
// faulty loader hands them over, the faulty collectives, the faulty GELU kernel. The
// reference and the error budgets stay those of the correct implementation, so a case
// judged FAIL has detected the fault.
#include <memory>
#include <optional>

#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/tp/communicator.hpp"
#include "harness/verdict/fault.hpp"
#include "kernels/kernels.hpp"

namespace ffn {

// What the faulted path computes from: the case's inputs as the faulty loader or scheduler
// hands them over, and its communicator. Holds the originals by reference where the fault
// leaves them alone.
class FaultedInputs {
 public:
  // `reduction`: the case's AllReduce model, which a faulty reduction imitates.
  FaultedInputs(Fault fault, const FfnInputs& inputs, Communicator& comm, const AllReduceConfig& reduction);

  const Matrix<float>& x(FaultedPath p) const { return p == path_ && x_ ? *x_ : inputs_.x; }
  const FfnWeights& weights(FaultedPath p) const { return p == path_ && weights_ ? *weights_ : inputs_.weights; }
  Communicator& comm(FaultedPath p) const { return p == path_ && comm_ ? *comm_ : base_comm_; }
  // The departures of the sharded path the fault puts in the path itself (a bias on every
  // rank, another activation, gate/up mix-ups, a stray bias); none for every other fault.
  const ShardedPathVariant& variant() const { return variant_; }
  // The kernels the path computes with: `base`, or the faulty ones.
  const Kernels& kernels(FaultedPath p, const Kernels& base) const;

 private:
  FaultedPath path_;
  const FfnInputs& inputs_;
  Communicator& base_comm_;
  std::optional<Matrix<float>> x_;
  std::optional<FfnWeights> weights_;
  std::unique_ptr<Communicator> comm_;
  std::vector<float> stray_bias_;
  ShardedPathVariant variant_;
  Fault fault_;
  mutable std::unique_ptr<Kernels> kernels_;  // made on first use, around the caller's base kernels
};

}  // namespace ffn
