#pragma once
// Frames in a golden (goldens/SCHEMA.md, "Frames"): uint8 datasets [F, H, W, 3] in RGB order,
// as every other tool (h5py, numpy, PIL) expects them, with attributes `fps`, `channel_order`
// and `description`. In memory they are BGR cv::Mat frames, as OpenCV holds them.
#include <memory>
#include <string>

#include "harness/inputs/h5.hpp"
#include "metrics/frame_io.hpp"
#include "metrics/frames.hpp"

namespace ffn {

// The dataset `ffn-parity frames bless` writes and `frames compare FILE.h5` reads by default.
inline constexpr const char* k_frames_dataset = "/frames/video";

// Throws GoldenError when the frames are not all CV_8UC3 of one size (or there are none),
// h5::H5Error when HDF5 fails; either names the file and the dataset.
void write_frames(h5::File& file, const std::string& dataset, const Video& video, double fps,
                  const std::string& description);
// Throws GoldenError when the dataset is not uint8 [F, H, W, 3] with F, H, W > 0 in RGB order,
// h5::H5Error when it is missing or cannot be read.
Video read_frames(const h5::File& file, const std::string& dataset);

// A golden of one video (what `frames bless` writes): the root attributes of every golden,
// /frames/video and its attribute `source`. Atomic; refuses an existing PATH unless
// overwrite. Throws GoldenError.
void write_frames_golden(const std::string& path, const Video& video, double fps, const std::string& source,
                         bool overwrite);
// The frames of `dataset`, after checking that PATH is a golden this build reads. Throws
// GoldenError.
Video read_frames_golden(const std::string& path, const std::string& dataset);

// One side of a frame comparison (`frames compare`, the Python module): a directory of PNG
// frames, FILE.h5[:DATASET] (golden frames, k_frames_dataset by default, read whole), or else a
// video file. Throws what the readers throw (std::runtime_error with one line).
std::unique_ptr<FrameReader> open_frame_source(const std::string& side);

}  // namespace ffn
