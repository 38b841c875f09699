#pragma once
// The activation between an MLP's two linears, and where its roundings are (DESIGN section 8):
//   ungated  a = f(h)                    f one of gelu-tanh, gelu (erf), silu
//   gated    a = f(gate) * up            h = [gate | up], the merged linear's two halves:
//                                        swiglu = silu, geglu = gelu (erf), geglu-tanh = gelu-tanh
// Rounding points of a low-precision run:
//   fused    fp32 math on the stored inputs, one rounding of the result: the stack's fused CUDA
//            kernels (FlashInfer include/flashinfer/activation.cuh, act_and_mul_kernel: both
//            halves cast to float, Activation(x) * y in float, one cast to the output dtype;
//            PyTorch's F.gelu/F.silu on a bf16 tensor compute in float and round once).
//   native   the PyTorch-native fallback (SiluAndMul.forward_native: F.silu(x[..., :d]) * x[..., d:]):
//            f's output rounded to the dtype, then the product of two dtype values rounded.
//            Same as fused for an ungated MLP.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ffn {

enum class ActFn { gelu_tanh, gelu, silu };

enum class ActRounding { fused, native };

struct Activation {
  ActFn fn = ActFn::gelu_tanh;
  bool gated = false;
  ActRounding rounding = ActRounding::fused;

  bool operator==(const Activation&) const = default;
};

// "gelu-tanh", "gelu", "silu"
std::string_view act_fn_name(ActFn f);
std::optional<ActFn> parse_act_fn(std::string_view name);
// The MLP's activation by its usual name: the function's name when ungated; gated: "swiglu",
// "geglu" (erf), "geglu-tanh". The rounding is not part of the name.
std::string activation_name(const Activation& a);
// Accepts every name activation_name gives; nullopt otherwise.
std::optional<Activation> parse_activation(std::string_view name);
// Every name parse_activation accepts, for --help and error messages.
const std::vector<std::string>& activation_names();

std::string_view act_rounding_name(ActRounding r);  // "fused", "native"
std::optional<ActRounding> parse_act_rounding(std::string_view name);

}  // namespace ffn
