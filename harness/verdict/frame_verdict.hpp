#pragma once
// Judging rolled-out frames: the decoded videos of the two paths against each other
// (parity) and each against the fp64 reference's video, by PSNR and SSIM thresholds and, when
// asked for, a mean absolute difference limit; SSIM by the definition asked for.
#include <optional>
#include <string>

#include "harness/tp/precision.hpp"
#include "harness/verdict/rollout_videos.hpp"

namespace ffn {

struct FrameThresholds {
  double min_psnr_db = 0;  // every frame's PSNR must reach it
  double min_ssim = 0;     // every frame's SSIM must reach it
  std::optional<double> max_mad = std::nullopt;  // no frame's MAD may exceed it; none: information
};

// Documented defaults per precision (README, "Frames"): fp32 60 dB / 0.999, fp16 50 dB /
// 0.995, bf16 40 dB / 0.99, FP8 and INT8 30 dB / 0.95, NVFP4 25 dB / 0.90. They sit well
// below what correct code reaches (ffn-parity run --frames prints the margins) and far
// above what a broken path gives. Both SSIM definitions use them: on these frames they differ
// by less than the gap between a threshold and what correct code reaches. No MAD limit by
// default (the serving stack's CI sets its own per case).
FrameThresholds default_frame_thresholds(const Precision& precision);

struct FrameResult {
  RolloutConfig rollout;  // how the videos were made
  RolloutVideos videos;
  VideoScore parity, allgather_ref, sharded_ref;
  FrameThresholds thresholds;
  bool pass = false;
  std::string reason;
};

FrameResult judge_frames(RolloutVideos videos, const FrameThresholds& thresholds, SsimKind ssim = SsimKind::gaussian);

// What `run --frames` asks for.
struct FrameOptions {
  RolloutConfig rollout;
  std::optional<double> min_psnr_db, min_ssim;  // otherwise the precision's defaults
  std::optional<double> max_mad;                // otherwise none
  SsimKind ssim = SsimKind::gaussian;

  FrameThresholds thresholds_for(const Precision& precision) const;
};

}  // namespace ffn
