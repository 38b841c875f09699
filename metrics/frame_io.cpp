#include "metrics/frame_io.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

namespace ffn {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& reason, const std::string& detail = "") {
  throw FrameIoError(detail.empty() ? fmt::format("{}: {}", path, reason)
                                    : fmt::format("{}: {} ({})", path, reason, detail));
}

std::string size_text(const cv::Mat& m) { return fmt::format("{}x{}", m.cols, m.rows); }

// FFmpeg, OpenCV's FFmpeg backend and libpng print their complaints straight to stderr
// ("moov atom not found", "libpng error: Read Error"). While they run, fd 2 points at a
// temporary file, and the last thing they said becomes part of our one-line error instead of
// stray lines around it. The redirection is process-wide and shared: the first capture to
// start redirects, the last to finish restores, and each reads what was written since it
// started, so two sides of a comparison can be decoded concurrently (a complaint of the one
// may then show in the other's detail; the error line itself always names the right file).
class StderrCapture {
 public:
  StderrCapture() {
    const std::lock_guard lock(mutex_);
    if (users_++ == 0) {
      std::fflush(stderr);
      file_ = std::tmpfile();
      if (file_) saved_ = ::dup(STDERR_FILENO);
      if (saved_ >= 0 && ::dup2(::fileno(file_), STDERR_FILENO) < 0) restore();
    }
    if (file_) start_ = ::lseek(::fileno(file_), 0, SEEK_END);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() { release(); }

  // Stops capturing for this user and returns the last line printed since it started,
  // without FFmpeg's "[component @ 0xaddress] " prefix.
  std::string finish() {
    std::string text;
    {
      const std::lock_guard lock(mutex_);
      if (file_ && active_) {
        std::fflush(stderr);
        const off_t end = ::lseek(::fileno(file_), 0, SEEK_END);
        if (end > start_) {
          text.resize(static_cast<std::size_t>(end - start_));
          const ssize_t got = ::pread(::fileno(file_), text.data(), text.size(), start_);
          text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        }
      }
    }
    release();
    std::string last;
    for (std::size_t start = 0, end; start < text.size(); start = end + 1) {
      end = std::min(text.find('\n', start), text.size());
      std::string line = text.substr(start, end - start);
      if (line.starts_with('[') && line.find("] ") != std::string::npos) line.erase(0, line.find("] ") + 2);
      if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
    }
    constexpr std::size_t k_longest = 200;
    return last.size() > k_longest ? last.substr(0, k_longest) + "..." : last;
  }

 private:
  void release() {
    const std::lock_guard lock(mutex_);
    if (!active_) return;
    active_ = false;
    if (--users_ > 0) return;
    restore();
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  static void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

  static inline std::mutex mutex_;
  static inline int users_ = 0;
  static inline std::FILE* file_ = nullptr;
  static inline int saved_ = -1;
  off_t start_ = 0;
  bool active_ = true;
};

// At least one frame, all CV_8UC3 of one size.
void require_uniform(const Video& video, const std::string& path) {
  if (video.empty()) fail(path, "no frames to write");
  for (std::size_t i = 0; i < video.size(); ++i) {
    if (video[i].type() != CV_8UC3)
      fail(path, fmt::format("frame {} is {}; frames must be 8-bit 3-channel (CV_8UC3)", i,
                             cv::typeToString(video[i].type())));
    if (video[i].size() != video[0].size())
      fail(path, fmt::format("frame {} is {}, frame 0 is {}: the frame size changes", i, size_text(video[i]),
                             size_text(video[0])));
  }
}

std::vector<unsigned char> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), {});
  if (!in.good() && !in.eof()) fail(file.string(), "cannot be read");
  return bytes;
}

cv::VideoCapture open_video(const std::string& path, StderrCapture& said) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "no such file");
  if (fs::is_directory(path, ec)) fail(path, "is a directory, not a video file");
  // FFmpeg only: the default backend list would also read "name%04d.png" as an image sequence.
  cv::VideoCapture capture;
  if (!capture.open(path, cv::CAP_FFMPEG))
    fail(path, "cannot open: not a video, or its container or codec is not supported", said.finish());
  return capture;
}

}  // namespace

Video read_video_file(const std::string& path) {
  StderrCapture said;
  cv::VideoCapture capture = open_video(path, said);
  const double declared = capture.get(cv::CAP_PROP_FRAME_COUNT);
  Video frames;
  // Moved out, so that the next read() allocates afresh instead of overwriting this frame.
  for (cv::Mat frame; capture.read(frame);) frames.push_back(std::move(frame));
  const std::string detail = said.finish();
  if (frames.empty()) fail(path, "no frames decoded (empty, truncated or damaged video)", detail);
  require_uniform(frames, path);
  // A cut-off file still opens and decodes up to the cut without an error; the container's
  // frame count (its index, or duration x rate where it has none) is what gives it away.
  if (static_cast<double>(frames.size()) < declared)
    fail(path, fmt::format("truncated or damaged: decoded {} of the {} frames its container declares",
                           frames.size(), declared),
         detail);
  return frames;
}

double read_video_fps(const std::string& path) {
  StderrCapture said;
  const double fps = open_video(path, said).get(cv::CAP_PROP_FPS);
  return std::isfinite(fps) && fps > 0 ? fps : 0;
}

Video read_png_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(dir, "no such directory");
  if (!fs::is_directory(dir, ec)) fail(dir, "is not a directory");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".png" && !it->is_directory(ec)) files.push_back(it->path());
  if (ec) fail(dir, "cannot list the directory", ec.message());
  if (files.empty()) fail(dir, "holds no .png files");
  std::sort(files.begin(), files.end());

  Video frames;
  for (const fs::path& file : files) {
    const std::string name = file.string();
    const std::vector<unsigned char> bytes = read_bytes(file);
    static constexpr unsigned char k_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    // imdecode goes by content, not by name: without this a JPEG named .png would be accepted.
    if (bytes.size() < sizeof k_signature || !std::equal(std::begin(k_signature), std::end(k_signature), bytes.begin()))
      fail(name, "not a PNG file (no PNG signature)");
    StderrCapture said;
    cv::Mat frame = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    if (frame.empty()) fail(name, "cannot decode: damaged PNG", said.finish());
    if (frame.depth() != CV_8U) fail(name, "is not an 8-bit PNG; frames must be 8-bit RGB");
    if (frame.channels() != 3)
      fail(name, fmt::format("has {} channel(s) (gray or with alpha); frames must be 8-bit RGB", frame.channels()));
    if (!frames.empty() && frame.size() != frames[0].size())
      fail(name, fmt::format("is {}, but {} is {}", size_text(frame), files[0].filename().string(),
                             size_text(frames[0])));
    frames.push_back(std::move(frame));
  }
  return frames;
}

void write_png_dir(const Video& video, const std::string& dir) {
  require_uniform(video, dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create the directory", ec.message());
  // Stale frames of a longer video would be read back as part of this one.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".png") fail(dir, "already holds .png files; write the frames to an empty directory");
  for (std::size_t i = 0; i < video.size(); ++i) {
    const std::string file = (fs::path(dir) / fmt::format("frame_{:04d}.png", i)).string();
    StderrCapture said;
    bool written = false;
    try {
      written = cv::imwrite(file, video[i]);
    } catch (const cv::Exception& e) {
      fail(file, "cannot write", e.err);
    }
    if (!written) fail(file, "cannot write", said.finish());
  }
}

void write_video_file(const Video& video, const std::string& path, const std::string& fourcc, double fps) {
  if (fourcc.size() != 4) fail(path, fmt::format("fourcc '{}' is not 4 characters", fourcc));
  if (!(fps > 0)) fail(path, fmt::format("frame rate {} is not positive", fps));
  require_uniform(video, path);
  StderrCapture said;
  cv::VideoWriter writer;
  if (!writer.open(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]), fps,
                   video[0].size(), true))
    fail(path,
         fmt::format("cannot open a video writer for fourcc '{}' (codec or container not supported, or the "
                     "directory is not writable)",
                     fourcc),
         said.finish());
  for (const cv::Mat& frame : video) writer.write(frame);
  writer.release();
  const std::string detail = said.finish();
  std::error_code ec;
  // VideoWriter::write reports nothing; an encoder that failed leaves an empty file.
  if (fs::file_size(path, ec) == 0 || ec) fail(path, "the encoder wrote nothing", detail);
}

}  // namespace ffn
