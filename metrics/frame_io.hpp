#pragma once
// Where frames come from and go: video files through OpenCV videoio (mp4, avi), directories
// of PNG frames, and the frames stored in a golden (goldens/SCHEMA.md). The file functions run
// in a module loaded on first use (frame_codecs.hpp); a module that cannot be found or loaded
// is a FrameIoError like any other, naming the file and the module's paths. Every failure is a
// FrameIoError with one line naming the path and the reason; what FFmpeg or libpng print
// while a file is read or written goes into that line, not to stderr (these functions
// redirect stderr while they run; they may run concurrently with each other, not with other
// output to stderr).
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/frames.hpp"

namespace ffn {

class FrameIoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Frames one at a time, so that a comparison can score frames while the rest decode and hold
// a few frames instead of whole videos. next() returns false after the last frame. Every
// failure throws FrameIoError naming the file, checks included: a frame that is not CV_8UC3 or
// not frame 0's size, a video that ends before its container says (from the last next()).
// A video file's next() decodes into frame's buffer when frame is its only owner (a recycled
// frame: no new pages to fault in) and allocates a new one otherwise.
class FrameReader {
 public:
  virtual ~FrameReader() = default;
  virtual bool next(cv::Mat& frame) = 0;
};

std::unique_ptr<FrameReader> open_video_file(const std::string& path);
std::unique_ptr<FrameReader> open_png_dir(const std::string& dir);  // *.png in name order
// Frames already in memory (golden frames): handed out in order, unchecked.
std::unique_ptr<FrameReader> frames_in_memory(Video video);
Video read_all(FrameReader& reader);

Video read_video_file(const std::string& path);
// The frame rate the container declares; 0 when it declares none.
double read_video_fps(const std::string& path);
Video read_png_dir(const std::string& dir);  // *.png in name order
void write_png_dir(const Video& video, const std::string& dir);
// fourcc "FFV1" (lossless, .avi), "MJPG" (.avi), "mp4v" (.mp4).
void write_video_file(const Video& video, const std::string& path, const std::string& fourcc, double fps);
// The bytes of image as a PNG file; name is what an error names (the file they will go to).
std::vector<unsigned char> encode_png(const cv::Mat& image, const std::string& name);

}  // namespace ffn
