#pragma once
// Rolling both FFN paths out to decoded video frames: how far does the FFN change alone move
// the pictures a user sees?
//
// A DiT-like residual stack x <- x + FFN_l(rmsnorm(x)) over L layers with distinct weights,
// run with each path (allgather, sharded) and with the fp64 reference, on a latent grid of
// F x H x W tokens whose hidden vectors hold smooth spatial fields with edges. A fixed decoder
// maps each token to a P x P RGB patch (a smooth linear projection, unpatchify, a logistic
// squash to [0, 255], rounding to uint8), so frames are F pictures of (H P) x (W P) pixels.
#include "harness/case/sweep.hpp"
#include "harness/verdict/rollout_videos.hpp"
#include "metrics/frames.hpp"

namespace ffn {

// Runs `config` (its shape, precision, tp and AllReduce model; its token count is replaced by
// the grid's) through the stack. Throws std::invalid_argument for a bad rollout config.
RolloutVideos rollout(const CaseConfig& config, const RolloutConfig& rollout);

// About the most memory a rollout of `shape` holds at once (bytes): the hidden states of the
// three paths, one layer's intermediates and weights, the decoder's pixels and the three videos.
// For refusing settings that cannot fit before any work starts.
double rollout_peak_bytes(const FfnShape& shape, const RolloutConfig& rollout);

// The latent grid's initial hidden states [tokens, dim] on the grid of `dtype`.
Matrix<double> rollout_latents(const CaseConfig& config, const RolloutConfig& rollout);

// The decoder, in fp64, from hidden states [tokens, dim] to frames.
Video decode_frames(const Matrix<double>& hidden, const CaseConfig& config, const RolloutConfig& rollout);

}  // namespace ffn
