#pragma once
// Real inputs of a case: the FFN weights of one block of a safetensors checkpoint, and either
// activations captured from the running model (with the output it produced, when captured) or
// x drawn by the generator. Goldens record where they came from (paths, tensor names, SHA-256
// digests) instead of copying them.
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "harness/inputs/checkpoint_ffn.hpp"
#include "harness/inputs/synthetic_inputs.hpp"

namespace ffn {

class RealInputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RealInputSpec {
  std::string weights;  // --weights: a .safetensors file, an index, or a directory
  int layer = 0;
  FfnStream stream = FfnStream::video;
  FfnTensorNames names;
  std::string model;  // the catalog model the names are of; empty: LTX-2's names (with `stream`)
  std::string activations;  // --activations FILE.h5; empty: x drawn by the generator
  std::int64_t tokens = 0;  // rows of x; 0 with activations: every captured token
  std::uint64_t seed = 0;   // of the generated x
};

struct RealInputs {
  RealInputSpec spec;  // with absolute paths
  std::shared_ptr<const safetensors::Checkpoint> checkpoint;
  CheckpointFfn ffn;
  FfnShape shape;  // "b<layer>-<stream>" (or "<model>-b<layer>"), dims from the tensors
  std::optional<Matrix<float>> x, y;  // captured (y only when the capture holds it)
  std::string activations_group;
};

// Throws RealInputError (one line naming the file and the reason) for anything it cannot use.
RealInputs load_real_inputs(RealInputSpec spec);

// The inputs of a case run in `dtype`: the checkpoint's weights, the captured x (which must lie
// on the dtype's grid) or a generated one, and the captured y. Throws RealInputError.
FfnInputs real_case_inputs(const RealInputs& real, DType dtype);

// SHA-256 (hex) of every checkpoint tensor the FFN was read from, over its bytes as stored in
// the file, by role ("proj_in.weight", ..., "proj_in.weight_scale").
std::map<std::string, std::string> stored_digests(const RealInputs& real);

}  // namespace ffn
