#include "metrics/frame_io.hpp"

#include <dlfcn.h>
#include <link.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "metrics/frame_codecs.hpp"

namespace ffn {

namespace {

namespace fs = std::filesystem;

#if FFN_PARITY_VIDEO_IO
// Where the codecs module is looked for, first found wins: FFN_PARITY_FRAME_CODECS (a path
// to the module), beside the binary or Python module holding this code (an installed
// package), then where this build put it.
std::vector<std::string> module_candidates() {
  if (const char* given = std::getenv("FFN_PARITY_FRAME_CODECS"); given && *given) return {given};
  std::vector<std::string> paths;
  Dl_info self{};
  link_map* map = nullptr;
  if (::dladdr1(reinterpret_cast<const void*>(&module_candidates), &self, reinterpret_cast<void**>(&map),
                RTLD_DL_LINKMAP)) {
    // The main program's link map has no name, and dladdr then gives argv[0] as typed (no
    // directory when the program was found through PATH): its path is /proc/self/exe.
    std::error_code ec;
    const fs::path holder = map && map->l_name[0] == '\0' ? fs::read_symlink("/proc/self/exe", ec)
                                                          : fs::path(self.dli_fname ? self.dli_fname : "");
    if (!ec && holder.has_parent_path())
      paths.push_back((holder.parent_path() / FFN_PARITY_FRAME_CODECS_FILE).string());
  }
  paths.push_back(FFN_PARITY_FRAME_CODECS_PATH);
  return paths;
}
#endif

struct LoadedCodecs {
  const FrameCodecs* codecs = nullptr;
  std::string error;  // why there are none
};

LoadedCodecs load_codecs() {
#if !FFN_PARITY_VIDEO_IO
  // The GPU machine's bundle (ci/device-bundle.sh): FFmpeg and GDAL would not fit its carry limit.
  return {nullptr, "they need OpenCV videoio and imgcodecs: this build has FFN_PARITY_VIDEO_IO=OFF"};
#else
  const std::vector<std::string> candidates = module_candidates();
  std::error_code ec;
  const auto found = std::find_if(candidates.begin(), candidates.end(),
                                  [&](const std::string& path) { return fs::exists(path, ec); });
  if (found == candidates.end())
    return {nullptr, fmt::format("the frame codecs module is missing (looked for {})", fmt::join(candidates, ", "))};
  // Never unloaded: readers it made may outlive any one caller.
  void* module = ::dlopen(found->c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!module) return {nullptr, fmt::format("cannot load the frame codecs module ({})", ::dlerror())};
  using Entry = const FrameCodecs* (*)();
  const auto entry = reinterpret_cast<Entry>(::dlsym(module, "ffn_frame_codecs"));
  if (!entry) return {nullptr, fmt::format("{} is not a frame codecs module (no ffn_frame_codecs)", *found)};
  const FrameCodecs* codecs = entry();
  if (codecs->abi != k_frame_codecs_abi)
    return {nullptr, fmt::format("{} is from another build (interface {}, this binary needs {})", *found, codecs->abi,
                                 k_frame_codecs_abi)};
  return {codecs, ""};
#endif
}

// The codecs, or a FrameIoError naming the file the caller was about to touch.
const FrameCodecs& codecs_for(const std::string& path) {
  static const LoadedCodecs loaded = load_codecs();
  if (!loaded.codecs) throw FrameIoError(fmt::format("{}: cannot read or write video and PNG files: {}", path, loaded.error));
  return *loaded.codecs;
}

class InMemoryReader final : public FrameReader {
 public:
  explicit InMemoryReader(Video video) : video_(std::move(video)) {}
  bool next(cv::Mat& frame) override {
    if (next_ == video_.size()) return false;
    frame = std::move(video_[next_++]);
    return true;
  }

 private:
  Video video_;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<FrameReader> frames_in_memory(Video video) { return std::make_unique<InMemoryReader>(std::move(video)); }

Video read_all(FrameReader& reader) {
  Video frames;
  for (cv::Mat frame; reader.next(frame);) frames.push_back(std::move(frame));
  return frames;
}

Video read_video_file(const std::string& path) { return read_all(*open_video_file(path)); }

Video read_png_dir(const std::string& dir) { return read_all(*open_png_dir(dir)); }

std::unique_ptr<FrameReader> open_video_file(const std::string& path) {
  return codecs_for(path).open_video_file(path);
}

std::unique_ptr<FrameReader> open_png_dir(const std::string& dir) { return codecs_for(dir).open_png_dir(dir); }

double read_video_fps(const std::string& path) { return codecs_for(path).read_video_fps(path); }

void write_png_dir(const Video& video, const std::string& dir) { codecs_for(dir).write_png_dir(video, dir); }

void write_video_file(const Video& video, const std::string& path, const std::string& fourcc, double fps) {
  codecs_for(path).write_video_file(video, path, fourcc, fps);
}

std::vector<unsigned char> encode_png(const cv::Mat& image, const std::string& name) {
  return codecs_for(name).encode_png(image, name);
}

}  // namespace ffn
