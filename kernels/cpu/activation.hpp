#pragma once
// The MLP activations (kernels/activation.hpp) on the CPU: the reference kernels. Each
// function f is evaluated in fp32 (what the stack's kernels do) or in fp64 (the reference):
//   gelu-tanh  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   PyTorch GELU(approximate="tanh")
//   gelu       0.5 x (1 + erf(x / sqrt 2))                        PyTorch GELU(approximate="none")
//   silu       x / (1 + exp(-x))                                  PyTorch SiLU
#include <span>

#include "kernels/activation.hpp"
#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cpu {

float act(ActFn f, float x);    // fp32 arithmetic throughout
double act(ActFn f, double x);  // the fp64 reference

// out[i] = act(f, in[i]) in fp32 (float out) or fp64 (double out), the same bits as the calls,
// by table lookup for the x that lie on the 16-bit grid `grid` (bf16 or fp16; other grids call
// act). Every input of a bf16 or fp16 activation is such a value (proj_in's rounded output):
// one lookup instead of a tanh, erf or exp per element.
void act(ActFn f, std::span<const float> in, std::span<float> out, DType grid);
void act(ActFn f, std::span<const float> in, std::span<double> out, DType grid);

// The activation of hidden states h: [tokens, n] ungated, or [tokens, 2m] = [gate | up] gated
// (a rank's merged shard or the full tensors side by side), giving [tokens, m]. fp32 math on the
// stored values, rounded to `out` where `a.rounding` says (kernels/activation.hpp).
Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out);
// The fp64 reference: no rounding.
Matrix<double> activation(const Matrix<double>& h, const Activation& a);

// GELU-tanh by name, for the tests and the bench that study it on its own.
inline float gelu_tanh(float x) { return act(ActFn::gelu_tanh, x); }
inline double gelu_tanh(double x) { return act(ActFn::gelu_tanh, x); }

}  // namespace ffn::cpu
