#include "goldens/golden_frames.hpp"

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <limits>

#include "goldens/golden_file.hpp"
#include "goldens/golden_writer.hpp"

namespace ffn {

namespace {

// HDF5 takes "frames/video" relative to the root; messages always show the absolute name.
std::string absolute(const std::string& dataset) { return dataset.starts_with('/') ? dataset : "/" + dataset; }

[[noreturn]] void fail(const h5::File& file, const std::string& dataset, const std::string& reason) {
  throw GoldenError(fmt::format("{}: {}: {}", file.path(), dataset, reason));
}

}  // namespace

void write_frames(h5::File& file, const std::string& dataset_name, const Video& video, double fps,
                  const std::string& description) {
  const std::string dataset = absolute(dataset_name);
  if (video.empty()) fail(file, dataset, "no frames to store");
  const cv::Size size = video[0].size();
  const std::size_t frame_bytes = video[0].total() * 3;
  std::vector<std::uint8_t> rgb(video.size() * frame_bytes);
  for (std::size_t i = 0; i < video.size(); ++i) {
    if (video[i].type() != CV_8UC3 || video[i].size() != size)
      fail(file, dataset,
           fmt::format("frame {} is {} {}x{}; every frame must be CV_8UC3 {}x{} like frame 0", i,
                       cv::typeToString(video[i].type()), video[i].cols, video[i].rows, size.width, size.height));
    cv::Mat out(size, CV_8UC3, rgb.data() + i * frame_bytes);
    cv::cvtColor(video[i], out, cv::COLOR_BGR2RGB);
  }
  file.write_u8(dataset, {static_cast<std::int64_t>(video.size()), size.height, size.width, 3}, rgb.data());
  file.set_attr(dataset, "fps", fps);
  file.set_attr(dataset, "channel_order", std::string("RGB"));
  describe(file, dataset, description);
}

Video read_frames(const h5::File& file, const std::string& dataset_name) {
  const std::string dataset = absolute(dataset_name);
  const h5::TensorData t = file.read(dataset);
  const auto& s = t.shape;
  if (s.size() != 4 || s[3] != 3)
    fail(file, dataset, fmt::format("shape [{}] is not [frames, height, width, 3]", fmt::join(s, ", ")));
  if (t.type != h5::ElementType::u8) fail(file, dataset, "element type is not uint8");
  constexpr std::int64_t k_int_max = std::numeric_limits<int>::max();
  if (s[0] <= 0 || s[1] <= 0 || s[2] <= 0 || s[1] > k_int_max || s[2] > k_int_max)
    fail(file, dataset, fmt::format("shape [{}] holds no frames", fmt::join(s, ", ")));
  const std::string order =
      file.attr_is_string(dataset, "channel_order") ? file.attr_string(dataset, "channel_order") : "";
  if (order != "RGB") fail(file, dataset, fmt::format("channel_order is '{}', expected 'RGB'", order));

  const cv::Size size(static_cast<int>(s[2]), static_cast<int>(s[1]));
  const std::size_t frame_bytes = static_cast<std::size_t>(s[1] * s[2] * 3);
  Video video(static_cast<std::size_t>(s[0]));
  for (std::size_t i = 0; i < video.size(); ++i) {
    const cv::Mat rgb(size, CV_8UC3, const_cast<std::uint8_t*>(t.u8.data() + i * frame_bytes));
    cv::cvtColor(rgb, video[i], cv::COLOR_RGB2BGR);
  }
  return video;
}

void write_frames_golden(const std::string& path, const Video& video, double fps, const std::string& source,
                         bool overwrite) {
  write_golden_atomically(path, overwrite, current_provenance("cpu", ""), [&](h5::File& f) {
    write_frames(f, k_frames_dataset, video, fps, "frames of the blessed video, uint8 RGB [frames, height, width, 3]");
    f.set_attr(k_frames_dataset, "source", source);
  });
}

Video read_frames_golden(const std::string& path, const std::string& dataset) {
  read_golden(path);
  try {
    return read_frames(h5::File::open(path), dataset);
  } catch (const h5::H5Error& e) {
    throw GoldenError(e.what());
  }
}

std::unique_ptr<FrameReader> open_frame_source(const std::string& side) {
  std::error_code ec;
  if (std::filesystem::is_directory(side, ec)) return open_png_dir(side);
  if (side.ends_with(".h5")) return frames_in_memory(read_frames_golden(side, k_frames_dataset));
  const std::size_t colon = side.find(".h5:");
  if (colon != std::string::npos)
    return frames_in_memory(read_frames_golden(side.substr(0, colon + 3), side.substr(colon + 4)));
  return open_video_file(side);
}

}  // namespace ffn
