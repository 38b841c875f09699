// compare_streams (metrics/streamed_comparison.hpp): the same scores as compare_videos, bit for
// bit, over videos longer than the read-ahead; every failure ordered as documented; no
// deadlock whichever side ends, fails or lags; scored frames decoded into again.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <latch>
#include <string>
#include <thread>

#include "frame_patterns.hpp"
#include "metrics/frame_io.hpp"
#include "metrics/streamed_comparison.hpp"
#include "tests/error_of.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::error_of;
using ffn::test::structured_video;
using ffn::test::with_noise;

namespace {

// Frames from memory with the faults a decoder can have: a failure at frame `fail_at`, a delay
// per frame; it counts the frames it was handed a buffer to decode into.
class ScriptedReader final : public FrameReader {
 public:
  explicit ScriptedReader(Video video, std::size_t fail_at = SIZE_MAX, std::chrono::microseconds delay = {},
                          std::string name = "scripted.avi", std::latch* fail_together = nullptr)
      : video_(std::move(video)), fail_at_(fail_at), delay_(delay), name_(std::move(name)), fail_together_(fail_together) {}

  bool next(cv::Mat& frame) override {
    std::this_thread::sleep_for(delay_);
    if (next_ == fail_at_ && fail_together_) fail_together_->arrive_and_wait();
    if (next_ == fail_at_) throw FrameIoError(name_ + ": cannot decode frame " + std::to_string(next_));
    if (next_ == video_.size()) return false;
    if (!frame.empty() && frame.u->refcount == 1) ++recycled;
    video_[next_++].copyTo(frame);
    return true;
  }

  std::atomic<int> recycled = 0;

 private:
  Video video_;
  std::size_t fail_at_, next_ = 0;
  std::chrono::microseconds delay_;
  std::string name_;
  std::latch* fail_together_;  // both readers fail, neither before the other reached its failure
};

Video noisy(const Video& v, double sigma) {
  Video out;
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(with_noise(v[i], sigma, 500 + i));
  return out;
}

}  // namespace

TEST_CASE("compare_streams gives compare_videos' scores over more frames than it reads ahead", "[frames]") {
  const Video a = structured_video(64, 48, 50), b = noisy(a, 3);
  const VideoScore expected = compare_videos(a, b);
  // Either side slower, so that each waits on the other and on the read-ahead bound.
  for (const auto& [delay_a, delay_b] : {std::pair{0, 0}, {0, 300}, {300, 0}}) {
    ScriptedReader ra(a, SIZE_MAX, std::chrono::microseconds(delay_a));
    ScriptedReader rb(b, SIZE_MAX, std::chrono::microseconds(delay_b));
    const VideoScore s = compare_streams(ra, rb);
    REQUIRE(s.frames.size() == expected.frames.size());
    for (std::size_t i = 0; i < s.frames.size(); ++i) {
      CHECK(s.frames[i].psnr_db == expected.frames[i].psnr_db);
      CHECK(s.frames[i].ssim == expected.frames[i].ssim);
    }
    CHECK(s.psnr_mean_db == expected.psnr_mean_db);
    CHECK(s.ssim_mean == expected.ssim_mean);
    CHECK(s.worst_frame == expected.worst_frame);
    CHECK(s.frame_size == cv::Size(64, 48));
    // Scored frames come back as buffers to decode into.
    CHECK(ra.recycled > 0);
    CHECK(rb.recycled > 0);
  }
}

TEST_CASE("compare_streams: frame counts that differ, either side longer", "[frames]") {
  const Video a = structured_video(32, 24, 40);
  for (const std::size_t shorter : {std::size_t{1}, std::size_t{23}, std::size_t{39}}) {
    const Video b(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(shorter));
    ScriptedReader ra(a), rb(b);
    CHECK(error_of<std::invalid_argument>([&] { compare_streams(ra, rb); }) ==
          "frame counts differ: 40 vs " + std::to_string(shorter));
    ScriptedReader rb2(b), ra2(a);
    CHECK(error_of<std::invalid_argument>([&] { compare_streams(rb2, ra2); }) ==
          "frame counts differ: " + std::to_string(shorter) + " vs 40");
  }
}

TEST_CASE("compare_streams names the first frame pair of different sizes", "[frames]") {
  const Video a = structured_video(64, 48, 30);
  Video b = a;
  for (std::size_t i = 5; i < b.size(); ++i) b[i] = structured_video(32, 24, 1)[0];
  ScriptedReader ra(a), rb(b);
  CHECK(error_of<std::invalid_argument>([&] { compare_streams(ra, rb); }) == "frame 5: 64x48 vs 32x24");
}

TEST_CASE("compare_streams passes a reader's failure on, A's before B's, without waiting for the other", "[frames]") {
  const Video a = structured_video(32, 24, 60);
  {
    ScriptedReader ra(a, 30), rb(a);
    CHECK(error_of<FrameIoError>([&] { compare_streams(ra, rb); }) == "scripted.avi: cannot decode frame 30");
  }
  {
    // B fails at once while A runs ahead to the read-ahead bound: A must be let go.
    ScriptedReader ra(a), rb(a, 0);
    CHECK(error_of<FrameIoError>([&] { compare_streams(ra, rb); }) == "scripted.avi: cannot decode frame 0");
  }
  {
    ScriptedReader ra(a, 50, std::chrono::microseconds(200)), rb(a, 3);
    CHECK(error_of<FrameIoError>([&] { compare_streams(ra, rb); }) == "scripted.avi: cannot decode frame 3");
  }
  {
    // A failure stops the other side: B's is reported, though A would have failed later.
    ScriptedReader ra(a, 2, std::chrono::microseconds(2000), "a.avi"), rb(a, 0, {}, "b.avi");
    CHECK(error_of<FrameIoError>([&] { compare_streams(ra, rb); }) == "b.avi: cannot decode frame 0");
  }
  {
    // Both fail: A's is reported.
    std::latch both(2);
    ScriptedReader ra(a, 4, {}, "a.avi", &both), rb(a, 4, {}, "b.avi", &both);
    CHECK(error_of<FrameIoError>([&] { compare_streams(ra, rb); }) == "a.avi: cannot decode frame 4");
  }
}

TEST_CASE("compare_streams: a damaged frame deep in a PNG directory is an error, not the last frame again",
          "[frames]") {
  // By frame 30 the readers decode into recycled buffers; a decoder that fails before it
  // writes must not leave the previous frame in place.
  ffn::test::TempDir dir;
  const Video a = structured_video(32, 24, 40);
  write_png_dir(a, dir.file("a"));
  const std::string damaged = dir.file("a/frame_0030.png");
  {
    std::ofstream out(damaged, std::ios::binary | std::ios::trunc);
    out << "\x89PNG\r\n\x1a\n" << std::string(40, 'x');  // the signature, then no valid chunk
  }
  const auto ra = open_png_dir(dir.file("a"));
  ScriptedReader rb(a);
  CHECK(error_of<FrameIoError>([&] { compare_streams(*ra, rb); }).starts_with(damaged + ": cannot decode: damaged PNG"));
}
