#pragma once
// What frame_io needs from OpenCV's videoio and imgcodecs, as a table of functions that a
// module (libffn_frame_codecs.so, frame_codecs.cpp) hands out. Those two libraries pull in
// FFmpeg, GDAL, DICOM and ~220 more shared libraries; resolving their symbols took 0.1 s of
// every process start (`LD_DEBUG=statistics`: 88% of the loader's time in relocations), in
// every run, test and Catch2 case, whether or not it touches a file of frames. frame_io loads
// the module with dlopen the first time a file of frames is read or written.
#include <memory>
#include <string>
#include <vector>

#include "metrics/frame_io.hpp"

namespace ffn {

// Bumped whenever the table changes: a module from another build is refused, not called.
inline constexpr int k_frame_codecs_abi = 1;

struct FrameCodecs {
  int abi;
  std::unique_ptr<FrameReader> (*open_video_file)(const std::string& path);
  std::unique_ptr<FrameReader> (*open_png_dir)(const std::string& dir);
  double (*read_video_fps)(const std::string& path);
  void (*write_png_dir)(const Video& video, const std::string& dir);
  void (*write_video_file)(const Video& video, const std::string& path, const std::string& fourcc, double fps);
  std::vector<unsigned char> (*encode_png)(const cv::Mat& image, const std::string& name);
};

}  // namespace ffn

// The module's one entry point (C linkage: found by name with dlsym).
extern "C" const ffn::FrameCodecs* ffn_frame_codecs();
