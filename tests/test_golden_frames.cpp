#include <catch2/catch.hpp>
#include <hdf5.h>

#include <optional>

#include "harness/inputs/h5.hpp"
#include "harness/run/golden_check.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::TempDir;

namespace {

GoldenFile blessed_with_frames(SsimKind ssim = SsimKind::gaussian, std::optional<double> max_mad = std::nullopt) {
  SweepConfig s;
  s.shape = *find_shape("tiny");
  s.tokens = 4;
  s.tps = {1, 2};
  s.precisions = {DType::bf16};
  FrameOptions f;
  f.rollout = {2, 2, 3, 4, 8};
  f.ssim = ssim;
  f.max_mad = max_mad;
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

TEST_CASE("the SSIM definition, the MAD limit and the blessed MAD are stored and used by the check", "[golden-frames]") {
  const GoldenFile g = blessed_with_frames(SsimKind::skimage, 0.5);
  const TempDir dir("ffn-golden-frames-test");
  const std::string path = dir.file("skimage.h5");
  write_golden(g, path, /*overwrite=*/true);
  const GoldenFile back = read_golden(path);
  for (std::size_t i = 0; i < back.cases.size(); ++i) {
    const GoldenCase::Frames& f = *back.cases[i].frames;
    CHECK(f.ssim == SsimKind::skimage);
    CHECK(f.thresholds.max_mad == 0.5);
    CHECK(f.parity_mad_mean == g.cases[i].frames->parity_mad_mean);
    CHECK(f.parity_mad_max == g.cases[i].frames->parity_mad_max);
  }
  CHECK(back.cases[0].frames->parity_mad_max == 0);  // tp 1: identical paths
  CHECK(back.cases[1].frames->parity_mad_max > 0);
  for (const GoldenCaseCheck& k : check_golden(back, {})) {
    CHECK(k.pass);
    CHECK(k.frames_sharded->ssim_kind == SsimKind::skimage);
    CHECK(k.frames_sharded->mad_max == 0);
  }
  GoldenCheckOptions gaussian;
  gaussian.ssim = SsimKind::gaussian;
  for (const GoldenCaseCheck& k : check_golden(back, gaussian)) CHECK(k.frames_sharded->ssim_kind == SsimKind::gaussian);

  // A blessed frame off by 2 levels everywhere: within the SSIM and PSNR limits, past the MAD one.
  GoldenFile shifted = g;
  cv::Mat& frame = shifted.cases[1].frames->videos.sharded[0];
  frame.convertTo(frame, -1, 1.0, 2.0);
  write_golden(shifted, path, /*overwrite=*/true);
  const std::vector<GoldenCaseCheck> checks = check_golden(read_golden(path), {});
  CHECK(checks[0].pass);
  CHECK_FALSE(checks[1].pass);
  CHECK_THAT(checks[1].reason, Catch::Contains("sharded frames drifted") && Catch::Contains("max MAD") &&
                                   Catch::Contains("(skimage)"));
}

TEST_CASE("a golden blessed before --ssim reads as gaussian; an unknown SSIM name is refused", "[golden-frames]") {
  const GoldenFile g = blessed_with_frames();
  const TempDir dir("ffn-golden-frames-test");
  const std::string path = dir.file("old.h5");
  write_golden(g, path, /*overwrite=*/true);
  const std::string grp = "/cases/" + g.cases[0].id;
  {
    const h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    REQUIRE(f.valid());
    for (const char* name : {"frames_ssim", "frames_parity_mad_mean", "frames_parity_mad_max"})
      REQUIRE(H5Adelete_by_name(f.get(), grp.c_str(), name, H5P_DEFAULT) >= 0);
  }
  const GoldenFile back = read_golden(path);
  CHECK(back.cases[0].frames->ssim == SsimKind::gaussian);
  CHECK_FALSE(back.cases[0].frames->thresholds.max_mad.has_value());
  {
    h5::File f = h5::File::open_rw(path);
    f.set_attr(grp, "frames_ssim", std::string("ffmpeg"));
    f.close();
  }
  try {
    read_golden(path);
    FAIL("read");
  } catch (const GoldenError& e) {
    CHECK(std::string(e.what()) == path + ": " + grp + "@frames_ssim: 'ffmpeg' is not an SSIM definition (gaussian, skimage)");
  }
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
