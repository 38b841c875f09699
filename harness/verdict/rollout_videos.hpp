#pragma once
// What a frames verdict judges: the three videos of a rollout (harness/run/rollout.hpp) and
// the settings that made them, which goldens and reports record beside the scores.
#include "metrics/frames.hpp"

namespace ffn {

struct RolloutConfig {
  int layers = 8;   // 48 in LTX-2
  int frames = 4, height = 8, width = 12;  // latent grid: tokens = frames * height * width
  int patch = 16;   // pixels per token side
};

// The frame rate stored with rolled-out frames (LTX-2 generates at 24 fps).
inline constexpr double k_rollout_fps = 24.0;

struct RolloutVideos {
  Video allgather, sharded, reference;
};

}  // namespace ffn
