#include "harness/inputs/counter_rng.hpp"

#include <cmath>
#include <numbers>

namespace ffn {

namespace {
// SplitMix64's finalizer: a bijection on 64 bits with full avalanche.
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

constexpr std::uint64_t k_golden = 0x9E3779B97F4A7C15ULL;
}  // namespace

CounterRng::CounterRng(std::uint64_t seed, std::string_view tensor_name)
    : key_(mix64(seed + k_golden) ^ mix64(fnv1a(tensor_name))) {}

std::uint64_t CounterRng::bits(std::uint64_t index) const {
  return mix64(key_ + mix64(index * k_golden + 1));
}

double CounterRng::uniform(std::uint64_t index) const {
  return static_cast<double>(bits(index) >> 11) * 0x1.0p-53;
}

namespace {
// AVX-512 has the 64-bit multiplies mix64 needs in vector form; integer arithmetic and exact
// conversions and scalings, so every clone gives the same bits. The counter's product steps by
// k_golden (wrapping, as the product does) instead of a multiply per element. With `bound`,
// each value goes on to (2 u - 1) bound in the same loop. (A free function: clang 14 does not
// clone member functions.)
template <bool symmetric>
[[gnu::always_inline]] inline void uniform_loop(std::uint64_t key, std::uint64_t first, double bound, std::span<double> out) {
  std::uint64_t counter = first * k_golden + 1;
  for (std::size_t i = 0; i < out.size(); ++i, counter += k_golden) {
    const double u = static_cast<double>(mix64(key + mix64(counter)) >> 11) * 0x1.0p-53;
    out[i] = symmetric ? (2.0 * u - 1.0) * bound : u;
  }
}
[[gnu::target_clones("arch=x86-64-v4", "default")]] void uniform_block(std::uint64_t key, std::uint64_t first,
                                                                       std::span<double> out) {
  uniform_loop<false>(key, first, 0.0, out);
}
[[gnu::target_clones("arch=x86-64-v4", "default")]] void symmetric_block(std::uint64_t key, std::uint64_t first,
                                                                         double bound, std::span<double> out) {
  uniform_loop<true>(key, first, bound, out);
}
}  // namespace

void CounterRng::uniform(std::uint64_t first, std::span<double> out) const { uniform_block(key_, first, out); }

void CounterRng::uniform_symmetric(std::uint64_t first, double bound, std::span<double> out) const {
  symmetric_block(key_, first, bound, out);
}

double CounterRng::normal(std::uint64_t index) const {
  // Two streams of the same counter: u1 in (0, 1] so the log is finite.
  const double u1 = (static_cast<double>(bits(index) >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(mix64(bits(index) ^ k_golden) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace ffn
