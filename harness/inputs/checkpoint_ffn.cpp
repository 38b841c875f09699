#include "harness/inputs/checkpoint_ffn.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/rounding.hpp"

namespace ffn {

namespace st = safetensors;

namespace {

std::string replace_layer(std::string s, int layer) {
  for (std::size_t at; (at = s.find("{N}")) != std::string::npos;) s.replace(at, 3, std::to_string(layer));
  return s;
}

std::string shape_text(const std::vector<std::int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// The module a weight belongs to: its name without ".weight"; its scales are named after it.
std::string module_of(const std::string& weight_name) {
  return weight_name.ends_with(".weight") ? weight_name.substr(0, weight_name.size() - 7) : weight_name;
}

[[noreturn]] void refuse(const std::string& msg) { throw std::invalid_argument(msg); }

// What the checkpoint holds near a name it lacks, so a refusal shows the layout it found.
std::string found_near(const st::Checkpoint& c, const std::string& wanted) {
  const std::vector<std::string> all = c.names();
  // The block's own tensors: those sharing the wanted name's first two components.
  const std::size_t dot1 = wanted.find('.'), dot2 = dot1 == std::string::npos ? dot1 : wanted.find('.', dot1 + 1);
  const std::string block = dot2 == std::string::npos ? wanted : wanted.substr(0, dot2 + 1);
  std::vector<std::string> near;
  for (const auto& n : all)
    if (n.find(block) != std::string::npos) near.push_back(n);
  const bool of_block = !near.empty();
  if (!of_block) near = all;
  const std::size_t shown = std::min<std::size_t>(near.size(), 10);
  std::string list = fmt::format("{}", fmt::join(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(shown), ", "));
  if (near.size() > shown) list += fmt::format(" (and {} more)", near.size() - shown);
  return fmt::format("{} {}: {}", of_block ? "tensors under" : "no tensor under", of_block ? block : block + "; it holds",
                     list);
}

const st::TensorInfo& require(const st::Checkpoint& c, const std::string& role, const std::string& name) {
  if (!c.contains(name))
    refuse(fmt::format("{}: no {} tensor '{}'; {}; --tensor-prefix or --tensor-map name other layouts", c.path(), role,
                       name, found_near(c, name)));
  return c.info(name);
}

Matrix<float> read_matrix(const st::Checkpoint& c, const std::string& role, const std::string& name,
                          std::int64_t rows, std::int64_t cols) {
  const st::TensorInfo& t = c.info(name);
  if (t.shape != std::vector<std::int64_t>{rows, cols})
    refuse(fmt::format("{}: {} '{}' has shape {}, expected [{}, {}]", c.path(), role, name, shape_text(t.shape), rows,
                       cols));
  Matrix<float> m(rows, cols);
  c.read_float(name, m.values());
  return m;
}

std::vector<float> read_vector(const st::Checkpoint& c, const std::string& role, const std::string& name,
                               std::int64_t n) {
  const st::TensorInfo& t = require(c, role, name);
  if (t.shape != std::vector<std::int64_t>{n})
    refuse(fmt::format("{}: {} '{}' has shape {}, expected [{}]", c.path(), role, name, shape_text(t.shape), n));
  return c.read_float(name);
}

bool is_float_dtype(st::Dtype d) {
  return d == st::Dtype::bf16 || d == st::Dtype::f16 || d == st::Dtype::f32 || d == st::Dtype::f64;
}

// The scale grid a stored weight_scale of this shape stands for on a [rows, cols] weight.
enum class ScaleGranularity { tensor, channel, block128, unknown };

ScaleGranularity granularity(const std::vector<std::int64_t>& s, std::int64_t rows, std::int64_t cols) {
  const auto is = [&](std::initializer_list<std::int64_t> v) { return s == std::vector<std::int64_t>(v); };
  if (s.empty() || is({1}) || is({1, 1})) return ScaleGranularity::tensor;
  if (is({rows}) || is({rows, 1})) return ScaleGranularity::channel;
  if (is({(rows + 127) / 128, (cols + 127) / 128})) return ScaleGranularity::block128;
  return ScaleGranularity::unknown;
}

struct StoredLinear {
  QuantizedLinear linear;
  Matrix<float> dequantized;
  std::string layout;
};

// A quantized Linear as stored: codes, weight_scale and (static schemes) input_scale.
StoredLinear stored_quantized(const st::Checkpoint& c, const std::string& role, const std::string& weight_name,
                              std::int64_t rows, std::int64_t cols, std::vector<CheckpointTensor>& used) {
  const std::string module = module_of(weight_name);
  const st::TensorInfo& w = c.info(weight_name);
  const std::string ws_name = module + ".weight_scale", is_name = module + ".input_scale";
  const bool has_ws = c.contains(ws_name), has_is = c.contains(is_name);
  const ScaleGranularity g = has_ws ? granularity(c.info(ws_name).shape, rows, cols) : ScaleGranularity::unknown;
  const bool static_input = has_is && c.info(is_name).shape.size() <= 1 && c.info(is_name).numel() == 1;

  QuantScheme scheme = QuantScheme::none;  // none: no scheme has this layout
  if (w.dtype == st::Dtype::f8_e4m3 && has_ws) {
    if (g == ScaleGranularity::tensor && static_input) scheme = QuantScheme::fp8_static;
    if (g == ScaleGranularity::tensor && !has_is) scheme = QuantScheme::fp8_dynamic_tensor;
    if (!has_is && g == ScaleGranularity::channel) scheme = QuantScheme::fp8_dynamic;
    if (!has_is && g == ScaleGranularity::block128) scheme = QuantScheme::fp8_block;
  }
  if (w.dtype == st::Dtype::i8 && has_ws && !has_is && g == ScaleGranularity::channel) scheme = QuantScheme::int8;
  std::string found = fmt::format("{} weight {}", st::dtype_name(w.dtype), shape_text(w.shape));
  found += has_ws ? fmt::format(", weight_scale {}", shape_text(c.info(ws_name).shape)) : ", no weight_scale";
  found += has_is ? fmt::format(", input_scale {}", shape_text(c.info(is_name).shape)) : ", no input_scale";
  if (scheme == QuantScheme::none)
    refuse(fmt::format("{}: {} '{}': {}: no quantization scheme of this harness has this layout (known: F8_E4M3 with "
                       "per-tensor weight_scale and input_scale = fp8-static, per-tensor weight_scale = "
                       "fp8-dynamic-tensor, per-channel [out] or [out, 1] = fp8-dynamic, [out/128, in/128] = fp8-block; "
                       "I8 with per-channel weight_scale = int8)",
                       c.path(), role, module, found));

  StoredLinear s;
  s.layout = found;
  QuantizedLinear& q = s.linear;
  q.scheme = scheme;
  QuantizedMatrix& m = q.weight;
  m.format = w.dtype == st::Dtype::i8 ? QuantFormat::int8 : QuantFormat::e4m3;
  m.values = read_matrix(c, role, weight_name, rows, cols);
  if (m.format == QuantFormat::int8)
    for (float& v : m.values.values())
      if (v == -128) refuse(fmt::format("{}: {} '{}' holds -128, outside the symmetric int8 grid", c.path(), role, weight_name));
  const st::TensorInfo& ws = c.info(ws_name);
  if (!is_float_dtype(ws.dtype))
    refuse(fmt::format("{}: '{}' is {}, not a float tensor", c.path(), ws_name, st::dtype_name(ws.dtype)));
  const std::vector<float> scales = c.read_float(ws_name);
  for (std::size_t i = 0; i < scales.size(); ++i)
    if (!(scales[i] > 0))
      refuse(fmt::format("{}: '{}' holds {} at flat index {}: scales must be positive", c.path(), ws_name, scales[i], i));
  switch (g) {
    case ScaleGranularity::tensor: m.block_rows = rows, m.block_cols = cols; m.scales = Matrix<float>(1, 1); break;
    case ScaleGranularity::channel: m.block_rows = 1, m.block_cols = cols; m.scales = Matrix<float>(rows, 1); break;
    case ScaleGranularity::block128:
      m.block_rows = 128, m.block_cols = 128;
      m.scales = Matrix<float>((rows + 127) / 128, (cols + 127) / 128);
      break;
    case ScaleGranularity::unknown: break;  // refused above
  }
  std::copy(scales.begin(), scales.end(), m.scales.data());
  used.push_back({role + "_scale", ws_name, c.file_of(ws_name).path(), ws.dtype, ws.shape});
  if (has_is) {
    const st::TensorInfo& is = c.info(is_name);
    if (!is_float_dtype(is.dtype))
      refuse(fmt::format("{}: '{}' is {}, not a float tensor", c.path(), is_name, st::dtype_name(is.dtype)));
    q.input_scale = c.read_float(is_name).front();
    if (!(q.input_scale > 0))
      refuse(fmt::format("{}: '{}' is {}: scales must be positive", c.path(), is_name, q.input_scale));
    used.push_back({role.substr(0, role.find('.')) + ".input_scale", is_name, c.file_of(is_name).path(), is.dtype, is.shape});
  }
  s.dequantized = dequantize<float>(m);
  return s;
}

}  // namespace

std::string_view stream_name(FfnStream s) { return s == FfnStream::audio ? "audio" : "video"; }

std::vector<std::pair<std::string, std::string>> FfnTensorNames::by_role() const {
  const bool fused = activation.gated && gate_weight.empty();
  std::vector<std::pair<std::string, std::string>> all = {
      {fused ? "gate_up.weight" : "proj_in.weight", proj_in_weight},
      {fused ? "gate_up.bias" : "proj_in.bias", proj_in_bias},
      {"gate.weight", gate_weight},
      {"gate.bias", gate_bias},
      {"up.weight", up_weight},
      {"up.bias", up_bias},
      {activation.gated ? "down.weight" : "proj_out.weight", proj_out_weight},
      {activation.gated ? "down.bias" : "proj_out.bias", proj_out_bias}};
  std::erase_if(all, [](const auto& e) { return e.second.empty(); });
  return all;
}

FfnTensorNames ltx2_ffn_names(int layer, FfnStream stream, const std::string& prefix) {
  const std::string p = prefix.empty()
                            ? fmt::format("transformer_blocks.{}.{}.", layer, stream == FfnStream::audio ? "audio_ff" : "ff")
                            : replace_layer(prefix, layer);
  return {p + "net.0.proj.weight", p + "net.0.proj.bias", p + "net.2.weight", p + "net.2.bias"};
}

void apply_name_map(FfnTensorNames& names, const std::vector<std::string>& entries, int layer) {
  for (const std::string& e : entries) {
    const auto eq = e.find('=');
    const std::string role = e.substr(0, eq);
    if (eq == std::string::npos || eq + 1 == e.size())
      throw std::invalid_argument(fmt::format("--tensor-map: '{}' is not ROLE=NAME", e));
    const std::string name = replace_layer(e.substr(eq + 1), layer);
    const std::pair<const char*, std::string*> roles[] = {
        {"proj_in.weight", &names.proj_in_weight},   {"proj_in.bias", &names.proj_in_bias},
        {"gate_up.weight", &names.proj_in_weight},   {"gate_up.bias", &names.proj_in_bias},
        {"proj_out.weight", &names.proj_out_weight}, {"proj_out.bias", &names.proj_out_bias},
        {"down.weight", &names.proj_out_weight},     {"down.bias", &names.proj_out_bias},
        {"gate.weight", &names.gate_weight},         {"gate.bias", &names.gate_bias},
        {"up.weight", &names.up_weight},             {"up.bias", &names.up_bias}};
    const auto it = std::ranges::find_if(roles, [&](const auto& r) { return role == r.first; });
    if (it == std::end(roles))
      throw std::invalid_argument(fmt::format(
          "--tensor-map: unknown role '{}' (roles: proj_in.weight, proj_in.bias, proj_out.weight, proj_out.bias, "
          "gate_up.weight, gate_up.bias, gate.weight, gate.bias, up.weight, up.bias, down.weight, down.bias)",
          role));
    *it->second = name;
    // A gate/up role names a gated MLP: SwiGLU unless the names came with another activation.
    if (role.starts_with("gate") || role.starts_with("up.")) {
      if (!names.activation.gated) names.activation = Activation{ActFn::silu, true};
    }
  }
  // Separate gate and up leave no fused proj_in.
  if (!names.gate_weight.empty()) names.proj_in_weight.clear(), names.proj_in_bias.clear();
}

FfnTensorNames model_ffn_names(const ModelFfn& m, int layer) {
  FfnTensorNames names;
  names.activation = m.activation;
  names.bias = m.bias;
  std::vector<std::string> entries(m.tensor_map.begin(), m.tensor_map.end());
  apply_name_map(names, entries, layer);
  return names;
}

FfnTensorNames with_checkpoint_prefix(const st::Checkpoint& c, const FfnTensorNames& names) {
  const std::string& anchor = names.gate_weight.empty() ? names.proj_in_weight : names.gate_weight;
  if (c.contains(anchor)) return names;
  std::vector<std::string> found;
  for (const std::string& n : c.names())
    if (n.ends_with("." + anchor)) found.push_back(n.substr(0, n.size() - anchor.size()));
  if (found.size() != 1) return names;
  const std::string& p = found.front();
  FfnTensorNames out = names;
  for (std::string* n : {&out.proj_in_weight, &out.proj_in_bias, &out.proj_out_weight, &out.proj_out_bias,
                         &out.gate_weight, &out.gate_bias, &out.up_weight, &out.up_bias})
    if (!n->empty()) *n = p + *n;
  return out;
}

CheckpointFfn load_checkpoint_ffn(const st::Checkpoint& c, const FfnTensorNames& requested) {
  const FfnTensorNames names = with_checkpoint_prefix(c, requested);
  const bool gated = names.activation.gated, separate = gated && !names.gate_weight.empty();
  if (gated && separate == !names.proj_in_weight.empty())
    refuse("tensor names: a gated MLP names either a fused gate_up weight or separate gate and up weights");
  if (separate && names.up_weight.empty()) refuse("tensor names: a gate weight without an up weight");
  // proj_in as stored: the fused tensor, or the gate (the up half must match it).
  const std::string in_role = separate ? "gate.weight" : gated ? "gate_up.weight" : "proj_in.weight";
  const std::string& in_name = separate ? names.gate_weight : names.proj_in_weight;
  const std::string out_role = gated ? "down.weight" : "proj_out.weight";
  const st::TensorInfo& w_in = require(c, in_role, in_name);
  if (separate) require(c, "up.weight", names.up_weight);
  const st::TensorInfo& w_out = require(c, out_role, names.proj_out_weight);
  if (w_in.shape.size() != 2 || w_in.shape[0] <= 0 || w_in.shape[1] <= 0)
    refuse(fmt::format("{}: {} '{}' has shape {}, expected [out, in]", c.path(), in_role, in_name, shape_text(w_in.shape)));
  const std::int64_t in_rows = w_in.shape[0] * (separate ? 2 : 1), dim = w_in.shape[1];
  if (gated && in_rows % 2 != 0)
    refuse(fmt::format("{}: {} '{}' has {} rows, which do not split into gate and up halves", c.path(), in_role, in_name,
                       in_rows));
  const std::int64_t inner = gated ? in_rows / 2 : in_rows;
  if (names.bias) {
    // Biases on both layers (and, separate, on gate and up): a missing one is refused by name.
    for (const auto& [role, name] : names.by_role())
      if (role.ends_with(".bias")) require(c, role, name);
    if (names.proj_out_bias.empty() || (separate ? names.gate_bias.empty() || names.up_bias.empty() : names.proj_in_bias.empty()))
      refuse("tensor names: an MLP with biases needs a bias name for every Linear (--tensor-map ROLE.bias=NAME)");
    // Some exporters store Linear weights as [in, out]: the bias then matches the other side.
    const std::vector<std::int64_t>& b_in_shape = c.info(separate ? names.gate_bias : names.proj_in_bias).shape;
    if (w_in.shape[0] != dim && b_in_shape == std::vector<std::int64_t>{dim})
      refuse(fmt::format("{}: {} '{}' is stored as [in, out] {} (its bias has {} elements): the harness "
                         "takes PyTorch's [out, in] layout",
                         c.path(), in_role, in_name, shape_text(w_in.shape), dim));
  }
  if (w_in.dtype != w_out.dtype)
    refuse(fmt::format("{}: {} is {} but {} is {}: mixed layouts are not known", c.path(), in_role,
                       st::dtype_name(w_in.dtype), out_role, st::dtype_name(w_out.dtype)));

  CheckpointFfn f;
  for (const auto& [role, name] : names.by_role()) {
    const st::TensorInfo& t = c.info(name);
    f.tensors.push_back({role, name, c.file_of(name).path(), t.dtype, t.shape});
  }
  FfnWeights& w = f.weights;
  w.activation = names.activation;
  switch (w_in.dtype) {
    case st::Dtype::bf16: f.dtype = DType::bf16; break;
    case st::Dtype::f16: f.dtype = DType::fp16; break;
    case st::Dtype::f32:
    case st::Dtype::f64: f.dtype = DType::fp32; break;
    case st::Dtype::f8_e4m3:
    case st::Dtype::i8: f.dtype = DType::bf16; break;  // quantized checkpoints run bf16 activations
    case st::Dtype::f8_e5m2:
    case st::Dtype::u8:
      refuse(fmt::format("{}: {} weights ('{}'): no quantization scheme of this harness stores its weights so "
                         "(known: BF16, F16, F32, F64, F8_E4M3 and I8 with scales)",
                         c.path(), st::dtype_name(w_in.dtype), in_name));
  }
  if (w_in.dtype == st::Dtype::f8_e4m3 || w_in.dtype == st::Dtype::i8) {
    if (separate)
      refuse(fmt::format("{}: '{}' and '{}' are quantized: a quantized gated checkpoint with separate gate and up "
                         "is not read yet (a fused gate_up one is)",
                         c.path(), names.gate_weight, names.up_weight));
    StoredLinear in = stored_quantized(c, "proj_in.weight", names.proj_in_weight, in_rows, dim, f.tensors);
    StoredLinear out = stored_quantized(c, "proj_out.weight", names.proj_out_weight, dim, inner, f.tensors);
    if (in.linear.scheme != out.linear.scheme)
      refuse(fmt::format("{}: proj_in ({}) and proj_out ({}) are quantized differently", c.path(), in.layout, out.layout));
    f.scheme = in.linear.scheme;
    f.layout = fmt::format("{} ({})", precision_of(f.dtype, f.scheme).name, in.layout);
    w.w_in = std::move(in.dequantized);
    w.w_out = std::move(out.dequantized);
    w.quant = QuantizedFfn{std::move(in.linear), std::move(out.linear)};
  } else if (separate) {
    // The fused [gate; up] the paths take: gate rows first, as the merged layer stacks them.
    const Matrix<float> gate = read_matrix(c, "gate.weight", names.gate_weight, inner, dim);
    const Matrix<float> up = read_matrix(c, "up.weight", names.up_weight, inner, dim);
    if (c.info(names.up_weight).dtype != w_in.dtype)
      refuse(fmt::format("{}: gate.weight is {} but up.weight is {}: mixed layouts are not known", c.path(),
                         st::dtype_name(w_in.dtype), st::dtype_name(c.info(names.up_weight).dtype)));
    w.w_in = Matrix<float>(in_rows, dim);
    std::copy(gate.values().begin(), gate.values().end(), w.w_in.data());
    std::copy(up.values().begin(), up.values().end(), w.w_in.data() + gate.size());
    w.w_out = read_matrix(c, out_role, names.proj_out_weight, dim, inner);
    f.layout = fmt::format("{} weights, separate gate and up", st::dtype_name(w_in.dtype));
  } else {
    w.w_in = read_matrix(c, in_role, names.proj_in_weight, in_rows, dim);
    w.w_out = read_matrix(c, out_role, names.proj_out_weight, dim, inner);
    f.layout = fmt::format("{} weights{}", st::dtype_name(w_in.dtype), gated ? ", fused gate_up" : "");
  }
  if (names.bias) {
    if (separate) {
      w.b_in = read_vector(c, "gate.bias", names.gate_bias, inner);
      const std::vector<float> up = read_vector(c, "up.bias", names.up_bias, inner);
      w.b_in.insert(w.b_in.end(), up.begin(), up.end());
    } else {
      w.b_in = read_vector(c, gated ? "gate_up.bias" : "proj_in.bias", names.proj_in_bias, in_rows);
    }
    w.b_out = read_vector(c, gated ? "down.bias" : "proj_out.bias", names.proj_out_bias, dim);
  }
  return f;
}

std::vector<Precision> checkpoint_precisions(const CheckpointFfn& f) {
  if (f.scheme != QuantScheme::none) return {precision_of(f.dtype, f.scheme)};
  if (f.dtype == DType::fp32) return {Precision(DType::fp32)};
  return {Precision(f.dtype), Precision(DType::fp32)};
}

}  // namespace ffn
