#pragma once
// Counter-based random numbers: every value is a pure function of (seed, tensor name,
// element index). A tensor is therefore the same for every tp, path and backend, and a
// shard can be regenerated on its own; nothing depends on generation order.
#include <cstdint>
#include <span>
#include <string_view>

namespace ffn {

class CounterRng {
 public:
  CounterRng(std::uint64_t seed, std::string_view tensor_name);

  std::uint64_t bits(std::uint64_t index) const;
  // Uniform on [0, 1) with 53 random bits.
  double uniform(std::uint64_t index) const;
  // uniform(first), uniform(first + 1), ... into `out`: the same values, in a loop the compiler
  // vectorizes (the weights of the LTX-2 FFN are 134 M draws per input set).
  void uniform(std::uint64_t first, std::span<double> out) const;
  // (2 uniform(i) - 1) * bound, in fp64 in that order, for i = first, first + 1, ...: U(-bound,
  // bound) as nn.Linear's initialisation draws it, in the same loop as the draws.
  void uniform_symmetric(std::uint64_t first, double bound, std::span<double> out) const;
  // Standard normal (Box-Muller on two independent uniforms of the same index).
  double normal(std::uint64_t index) const;

 private:
  std::uint64_t key_;
};

}  // namespace ffn
