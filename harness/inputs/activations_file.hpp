#pragma once
// Activations captured from the running model (harness/inputs/capture_ffn_activations.py writes
// them), one HDF5 file:
//
//   /                          @format = "ffn-parity-activations", @format_version = 1
//   /<stream>/block_<N>/x      float32 [tokens, dim]  the FFN input of block N (stream video or
//                                                     audio), every batch row's tokens in order
//   /<stream>/block_<N>/y      float32 [tokens, dim]  optional: the FFN output the model produced
//   group attributes           @module (the PyTorch module name), @dtype (the torch dtype the
//                              tensors had, e.g. "bfloat16"), @call (which forward call of the
//                              module was captured, from 0)
//
// bf16 and fp16 values are stored exactly in float32. Any float dataset type is read.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "harness/inputs/checkpoint_ffn.hpp"

namespace ffn {

inline constexpr const char* k_activations_format = "ffn-parity-activations";
inline constexpr std::int64_t k_activations_format_version = 1;

class ActivationsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CapturedActivations {
  std::string group;  // "/video/block_3"
  Matrix<float> x;
  std::optional<Matrix<float>> y;
};

std::string activations_group(int layer, FfnStream stream);

// Reads block `layer` of `stream`: x (and y when present) must be finite [tokens, dim];
// `tokens` > 0 keeps the first `tokens` rows (more than were captured is refused). Throws
// ActivationsError, one line naming the file, the object and the reason.
CapturedActivations read_activations(const std::string& path, int layer, FfnStream stream, std::int64_t dim,
                                     std::int64_t tokens = 0);

// Writes one block's capture in the layout above (for tests and tools; the capture script
// writes the same with h5py). Creates the file, or adds the block to an existing one.
void write_activations(const std::string& path, int layer, FfnStream stream, const Matrix<float>& x,
                       const Matrix<float>* y, const std::string& dtype = "bfloat16");

}  // namespace ffn
