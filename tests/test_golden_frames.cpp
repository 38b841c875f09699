#include <catch2/catch.hpp>

#include "harness/inputs/h5.hpp"
#include "harness/run/golden_check.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::TempDir;

namespace {

GoldenFile blessed_with_frames() {
  SweepConfig s;
  s.shape = *find_shape("tiny");
  s.tokens = 4;
  s.tps = {1, 2};
  s.precisions = {DType::bf16};
  FrameOptions f;
  f.rollout = {2, 2, 3, 4, 8};
  const std::vector<CaseResult> results = run_cases(expand(s), {}, {}, &f);
  return make_golden(results, InputMode::full, current_provenance("cpu", ""));
}
}  // namespace

TEST_CASE("frames blessed into a golden read back exactly and check clean", "[golden-frames]") {
  const GoldenFile g = blessed_with_frames();
  const TempDir dir("ffn-golden-frames-test");
  const std::string path = dir.file("clean.h5");
  write_golden(g, path, /*overwrite=*/true);
  const GoldenFile back = read_golden(path);
  REQUIRE(back.cases.size() == 2);
  for (std::size_t i = 0; i < back.cases.size(); ++i) {
    REQUIRE(back.cases[i].frames);
    const auto& a = g.cases[i].frames->videos.sharded;
    const auto& b = back.cases[i].frames->videos.sharded;
    REQUIRE(a.size() == b.size());
    for (std::size_t f = 0; f < a.size(); ++f) CHECK(cv::norm(a[f], b[f], cv::NORM_INF) == 0);
    CHECK(back.cases[i].frames->rollout.layers == 2);
    CHECK(back.cases[i].frames->thresholds.min_psnr_db == 40.0);
  }
  for (const GoldenCaseCheck& k : check_golden(back, {})) {
    CHECK(k.pass);
    REQUIRE(k.frames_sharded);
    CHECK(std::isinf(k.frames_sharded->psnr_min_db));
  }
}

TEST_CASE("frames that drifted from the blessed ones fail the check, naming the path", "[golden-frames]") {
  GoldenFile g = blessed_with_frames();
  // A blessed frame unlike today's: as if the sharded path had changed since.
  cv::Mat& frame = g.cases[1].frames->videos.sharded[0];
  frame = cv::Scalar(255, 255, 255) - frame;
  const TempDir dir("ffn-golden-frames-test");
  const std::string path = dir.file("drifted.h5");
  write_golden(g, path, /*overwrite=*/true);
  const std::vector<GoldenCaseCheck> checks = check_golden(read_golden(path), {});
  CHECK(checks[0].pass);
  CHECK_FALSE(checks[1].pass);
  CHECK_THAT(checks[1].reason, Catch::Contains("sharded frames drifted"));
}

TEST_CASE("a rollout whose frame size overflows an int is refused, not overflowed", "[golden-frames]") {
  const GoldenFile g = blessed_with_frames();
  const TempDir dir("ffn-golden-frames-test");
  const std::string path = dir.file("huge-patch.h5");
  write_golden(g, path, /*overwrite=*/true);
  {
    h5::File f = h5::File::open_rw(path);
    // grid 2x3x4 with patch 2^30: 3 * 2^30 pixels high.
    f.set_attr("/cases/" + g.cases[0].id, "rollout_patch", std::int64_t{1} << 30);
    f.close();
  }
  CHECK_THROWS_WITH(read_golden(path), Catch::Contains("do not match the rollout grid"));
}
