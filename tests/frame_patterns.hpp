#pragma once
// Synthetic video for the frame tests, the CLI fixture and ci/bench-frames.sh: smooth
// gradients with hard edges that move from frame to frame (structure for SSIM to judge), and
// the same with seeded Gaussian noise.
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <string>

#include "metrics/frame_io.hpp"

namespace ffn::test {

inline cv::Mat structured_frame(int width, int height, int t) {
  cv::Mat f(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      f.at<cv::Vec3b>(y, x) = {static_cast<uchar>(255 * x / (width - 1)), static_cast<uchar>(255 * y / (height - 1)),
                               static_cast<uchar>(64 + (x + y + 8 * t) % 128)};
  cv::circle(f, {(width / 4 + 3 * t) % width, height / 2}, height / 5, {240, 220, 40}, cv::FILLED, cv::LINE_AA);
  const int top = (height / 8 + 2 * t) % height;
  cv::rectangle(f, cv::Rect(width / 2, top, width / 8, height / 6), {20, 30, 200}, cv::FILLED);
  return f;
}

inline Video structured_video(int width, int height, int frames) {
  Video v;
  for (int t = 0; t < frames; ++t) v.push_back(structured_frame(width, height, t));
  return v;
}

// `frame` plus N(0, sigma^2) per pixel and channel, rounded and saturated to 0..255.
inline cv::Mat with_noise(const cv::Mat& frame, double sigma, std::uint64_t seed) {
  cv::Mat noise(frame.size(), CV_32FC3), noisy;
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
  frame.convertTo(noisy, CV_32FC3);
  noisy += noise;
  noisy.convertTo(noisy, CV_8UC3);
  return noisy;
}

// Writes `video` losslessly to PATH (.avi): FFV1, or "PNG " where this OpenCV build cannot
// encode FFV1. Returns the fourcc used; throws FrameIoError naming both when neither works.
inline std::string write_lossless_avi(const Video& video, const std::string& path, double fps = 24) {
  try {
    write_video_file(video, path, "FFV1", fps);
    return "FFV1";
  } catch (const FrameIoError& ffv1) {
    try {
      write_video_file(video, path, "PNG ", fps);
      return "PNG ";
    } catch (const FrameIoError& png) {
      throw FrameIoError(std::string("no lossless codec: ") + ffv1.what() + "; " + png.what());
    }
  }
}

}  // namespace ffn::test
