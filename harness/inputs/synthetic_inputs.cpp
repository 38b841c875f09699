#include "harness/inputs/synthetic_inputs.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <stdexcept>

#include "harness/inputs/counter_rng.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/linear.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

namespace {
// PyTorch's nn.Linear initialisation for weight and bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void linear_init(std::span<float> out, std::uint64_t seed, const char* name, std::int64_t fan_in,
                 DType dtype) {
  const CounterRng rng(seed, name);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  // Every element is a pure function of its index, so any schedule gives the same tensor.
  constexpr std::size_t k_chunk = 2048;
  const std::size_t chunks = (out.size() + k_chunk - 1) / k_chunk;
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < chunks; ++c) {
    std::array<double, k_chunk> values;
    const std::size_t begin = c * k_chunk, n = std::min(k_chunk, out.size() - begin);
    const std::span<double> v(values.data(), n);
    rng.uniform_symmetric(begin, bound, v);
    round_to(dtype, v, out.subspan(begin, n));
  }
}
}  // namespace

std::vector<float> linear_init_values(std::int64_t n, std::int64_t fan_in, std::uint64_t seed, const std::string& name,
                                      DType dtype) {
  std::vector<float> v(static_cast<std::size_t>(n));
  linear_init(v, seed, name.c_str(), fan_in, dtype);
  return v;
}

std::vector<std::int64_t> outlier_channels(const InputConfig& c) {
  if (c.outlier_channels < 0 || c.outlier_channels > c.shape.dim)
    throw std::invalid_argument("outlier channels must be between 0 and the hidden size");
  const CounterRng rng(c.seed, "x.outlier_channels");
  std::set<std::int64_t> chosen;
  for (std::uint64_t i = 0; static_cast<int>(chosen.size()) < c.outlier_channels; ++i)
    chosen.insert(static_cast<std::int64_t>(rng.bits(i) % static_cast<std::uint64_t>(c.shape.dim)));
  return {chosen.begin(), chosen.end()};
}

namespace {
Matrix<float> activations(const InputConfig& c, const char* name, std::int64_t tokens) {
  const std::int64_t dim = c.shape.dim;
  const CounterRng rng(c.seed, name);
  const auto outliers = outlier_channels(c);
  Matrix<float> x(tokens, dim);
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t j = 0; j < dim; ++j) {
      double v = rng.normal(static_cast<std::uint64_t>(t * dim + j));
      if (std::binary_search(outliers.begin(), outliers.end(), j)) v *= c.outlier_scale;
      x(t, j) = static_cast<float>(round_to(c.dtype, v));
    }
  return x;
}

float amax_of(std::span<const double> v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::fabs(e));
  return static_cast<float>(m);
}
}  // namespace

void quantize_checkpoint(FfnWeights& w, const InputConfig& c) {
  // Calibration: amax of each layer's input on a batch the cases never run, through the
  // quantized proj_in weight, in fp64.
  const Matrix<float> calibration = activations(c, "calibration.x", k_calibration_tokens);
  QuantizedFfn q;
  // A gated proj_in is the fused [gate; up]: each half quantized as its own logical weight.
  q.proj_in = quantize_linear(w.w_in, c.scheme, amax_of(convert<double>(calibration).values()),
                              w.activation.gated ? w.inner() : 0);
  const Matrix<double> h = cpu::linear(convert<double>(calibration), dequantize<double>(q.proj_in.weight),
                                       std::vector<double>(w.b_in.begin(), w.b_in.end()));
  q.proj_out = quantize_linear(w.w_out, c.scheme, amax_of(cpu::activation(h, w.activation).values()));
  w.quant = std::move(q);
}

FfnWeights weights_to_fill(const FfnShape& shape) {
  FfnWeights w;
  w.activation = shape.activation;
  w.w_in = Matrix<float>(shape.proj_in_rows(), shape.dim, Unfilled{});
  w.w_out = Matrix<float>(shape.dim, shape.inner, Unfilled{});
  // An MLP without bias has none on any rank (empty: the layers add nothing).
  if (shape.bias) {
    w.b_in.resize(static_cast<std::size_t>(shape.proj_in_rows()));
    w.b_out.resize(static_cast<std::size_t>(shape.dim));
  }
  return w;
}

FfnWeights make_weights(const InputConfig& c, const std::string& prefix) {
  const std::int64_t dim = c.shape.dim, inner = c.shape.inner;
  // Gated: proj_in is the fused [gate; up] tensor, drawn as one (its rows are independent).
  FfnWeights w = weights_to_fill(c.shape);
  // A quantized checkpoint is made from fp32 master weights.
  const DType weight_grid = c.scheme == QuantScheme::none ? c.dtype : DType::fp32;
  linear_init(w.w_in.values(), c.seed, (prefix + "proj_in.weight").c_str(), dim, weight_grid);
  linear_init(w.b_in, c.seed, (prefix + "proj_in.bias").c_str(), dim, c.dtype);
  linear_init(w.w_out.values(), c.seed, (prefix + "proj_out.weight").c_str(), inner, weight_grid);
  linear_init(w.b_out, c.seed, (prefix + "proj_out.bias").c_str(), inner, c.dtype);
  if (c.scheme != QuantScheme::none) quantize_checkpoint(w, c);
  return w;
}

Matrix<float> make_x(const InputConfig& c) {
  if (c.tokens <= 0) throw std::invalid_argument("tokens must be positive");
  return activations(c, "x", c.tokens);
}

namespace {
template <class Inputs, class T>
std::vector<std::pair<std::string, std::span<T>>> named_tensors_of(Inputs& in) {
  std::vector<std::pair<std::string, std::span<T>>> t = {{"x", in.x.values()},
                                                        {"proj_in.weight", in.weights.w_in.values()},
                                                        {"proj_in.bias", in.weights.b_in},
                                                        {"proj_out.weight", in.weights.w_out.values()},
                                                        {"proj_out.bias", in.weights.b_out}};
  std::erase_if(t, [](const auto& named) { return named.first.ends_with(".bias") && named.second.empty(); });
  return t;
}
}  // namespace

std::vector<std::pair<std::string, std::span<const float>>> named_tensors(const FfnInputs& in) {
  return named_tensors_of<const FfnInputs, const float>(in);
}
std::vector<std::pair<std::string, std::span<float>>> named_tensors(FfnInputs& in) {
  return named_tensors_of<FfnInputs, float>(in);
}

FfnInputs make_inputs(const InputConfig& c) {
  FfnInputs in;
  in.x = make_x(c);
  in.weights = make_weights(c);
  return in;
}

}  // namespace ffn
