#include <catch2/catch.hpp>

#include <cmath>

#include "harness/run/rollout.hpp"
#include "harness/verdict/frame_verdict.hpp"

using namespace ffn;

namespace {
CaseConfig tiny_case(const char* precision, int tp) {
  CaseConfig c;
  c.shape = *find_shape("tiny");
  c.tokens = 1;
  const Precision p = *find_precision(precision);
  c.dtype = p.activation;
  c.scheme = p.scheme;
  c.tp = tp;
  return c;
}

RolloutConfig small_rollout() { return {3, 2, 4, 6, 8}; }
}  // namespace

TEST_CASE("rollout frames have the grid's geometry and are deterministic", "[rollout]") {
  const RolloutConfig r = small_rollout();
  const RolloutVideos a = rollout(tiny_case("bf16", 2), r), b = rollout(tiny_case("bf16", 2), r);
  REQUIRE(a.allgather.size() == 2);
  for (const Video* v : {&a.allgather, &a.sharded, &a.reference})
    for (const cv::Mat& f : *v) {
      CHECK(f.type() == CV_8UC3);
      CHECK(f.rows == 4 * 8);
      CHECK(f.cols == 6 * 8);
    }
  for (std::size_t i = 0; i < a.allgather.size(); ++i) {
    CHECK(cv::norm(a.allgather[i], b.allgather[i], cv::NORM_INF) == 0);
    CHECK(cv::norm(a.sharded[i], b.sharded[i], cv::NORM_INF) == 0);
  }
}

TEST_CASE("at tp 1 both paths decode to identical frames: PSNR inf, SSIM 1", "[rollout]") {
  for (const char* p : {"fp32", "bf16", "fp16", "fp8-dynamic", "nvfp4"}) {
    INFO(p);
    const FrameResult f = judge_frames(rollout(tiny_case(p, 1), small_rollout()), {40, 0.99});
    CHECK(std::isinf(f.parity.psnr_min_db));
    CHECK(f.parity.ssim_min == 1.0);
  }
}

TEST_CASE("frames of correct code clear the default thresholds, and a threshold above them fails", "[rollout]") {
  for (const char* p : {"fp32", "bf16", "fp16", "fp8-static", "fp8-dynamic", "int8", "nvfp4"})
    for (int tp : {2, 4}) {
      INFO(p << " tp " << tp);
      const CaseConfig c = tiny_case(p, tp);
      const FrameResult ok = judge_frames(rollout(c, small_rollout()), default_frame_thresholds(c.precision()));
      CHECK(ok.pass);
      // Ask for more than the worst frame against the reference reached (fp32 frames can be
      // identical to the reference's after the uint8 rounding: nothing is above inf).
      if (std::isinf(ok.allgather_ref.psnr_min_db)) continue;
      const double above = ok.allgather_ref.psnr_min_db + 1;
      const FrameResult bad = judge_frames(rollout(c, small_rollout()), {above, 0});
      CHECK_FALSE(bad.pass);
      CHECK_THAT(bad.reason, Catch::Contains("min PSNR"));
    }
}

TEST_CASE("a broken path moves the frames: rolling out sharded against a different seed fails", "[rollout]") {
  CaseConfig c = tiny_case("bf16", 2);
  RolloutVideos v = rollout(c, small_rollout());
  c.seed = 7;
  v.sharded = rollout(c, small_rollout()).sharded;
  const FrameResult f = judge_frames(std::move(v), default_frame_thresholds(c.precision()));
  CHECK_FALSE(f.pass);
  CHECK(f.parity.psnr_min_db < 30);
}

TEST_CASE("a bad rollout configuration is refused", "[rollout]") {
  CHECK_THROWS_AS(rollout(tiny_case("bf16", 1), {0, 2, 4, 6, 8}), std::invalid_argument);
  CHECK_THROWS_AS(rollout(tiny_case("bf16", 1), {2, 2, 0, 6, 8}), std::invalid_argument);
}
