// Frame metrics (DESIGN section 4) and frame I/O: PSNR and SSIM against closed forms and an
// independent SSIM, exact round trips through lossless video, PNG and golden frames, a
// lossy one above a floor, and every bad input ending in one error line that names the file
// and the reason.
#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/quality/qualityssim.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include "frame_patterns.hpp"
#include "goldens/golden_file.hpp"
#include "goldens/golden_frames.hpp"
#include "harness/inputs/h5.hpp"
#include "metrics/frame_io.hpp"
#include "metrics/frames.hpp"
#include "metrics/gaussian_ssim.hpp"
#include "tests/error_of.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::structured_frame;
using ffn::test::structured_video;
using ffn::test::with_noise;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using ffn::test::TempDir;
using ffn::test::error_of;

namespace {


cv::Mat constant_frame(int value) { return cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(value)); }

bool same_frames(const Video& a, const Video& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || a[i].type() != b[i].type() || cv::norm(a[i], b[i], cv::NORM_INF) != 0)
      return false;
  return true;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// SSIM written from Wang et al. 2004 in fp64, sharing nothing with QualitySSIM but the blur:
// an 11x11 Gaussian window (sigma 1.5) with reflect-101 borders, K1 0.01, K2 0.03, L 255; the
// mean of the map per channel, averaged over the channels.
double reference_ssim(const cv::Mat& a8, const cv::Mat& b8) {
  const double c1 = std::pow(0.01 * 255, 2), c2 = std::pow(0.03 * 255, 2);
  const auto blur = [](const cv::Mat& m) {
    cv::Mat out;
    cv::GaussianBlur(m, out, cv::Size(11, 11), 1.5, 1.5, cv::BORDER_REFLECT_101);
    return out;
  };
  std::vector<cv::Mat> as, bs;
  cv::split(a8, as);
  cv::split(b8, bs);
  double total = 0;
  for (int c = 0; c < 3; ++c) {
    cv::Mat x, y;
    as[c].convertTo(x, CV_64F);
    bs[c].convertTo(y, CV_64F);
    const cv::Mat mx = blur(x), my = blur(y), sxx = blur(x.mul(x)), syy = blur(y.mul(y)), sxy = blur(x.mul(y));
    double sum = 0;
    for (int r = 0; r < x.rows; ++r)
      for (int k = 0; k < x.cols; ++k) {
        const double ux = mx.at<double>(r, k), uy = my.at<double>(r, k);
        const double vx = sxx.at<double>(r, k) - ux * ux, vy = syy.at<double>(r, k) - uy * uy;
        const double cov = sxy.at<double>(r, k) - ux * uy;
        sum += (2 * ux * uy + c1) * (2 * cov + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
      }
    total += sum / static_cast<double>(x.total());
  }
  return total / 3;
}

}  // namespace

// ---- metrics ------------------------------------------------------------------------------

TEST_CASE("identical frames: PSNR is +inf exactly and SSIM exactly 1", "[frames]") {
  const cv::Mat f = structured_frame(64, 48, 0);
  const double psnr = psnr_db(f, f.clone());
  CHECK(std::isinf(psnr));
  CHECK(psnr > 0);
  CHECK(ssim(f, f.clone()) == 1.0);
  CHECK(psnr_db(constant_frame(7), constant_frame(7)) == std::numeric_limits<double>::infinity());
}

TEST_CASE("a constant offset k gives PSNR 20 log10(255 / k)", "[frames]") {
  for (const int k : {1, 2, 5, 10}) {
    INFO("k = " << k);
    CHECK(std::fabs(psnr_db(constant_frame(100), constant_frame(100 + k)) - 20 * std::log10(255.0 / k)) < 1e-9);
  }
}

// The squared differences are summed in 32-bit chunks: 0 against 255 over a 768x512 frame
// (7.7e10, past 2^32) checks the carry into the total, an ROI the row-by-row path.
TEST_CASE("PSNR's mean squared error is the exact sum of squared differences", "[frames]") {
  const auto exact_psnr = [](const cv::Mat& a, const cv::Mat& b) {
    double sum = 0;
    for (int y = 0; y < a.rows; ++y)
      for (int x = 0; x < a.cols * 3; ++x) {
        const double d = double(a.ptr<std::uint8_t>(y)[x]) - b.ptr<std::uint8_t>(y)[x];
        sum += d * d;
      }
    return 10 * std::log10(255.0 * 255.0 / (sum / (a.rows * a.cols * 3.0)));
  };
  const cv::Mat black(512, 768, CV_8UC3, cv::Scalar::all(0)), white(512, 768, CV_8UC3, cv::Scalar::all(255));
  CHECK(psnr_db(black, white) == 0.0);
  cv::Mat a(97, 131, CV_8UC3), b(97, 131, CV_8UC3);
  cv::randu(a, 0, 256);
  cv::randu(b, 0, 256);
  CHECK(psnr_db(a, b) == Approx(exact_psnr(a, b)).epsilon(1e-14));
  const cv::Mat roi_a = a(cv::Rect(3, 5, 101, 77)), roi_b = b(cv::Rect(7, 1, 101, 77));
  REQUIRE_FALSE(roi_a.isContinuous());
  CHECK(psnr_db(roi_a, roi_b) == Approx(exact_psnr(roi_a, roi_b)).epsilon(1e-14));
  CHECK(psnr_db(roi_a, roi_b) == Approx(10 * std::log10(255.0 * 255.0 * roi_a.total() * 3 /
                                                        cv::norm(roi_a, roi_b, cv::NORM_L2SQR)))
                                      .epsilon(1e-14));
}

// The absolute differences are summed in integers too: the MAD is that exact sum over the
// frame's size, 0 for identical frames, 255 between black and white; an ROI takes the
// row-by-row path.
TEST_CASE("MAD is the exact sum of absolute differences over the frame's size", "[frames]") {
  const auto exact_sum = [](const cv::Mat& a, const cv::Mat& b) {
    std::uint64_t sum = 0;
    for (int y = 0; y < a.rows; ++y)
      for (int x = 0; x < a.cols * 3; ++x) sum += std::abs(int(a.ptr<std::uint8_t>(y)[x]) - b.ptr<std::uint8_t>(y)[x]);
    return sum;
  };
  const cv::Mat black(512, 768, CV_8UC3, cv::Scalar::all(0)), white(512, 768, CV_8UC3, cv::Scalar::all(255));
  CHECK(mean_absolute_difference(black, white) == 255.0);
  CHECK(mean_absolute_difference(white, white.clone()) == 0.0);
  cv::Mat a(97, 131, CV_8UC3), b(97, 131, CV_8UC3);
  cv::randu(a, 0, 256);
  cv::randu(b, 0, 256);
  CHECK(mean_absolute_difference(a, b) == double(exact_sum(a, b)) / (97.0 * 131 * 3));
  const cv::Mat roi_a = a(cv::Rect(3, 5, 101, 77)), roi_b = b(cv::Rect(7, 1, 101, 77));
  REQUIRE_FALSE(roi_a.isContinuous());
  CHECK(mean_absolute_difference(roi_a, roi_b) == double(exact_sum(roi_a, roi_b)) / (101.0 * 77 * 3));
  CHECK(mean_absolute_difference(roi_a, roi_b) == cv::norm(roi_a, roi_b, cv::NORM_L1) / (101.0 * 77 * 3));
}

TEST_CASE("SSIM is symmetric and 1 only for identical frames", "[frames]") {
  const cv::Mat a = structured_frame(64, 48, 0), b = with_noise(a, 6, 7);
  CHECK(ssim(a, b) == Approx(ssim(b, a)).margin(1e-12));
  cv::Mat one_pixel = a.clone();
  one_pixel.at<cv::Vec3b>(20, 30)[1] += 1;
  const double s = ssim(a, one_pixel);
  CHECK(s < 1.0);
  CHECK(s > 0.9999);
}

TEST_CASE("SSIM falls monotonically as the noise grows", "[frames]") {
  const cv::Mat a = structured_frame(96, 64, 3);
  double previous = ssim(a, a);
  for (const double sigma : {0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0}) {
    const double s = ssim(a, with_noise(a, sigma, 42));
    INFO("sigma " << sigma << ": ssim " << s << ", previous " << previous);
    CHECK(s < previous);
    previous = s;
  }
  CHECK(previous < 0.5);
}

TEST_CASE("SSIM agrees with an independent fp64 implementation", "[frames]") {
  const cv::Mat a = structured_frame(40, 32, 1);
  for (const double sigma : {2.0, 10.0, 40.0}) {
    const cv::Mat b = with_noise(a, sigma, 5);
    INFO("sigma " << sigma);
    CHECK(ssim(a, b) == Approx(reference_ssim(a, b)).margin(1e-6));
  }
}

// Sizes that reach every border case of the one-pass SSIM: frames narrower or shorter than
// the window (reflections of reflections), a column strip cut short at the right edge, strips
// away from both edges, more rows than its ring holds.
TEST_CASE("SSIM per channel and its map agree with OpenCV's QualitySSIM", "[frames]") {
  const std::vector<cv::Size> sizes{{1, 1},  {3, 2},   {7, 5},   {11, 11},  {16, 17}, {33, 20},
                                    {64, 40}, {70, 23}, {75, 18}, {130, 70}, {200, 33}};
  double worst = 0, worst_map = 0, worst_exact = 0, worst_opencv_exact = 0;
  for (const cv::Size& size : sizes)
    for (const double sigma : {1.0, 8.0, 40.0}) {
      cv::Mat a(size, CV_8UC3);
      if (size.width < 11) cv::randu(a, 0, 256);  // the structured pattern needs room
      else a = structured_frame(size.width, size.height, 2);
      const cv::Mat b = with_noise(a, sigma, 11);
      cv::Mat maps;  // one map per channel, as the channels of one image
      const cv::Scalar expected = cv::quality::QualitySSIM::compute(a, b, maps);
      cv::Mat map;
      const cv::Vec3d got = gaussian_ssim(a, b, &map);
      INFO(size.width << "x" << size.height << ", sigma " << sigma);
      for (int c = 0; c < 3; ++c) {
        CHECK(std::fabs(got[c] - expected[c]) <= (std::min(size.width, size.height) == 1 ? 1e-4 : 1e-5));
        worst = std::max(worst, std::fabs(got[c] - expected[c]));
      }
      // Both round in float; both lie within a few float roundings of the fp64 value. Except in
      // a frame one pixel wide or high, where the taps of a window fall on a few pixels: a
      // variance is then a windowed mean of squares less a squared windowed mean that differ
      // only through the rounded sum of the taps, and what is left is rounding: up to 2.4e-5 off
      // fp64 over 300 random 1x1 pairs (QualitySSIM 6e-8; at 3x2 and larger both within 1.2e-6).
      const double exact = reference_ssim(a, b);
      const double ours = (got[0] + got[1] + got[2]) / 3, opencv = (expected[0] + expected[1] + expected[2]) / 3;
      CHECK(std::fabs(ours - exact) <= (std::min(size.width, size.height) == 1 ? 3e-5 : 2e-6));
      worst_exact = std::max(worst_exact, std::fabs(ours - exact));
      worst_opencv_exact = std::max(worst_opencv_exact, std::fabs(opencv - exact));
      cv::Mat expected_map;
      cv::transform(maps, expected_map, cv::Matx13f(1.f / 3, 1.f / 3, 1.f / 3));
      const double map_difference = cv::norm(map, expected_map, cv::NORM_INF);
      CHECK(map_difference < 5e-4);
      worst_map = std::max(worst_map, map_difference);
    }
  WARN("largest difference from QualitySSIM: " << worst << " (mean), " << worst_map << " (map); from fp64: "
                                                << worst_exact << " (QualitySSIM: " << worst_opencv_exact << ")");
}

// The AVX-512VL horizontal pass replaces the portable centring and filtering where the machine
// has it; the scores must not depend on which ran. Sizes: strips cut short, frames narrower than
// a strip and than the window, a strip whose run ends at the row's last byte, and 768 wide.
TEST_CASE("SSIM: the AVX-512 and the portable kernels give the same bits", "[frames]") {
  struct Portable {
    bool have_avx512 = detail::use_portable_ssim_kernels(false);
    ~Portable() { detail::use_portable_ssim_kernels(false); }
  } restore;
  if (!restore.have_avx512) WARN("no AVX-512VL on this machine: only the portable kernels ran");
  const std::vector<cv::Size> sizes{{1, 1}, {7, 5}, {16, 17}, {37, 9}, {47, 12}, {75, 18}, {130, 70}, {768, 24}};
  for (const cv::Size& size : sizes)
    for (const double sigma : {0.0, 3.0, 40.0}) {
      cv::Mat a(size, CV_8UC3);
      cv::randu(a, 0, 256);
      const cv::Mat b = sigma == 0 ? a.clone() : with_noise(a, sigma, 5);
      INFO(size.width << "x" << size.height << ", sigma " << sigma);
      cv::Mat fast_map, portable_map;
      detail::use_portable_ssim_kernels(false);
      const cv::Vec3d fast = gaussian_ssim(a, b, &fast_map);
      detail::use_portable_ssim_kernels(true);
      const cv::Vec3d portable = gaussian_ssim(a, b, &portable_map);
      for (int c = 0; c < 3; ++c) CHECK(fast[c] == portable[c]);
      CHECK(cv::norm(fast_map, portable_map, cv::NORM_INF) == 0);
      if (sigma == 0) CHECK(fast == cv::Vec3d(1, 1, 1));
    }
}

TEST_CASE("the SSIM map is one channel whose mean is the SSIM", "[frames]") {
  const cv::Mat a = structured_frame(64, 48, 0), b = with_noise(a, 8, 3);
  cv::Mat map;
  const double s = ssim(a, b, &map);
  CHECK(map.type() == CV_32FC1);
  CHECK(map.size() == a.size());
  CHECK(cv::mean(map)[0] == Approx(s).margin(1e-6));
}

TEST_CASE("compare_videos: per-frame scores, PSNR of the mean MSE, minima, worst frame", "[frames]") {
  // MSE 1, 4 and 0: the mean MSE is 5/3.
  const Video a = {constant_frame(100), constant_frame(100), constant_frame(100)};
  const Video b = {constant_frame(101), constant_frame(102), constant_frame(100)};
  const VideoScore s = compare_videos(a, b);
  REQUIRE(s.frames.size() == 3);
  CHECK(s.frames[0].psnr_db == Approx(20 * std::log10(255.0)).epsilon(1e-12));
  CHECK(std::isinf(s.frames[2].psnr_db));
  CHECK(s.psnr_mean_db == Approx(10 * std::log10(255.0 * 255.0 / (5.0 / 3))).epsilon(1e-12));
  CHECK(s.psnr_min_db == Approx(20 * std::log10(255.0 / 2)).epsilon(1e-12));
  CHECK(s.worst_frame == 1);
  CHECK(s.ssim_min == s.frames[1].ssim);
  CHECK(s.ssim_mean == Approx((s.frames[0].ssim + s.frames[1].ssim + 1.0) / 3).epsilon(1e-12));

  CHECK(s.worst_psnr_frame == 1);
  // MAD 1, 2 and 0: mean 1, maximum 2 at frame 1.
  CHECK(s.frames[0].mad == 1.0);
  CHECK(s.frames[1].mad == 2.0);
  CHECK(s.frames[2].mad == 0.0);
  CHECK(s.mad_mean == 1.0);
  CHECK(s.mad_max == 2.0);
  CHECK(s.worst_mad_frame == 1);

  const VideoScore same = compare_videos(a, a);
  CHECK(std::isinf(same.psnr_mean_db));
  CHECK(std::isinf(same.psnr_min_db));
  CHECK(same.ssim_mean == 1.0);
  CHECK(same.mad_max == 0.0);
  CHECK(same.worst_mad_frame == 0);
}

TEST_CASE("compare_videos: the worst frame by PSNR and by SSIM are told apart", "[frames]") {
  // A constant offset costs PSNR but keeps the structure (SSIM near 1); mild noise on a
  // structured frame costs less PSNR and more SSIM.
  const cv::Mat base = structured_frame(96, 64, 0);
  cv::Mat brighter;
  base.convertTo(brighter, -1, 1.0, 24.0);
  const VideoScore s = compare_videos({base, base, base}, {base, brighter, with_noise(base, 6.0, 1)});
  INFO("psnr " << s.frames[1].psnr_db << " " << s.frames[2].psnr_db << ", ssim " << s.frames[1].ssim << " "
               << s.frames[2].ssim);
  CHECK(s.worst_psnr_frame == 1);
  CHECK(s.worst_frame == 2);
  CHECK(s.psnr_min_db == s.frames[1].psnr_db);
  CHECK(s.ssim_min == s.frames[2].ssim);
}

TEST_CASE("compare_videos matches frame by frame scoring on a real-sized video", "[frames]") {
  const Video a = structured_video(160, 96, 9);
  Video b;
  for (std::size_t i = 0; i < a.size(); ++i) b.push_back(with_noise(a[i], 1.0 + static_cast<double>(i), i));
  const VideoScore s = compare_videos(a, b);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(s.frames[i].psnr_db == psnr_db(a[i], b[i]));
    CHECK(s.frames[i].ssim == ssim(a[i], b[i]));
    CHECK(s.frames[i].mad == mean_absolute_difference(a[i], b[i]));
  }
  CHECK(s.worst_mad_frame == a.size() - 1);
  CHECK(s.worst_frame == a.size() - 1);
}

TEST_CASE("mismatched videos are refused naming both sides", "[frames]") {
  const Video a = structured_video(64, 48, 3);
  CHECK_THAT(error_of<std::invalid_argument>([&] { compare_videos(a, Video(a.begin(), a.end() - 1)); }),
             Contains("3 vs 2"));
  Video other_size = a;
  other_size[1] = structured_frame(32, 24, 1);
  CHECK(error_of<std::invalid_argument>([&] { compare_videos(a, other_size); }) == "frame 1: 64x48 vs 32x24");
  Video gray = a;
  cv::cvtColor(a[2], gray[2], cv::COLOR_BGR2GRAY);
  CHECK_THAT(error_of<std::invalid_argument>([&] { compare_videos(a, gray); }),
             Contains("frame 2: ") && Contains("CV_8UC3") && Contains("CV_8UC1"));
  CHECK_THROWS_AS(compare_videos({}, {}), std::invalid_argument);
  CHECK_THROWS_AS(psnr_db(a[0], other_size[1]), std::invalid_argument);
  CHECK_THROWS_AS(ssim(a[0], gray[2]), std::invalid_argument);
}

// ---- round trips --------------------------------------------------------------------------

TEST_CASE("lossless video (FFV1 .avi) gives the exact frames back", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  const Video v = structured_video(96, 64, 5);
  const std::string codec = ffn::test::write_lossless_avi(v, dir.file("a.avi"), 25);
  INFO("codec " << codec);
  CHECK(same_frames(read_video_file(dir.file("a.avi")), v));
  CHECK(read_video_fps(dir.file("a.avi")) == 25);
}

TEST_CASE("mp4 (mp4v) keeps smooth structured frames above 30 dB", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  Video v = structured_video(128, 96, 8);
  for (cv::Mat& f : v) cv::GaussianBlur(f, f, cv::Size(5, 5), 1.5);
  write_video_file(v, dir.file("a.mp4"), "mp4v", 24);
  const Video back = read_video_file(dir.file("a.mp4"));
  const VideoScore s = compare_videos(v, back);
  INFO("psnr min " << s.psnr_min_db << " dB, ssim min " << s.ssim_min);
  CHECK(s.psnr_min_db > 30);
  CHECK(s.ssim_min > 0.9);
}

TEST_CASE("a PNG directory gives the exact frames back, in name order", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  const Video v = structured_video(64, 48, 12);
  write_png_dir(v, dir.file("png"));
  CHECK(fs::exists(dir.file("png/frame_0011.png")));
  CHECK(same_frames(read_png_dir(dir.file("png")), v));
  CHECK_THAT(error_of<FrameIoError>([&] { write_png_dir(v, dir.file("png")); }), Contains("already holds .png files"));
}

TEST_CASE("golden frames: exact round trip, stored as RGB with fps and channel order", "[frames][golden]") {
  TempDir dir("ffn-frames-test");
  const Video v = structured_video(64, 48, 4);
  const std::string path = dir.file("frames.h5");
  write_frames_golden(path, v, 24, "clip.mp4", false);
  CHECK(same_frames(read_frames_golden(path, "frames/video"), v));
  CHECK(same_frames(read_frames_golden(path, "/frames/video"), v));

  const h5::File f = h5::File::open(path);
  CHECK(f.attr_string("/", "schema") == k_golden_schema);
  CHECK(f.attr_int("/", "schema_version") == k_golden_schema_version);
  CHECK(f.attr_string("/frames/video", "channel_order") == "RGB");
  CHECK(f.attr_string("/frames/video", "source") == "clip.mp4");
  CHECK(f.attr_double("/frames/video", "fps") == 24);
  const h5::TensorData t = f.read("/frames/video");
  CHECK(t.shape == std::vector<std::int64_t>{4, 48, 64, 3});
  const cv::Vec3b bgr = v[2].at<cv::Vec3b>(5, 7);
  const std::size_t at = ((2 * 48 + 5) * 64 + 7) * 3;
  CHECK((t.u8[at] == bgr[2] && t.u8[at + 1] == bgr[1] && t.u8[at + 2] == bgr[0]));

  // A golden of frames alone reads as a golden without cases.
  const GoldenFile g = read_golden(path);
  CHECK(g.cases.empty());
  CHECK(g.provenance.at("tool") == "ffn-parity");
  CHECK_THAT(error_of<GoldenError>([&] { write_frames_golden(path, v, 24, "clip.mp4", false); }),
             Contains(path) && Contains("--force"));
  write_frames_golden(path, {v[0]}, 30, "other.mp4", true);
  CHECK(read_frames_golden(path, "frames/video").size() == 1);
}

TEST_CASE("frames in an h5::File of a golden under construction round-trip exactly", "[frames][golden]") {
  TempDir dir("ffn-frames-test");
  const Video v = structured_video(32, 24, 3);
  {
    h5::File f = h5::File::create(dir.file("g.h5"));
    write_frames(f, "/cases/c0/frames_sharded", v, 24, "test frames");
    f.close();
  }
  CHECK(same_frames(read_frames(h5::File::open(dir.file("g.h5")), "cases/c0/frames_sharded"), v));
}

// ---- bad inputs ---------------------------------------------------------------------------

TEST_CASE("bad video files: one FrameIoError naming the file and the reason", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  const std::string missing = dir.file("missing.mp4");
  CHECK(error_of<FrameIoError>([&] { read_video_file(missing); }) == missing + ": no such file");

  const std::string text = dir.file("notes.mp4");
  write_text(text, "this is not a video\n");
  const std::string not_video = error_of<FrameIoError>([&] { read_video_file(text); });
  CHECK_THAT(not_video, Contains(text + ": cannot open"));
  CHECK(not_video.find('\n') == std::string::npos);

  CHECK_THAT(error_of<FrameIoError>([&] { read_video_file(dir.operator/("")); }), Contains("is a directory"));

  const std::string whole = dir.file("whole.avi"), half = dir.file("half.avi"), header = dir.file("header.avi");
  ffn::test::write_lossless_avi(structured_video(96, 64, 6), whole);
  std::ifstream in(whole, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  write_text(half, bytes.substr(0, bytes.size() / 2));
  write_text(header, bytes.substr(0, 200));
  const std::string truncated = error_of<FrameIoError>([&] { read_video_file(half); });
  CHECK_THAT(truncated, Contains(half + ": truncated or damaged: decoded ") && Contains("of the 6 frames"));
  CHECK(truncated.find('\n') == std::string::npos);
  CHECK_THAT(error_of<FrameIoError>([&] { read_video_file(header); }), Contains(header + ": "));
}

// frames compare decodes its two sides at once; both capture what FFmpeg prints on stderr.
TEST_CASE("frame sources read concurrently: each error names its own file, stderr comes back", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  const std::string whole = dir.file("whole.avi"), half = dir.file("half.avi"), text = dir.file("notes.mp4");
  ffn::test::write_lossless_avi(structured_video(96, 64, 6), whole);
  std::ifstream in(whole, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  write_text(half, bytes.substr(0, bytes.size() / 2));
  write_text(text, "this is not a video\n");
  struct stat before {};
  REQUIRE(::fstat(STDERR_FILENO, &before) == 0);

  std::string error_half, error_text;
  int good_frames = 0;
  std::thread other([&] {
    for (int i = 0; i < 10; ++i) error_text = error_of<FrameIoError>([&] { read_video_file(text); });
  });
  for (int i = 0; i < 10; ++i) {
    error_half = error_of<FrameIoError>([&] { read_video_file(half); });
    good_frames = static_cast<int>(read_video_file(whole).size());
  }
  other.join();
  CHECK_THAT(error_half, Contains(half + ": truncated or damaged"));
  CHECK_THAT(error_text, Contains(text + ": cannot open"));
  CHECK(good_frames == 6);
  struct stat after {};
  REQUIRE(::fstat(STDERR_FILENO, &after) == 0);
  CHECK(after.st_dev == before.st_dev);
  CHECK(after.st_ino == before.st_ino);
}

TEST_CASE("bad PNG directories: one FrameIoError naming the path and the reason", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  CHECK(error_of<FrameIoError>([&] { read_png_dir(dir.file("nowhere")); }) == dir.file("nowhere") + ": no such directory");
  fs::create_directories(dir.file("empty"));
  CHECK(error_of<FrameIoError>([&] { read_png_dir(dir.file("empty")); }) == dir.file("empty") + ": holds no .png files");

  fs::create_directories(dir.file("fake"));
  write_text(dir.file("fake/frame_0000.png"), "not a png");
  CHECK(error_of<FrameIoError>([&] { read_png_dir(dir.file("fake")); }) ==
        dir.file("fake/frame_0000.png") + ": not a PNG file (no PNG signature)");

  fs::create_directories(dir.file("damaged"));
  write_text(dir.file("damaged/frame_0000.png"), std::string("\x89PNG\r\n\x1a\n", 8) + "garbage after the signature");
  const std::string damaged = error_of<FrameIoError>([&] { read_png_dir(dir.file("damaged")); });
  CHECK_THAT(damaged, Contains(dir.file("damaged/frame_0000.png: cannot decode")));
  CHECK(damaged.find('\n') == std::string::npos);

  write_png_dir({structured_frame(64, 48, 0)}, dir.file("sizes"));
  cv::imwrite(dir.file("sizes/frame_0001.png"), structured_frame(32, 24, 1));
  CHECK(error_of<FrameIoError>([&] { read_png_dir(dir.file("sizes")); }) ==
        dir.file("sizes/frame_0001.png") + ": is 32x24, but frame_0000.png is 64x48");

  fs::create_directories(dir.file("gray"));
  cv::imwrite(dir.file("gray/frame_0000.png"), cv::Mat(24, 32, CV_8UC1, cv::Scalar(9)));
  CHECK_THAT(error_of<FrameIoError>([&] { read_png_dir(dir.file("gray")); }),
             Contains(dir.file("gray/frame_0000.png: has 1 channel(s)")));
}

TEST_CASE("a video writer refuses what it cannot write", "[frames][io]") {
  TempDir dir("ffn-frames-test");
  const Video v = structured_video(32, 24, 2);
  CHECK_THAT(error_of<FrameIoError>([&] { write_video_file(v, dir.file("no/such/dir/a.avi"), "FFV1", 24); }),
             Contains(dir.file("no/such/dir/a.avi: cannot open a video writer for fourcc 'FFV1'")));
  CHECK_THAT(error_of<FrameIoError>([&] { write_video_file(v, dir.file("a.avi"), "FFV", 24); }),
             Contains("not 4 characters"));
  CHECK_THAT(error_of<FrameIoError>([&] { write_video_file({}, dir.file("a.avi"), "FFV1", 24); }),
             Contains("no frames"));
  CHECK(error_of<FrameIoError>([&] { write_video_file({v[0], structured_frame(16, 12, 0)}, dir.file("a.avi"), "FFV1", 24); }) ==
        dir.file("a.avi") + ": frame 1 is 16x12, frame 0 is 32x24: the frame size changes");
}

TEST_CASE("bad golden frames: one GoldenError naming file, dataset and reason", "[frames][golden]") {
  TempDir dir("ffn-frames-test");
  const std::string path = dir.file("bad.h5");
  {
    h5::File f = h5::File::create(path);
    const std::vector<std::uint8_t> u8(2 * 4 * 4 * 3, 7);
    const std::vector<float> f32(u8.size(), 7);
    f.write_u8("/frames/rank3", {2, 4, 12}, u8.data());
    f.write_u8("/frames/four_channels", {2, 4, 3, 4}, u8.data());
    f.write_f32("/frames/float", {2, 4, 4, 3}, f32.data());
    f.write_u8("/frames/empty", {0, 4, 4, 3}, u8.data());
    f.write_u8("/frames/bgr", {2, 4, 4, 3}, u8.data());
    f.set_attr("/frames/bgr", "channel_order", std::string("BGR"));
    f.close();
  }
  const h5::File f = h5::File::open(path);
  CHECK_THAT(error_of<h5::H5Error>([&] { read_frames(f, "frames/video"); }),
             Contains(path) && Contains("/frames/video") && Contains("missing"));
  CHECK(error_of<GoldenError>([&] { read_frames(f, "frames/rank3"); }) ==
        path + ": /frames/rank3: shape [2, 4, 12] is not [frames, height, width, 3]");
  CHECK(error_of<GoldenError>([&] { read_frames(f, "frames/four_channels"); }) ==
        path + ": /frames/four_channels: shape [2, 4, 3, 4] is not [frames, height, width, 3]");
  CHECK(error_of<GoldenError>([&] { read_frames(f, "frames/float"); }) ==
        path + ": /frames/float: element type is not uint8");
  CHECK(error_of<GoldenError>([&] { read_frames(f, "frames/empty"); }) ==
        path + ": /frames/empty: shape [0, 4, 4, 3] holds no frames");
  CHECK(error_of<GoldenError>([&] { read_frames(f, "frames/bgr"); }) ==
        path + ": /frames/bgr: channel_order is 'BGR', expected 'RGB'");

  // Not a golden at all (no schema attribute): refused before any frame is read.
  CHECK_THAT(error_of<GoldenError>([&] { read_frames_golden(path, "frames/bgr"); }), Contains("not an ffn-parity golden"));
  // Neither /cases nor /frames: the error it always was.
  {
    h5::File g = h5::File::create(dir.file("nothing.h5"));
    g.set_attr("/", "schema", std::string(k_golden_schema));
    g.set_attr("/", "schema_version", k_golden_schema_version);
    g.close();
  }
  CHECK_THAT(error_of<GoldenError>([&] { read_golden(dir.file("nothing.h5")); }),
             Contains(dir.file("nothing.h5")) && Contains("missing"));
  CHECK_THAT(error_of<GoldenError>([&] { read_frames_golden(dir.file("missing.h5"), "frames/video"); }),
             Contains(dir.file("missing.h5: no such file")));
}
