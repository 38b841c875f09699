#include "harness/inputs/real_inputs.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "harness/inputs/activations_file.hpp"
#include "harness/inputs/sha256.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

RealInputs load_real_inputs(RealInputSpec spec) {
  RealInputs r;
  std::error_code ec;
  const auto absolute = [&](const std::string& p) {
    const std::filesystem::path a = std::filesystem::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
  };
  spec.weights = absolute(spec.weights);
  if (!spec.activations.empty()) spec.activations = absolute(spec.activations);
  if (spec.layer < 0) throw RealInputError(fmt::format("--layer: {} is not a block index", spec.layer));
  try {
    r.checkpoint = std::make_shared<const safetensors::Checkpoint>(safetensors::Checkpoint::open(spec.weights));
    r.ffn = load_checkpoint_ffn(*r.checkpoint, spec.names);
  } catch (const safetensors::SafetensorsError& e) {
    throw RealInputError(e.what());
  } catch (const std::invalid_argument& e) {
    throw RealInputError(e.what());
  }
  r.shape = {spec.model.empty() ? fmt::format("b{}-{}", spec.layer, stream_name(spec.stream))
                                : fmt::format("{}-b{}", spec.model, spec.layer),
             r.ffn.weights.dim(), r.ffn.weights.inner(),
             spec.tokens, !r.ffn.weights.b_in.empty(), r.ffn.weights.activation};
  if (!spec.activations.empty()) {
    try {
      CapturedActivations c = read_activations(spec.activations, spec.layer, spec.stream, r.shape.dim, spec.tokens);
      r.activations_group = c.group;
      r.x = std::move(c.x);
      r.y = std::move(c.y);
    } catch (const ActivationsError& e) {
      throw RealInputError(e.what());
    }
    spec.tokens = r.x->rows();
    r.shape.default_tokens = spec.tokens;
  } else if (spec.tokens <= 0) {
    throw RealInputError(fmt::format("--tokens: must be positive, got {}", spec.tokens));
  }
  r.spec = std::move(spec);
  return r;
}

FfnInputs real_case_inputs(const RealInputs& r, DType dtype) {
  FfnInputs in;
  if (r.x) {
    // A capture holds the values the model computed with; running them on a coarser grid would
    // round them a second time, which the real stack never did.
    for (std::size_t i = 0; i < r.x->size(); ++i)
      if (!is_representable(dtype, r.x->data()[i]))
        throw RealInputError(fmt::format("{}: {}/x: value {} at flat index {} is not on the {} grid; capture in the "
                                         "precision you run, or run a finer --precision",
                                         r.spec.activations, r.activations_group, r.x->data()[i], i, dtype_name(dtype)));
    in.x = *r.x;
  } else {
    InputConfig c;
    c.shape = r.shape;
    c.tokens = r.spec.tokens;
    c.seed = r.spec.seed;
    c.dtype = dtype;
    in.x = make_x(c);
  }
  in.weights = r.ffn.weights;
  in.captured_y = r.y;
  return in;
}

std::map<std::string, std::string> stored_digests(const RealInputs& r) {
  std::map<std::string, std::string> d;
  for (const CheckpointTensor& t : r.ffn.tensors) {
    const std::span<const std::byte> b = r.checkpoint->file_of(t.name).bytes(t.name);
    d[t.role] = sha256_hex({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
  }
  return d;
}

}  // namespace ffn
