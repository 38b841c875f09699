#include "kernels/activation.hpp"

namespace ffn {

namespace {
constexpr ActFn k_fns[] = {ActFn::gelu_tanh, ActFn::gelu, ActFn::silu};
}

std::string_view act_fn_name(ActFn f) {
  switch (f) {
    case ActFn::gelu_tanh: return "gelu-tanh";
    case ActFn::gelu: return "gelu";
    case ActFn::silu: return "silu";
  }
  return "?";
}

std::optional<ActFn> parse_act_fn(std::string_view name) {
  for (ActFn f : k_fns)
    if (act_fn_name(f) == name) return f;
  return std::nullopt;
}

std::string activation_name(const Activation& a) {
  if (!a.gated) return std::string(act_fn_name(a.fn));
  switch (a.fn) {
    case ActFn::silu: return "swiglu";
    case ActFn::gelu: return "geglu";
    case ActFn::gelu_tanh: return "geglu-tanh";
  }
  return "?";
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (bool gated : {false, true})
      for (ActFn f : k_fns) n.push_back(activation_name({f, gated}));
    return n;
  }();
  return names;
}

std::optional<Activation> parse_activation(std::string_view name) {
  for (bool gated : {false, true})
    for (ActFn f : k_fns)
      if (activation_name({f, gated}) == name) return Activation{f, gated};
  return std::nullopt;
}

std::string_view act_rounding_name(ActRounding r) { return r == ActRounding::fused ? "fused" : "native"; }

std::optional<ActRounding> parse_act_rounding(std::string_view name) {
  for (ActRounding r : {ActRounding::fused, ActRounding::native})
    if (act_rounding_name(r) == name) return r;
  return std::nullopt;
}

}  // namespace ffn
