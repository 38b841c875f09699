#pragma once
// The safetensors tensors of one FFN block as an LTX-2 checkpoint names them: unquantized
// weights in a float dtype, or a quantized checkpoint's codes with their weight_scale (and, for
// static schemes, input_scale) stored next to them.
#include <string>
#include <vector>

#include "harness/inputs/synthetic_inputs.hpp"
#include "tests/safetensors_writer.hpp"

namespace ffn::test {

// `prefix` e.g. "transformer_blocks.3.ff."; `dtype` the weights' dtype when unquantized, and
// the biases' dtype always.
inline std::vector<StTensor> ffn_block_tensors(const FfnWeights& w, const std::string& prefix,
                                               const std::string& dtype = "BF16") {
  std::vector<StTensor> t;
  const auto linear = [&](const std::string& module, const Matrix<float>& master, const std::vector<float>& bias,
                          const QuantizedLinear* q) {
    if (!q) {
      t.push_back(st_matrix(module + ".weight", dtype, master));
    } else {
      const QuantizedMatrix& m = q->weight;
      t.push_back(st_matrix(module + ".weight", m.format == QuantFormat::int8 ? "I8" : "F8_E4M3", m.values));
      // Per-tensor scales as 0-d tensors (static) or [1] (dynamic): both spellings occur.
      std::vector<std::int64_t> shape{m.scales.rows(), m.scales.cols()};
      if (m.scales.size() == 1) shape = q->input_scale > 0 ? std::vector<std::int64_t>{} : std::vector<std::int64_t>{1};
      t.push_back(st_tensor(module + ".weight_scale", "F32", shape, m.scales.values()));
      if (q->input_scale > 0) t.push_back(st_tensor(module + ".input_scale", "F32", {}, std::vector<float>{q->input_scale}));
    }
    t.push_back(st_vector(module + ".bias", q ? "BF16" : dtype, bias));
  };
  linear(prefix + "net.0.proj", w.w_in, w.b_in, w.quant ? &w.quant->proj_in : nullptr);
  linear(prefix + "net.2", w.w_out, w.b_out, w.quant ? &w.quant->proj_out : nullptr);
  return t;
}

inline InputConfig tiny_config(QuantScheme scheme = QuantScheme::none, const std::string& shape = "tiny") {
  InputConfig c;
  c.shape = *find_shape(shape);
  c.tokens = 4;
  c.seed = 7;
  c.dtype = DType::bf16;
  c.scheme = scheme;
  return c;
}

}  // namespace ffn::test
