#include "harness/verdict/frame_verdict.hpp"

#include <fmt/format.h>

namespace ffn {

FrameThresholds default_frame_thresholds(const Precision& p) {
  switch (p.scheme) {
    case QuantScheme::none: break;
    case QuantScheme::nvfp4: return {25.0, 0.90};
    default: return {30.0, 0.95};  // FP8 and INT8: a 3-bit mantissa or 8-bit grid
  }
  switch (p.activation) {
    case DType::fp32: return {60.0, 0.999};
    case DType::fp16: return {50.0, 0.995};
    default: return {40.0, 0.99};
  }
}

FrameThresholds FrameOptions::thresholds_for(const Precision& precision) const {
  FrameThresholds t = default_frame_thresholds(precision);
  if (min_psnr_db) t.min_psnr_db = *min_psnr_db;
  if (min_ssim) t.min_ssim = *min_ssim;
  t.max_mad = max_mad;
  return t;
}

FrameResult judge_frames(RolloutVideos videos, const FrameThresholds& t, SsimKind ssim) {
  FrameResult r;
  r.parity = compare_videos(videos.sharded, videos.allgather, ssim);
  r.allgather_ref = compare_videos(videos.allgather, videos.reference, ssim);
  r.sharded_ref = compare_videos(videos.sharded, videos.reference, ssim);
  r.thresholds = t;
  r.videos = std::move(videos);
  for (const auto& [what, s] : {std::pair{"parity", &r.parity}, std::pair{"allgather vs reference", &r.allgather_ref},
                                std::pair{"sharded vs reference", &r.sharded_ref}}) {
    if (s->psnr_min_db < t.min_psnr_db)
      r.reason += fmt::format("{}frames {}: min PSNR {:.2f} dB < {} dB", r.reason.empty() ? "" : "; ", what,
                              s->psnr_min_db, t.min_psnr_db);
    if (s->ssim_min < t.min_ssim)
      r.reason += fmt::format("{}frames {}: min SSIM ({}) {:.4f} < {}", r.reason.empty() ? "" : "; ", what,
                              ssim_kind_name(ssim), s->ssim_min, t.min_ssim);
    if (t.max_mad && s->mad_max > *t.max_mad)
      r.reason += fmt::format("{}frames {}: max MAD {:.4f} > {}", r.reason.empty() ? "" : "; ", what, s->mad_max,
                              *t.max_mad);
  }
  r.pass = r.reason.empty();
  return r;
}

}  // namespace ffn
