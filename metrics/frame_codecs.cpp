// The half of frame_io that needs OpenCV's videoio and imgcodecs, built as a module that
// frame_io loads on first use (frame_codecs.hpp says why). Failures throw FrameIoError with
// one line naming the file, as frame_io.hpp promises.
#include "metrics/frame_codecs.hpp"

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

std::string size_text(cv::Size s) { return fmt::format("{}x{}", s.width, s.height); }
std::string size_text(const cv::Mat& m) { return size_text(m.size()); }

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

// Frames of one video: each CV_8UC3 and of frame 0's size.
class UniformFrames {
 public:
  void frame(const cv::Mat& f, std::size_t i, const std::string& path) {
    if (f.type() != CV_8UC3)
      fail(path, fmt::format("frame {} is {}; frames must be 8-bit 3-channel (CV_8UC3)", i, cv::typeToString(f.type())));
    if (i == 0) first_ = f.size();
    if (f.size() != first_)
      fail(path, fmt::format("frame {} is {}, frame 0 is {}: the frame size changes", i, size_text(f),
                             size_text(first_)));
  }

 private:
  cv::Size first_;
};

// At least one frame, all CV_8UC3 of one size.
void require_uniform(const Video& video, const std::string& path) {
  if (video.empty()) fail(path, "no frames to write");
  UniformFrames check;
  for (std::size_t i = 0; i < video.size(); ++i) check.frame(video[i], i, path);
}

std::vector<unsigned char> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), {});
  if (!in.good() && !in.eof()) fail(file.string(), "cannot be read");
  return bytes;
}

// A frame's buffer may be decoded into only when nobody else holds it (and it is not memory
// the Mat merely points at).
void release_if_shared(cv::Mat& frame) {
  if (frame.u == nullptr || frame.u->refcount > 1) frame = cv::Mat();
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

// The frames of a video file through OpenCV's FFmpeg backend. What FFmpeg prints while the
// file is open ends up in the error line of a failure.
class VideoFileReader final : public FrameReader {
 public:
  explicit VideoFileReader(const std::string& path) : path_(path), capture_(open_video(path, said_)) {
    declared_ = capture_.get(cv::CAP_PROP_FRAME_COUNT);
  }

  bool next(cv::Mat& frame) override {
    if (ended_) return false;
    release_if_shared(frame);
    // grab and retrieve, not read: read reports a frame whenever the buffer is not empty, and a
    // recycled buffer is not empty even when retrieving fails.
    if (capture_.grab() && capture_.retrieve(frame)) {
      check_.frame(frame, count_++, path_);
      return true;
    }
    ended_ = true;
    const std::string detail = said_.finish();
    if (count_ == 0) fail(path_, "no frames decoded (empty, truncated or damaged video)", detail);
    // A cut-off file still opens and decodes up to the cut without an error; the container's
    // frame count (its index, or duration x rate where it has none) is what gives it away.
    if (static_cast<double>(count_) < declared_)
      fail(path_,
           fmt::format("truncated or damaged: decoded {} of the {} frames its container declares", count_, declared_),
           detail);
    return false;
  }

 private:
  std::string path_;
  StderrCapture said_;
  cv::VideoCapture capture_;
  double declared_ = 0;
  std::size_t count_ = 0;
  bool ended_ = false;
  UniformFrames check_;
};

class PngDirReader final : public FrameReader {
 public:
  explicit PngDirReader(const std::string& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) fail(dir, "no such directory");
    if (!fs::is_directory(dir, ec)) fail(dir, "is not a directory");
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".png" && !it->is_directory(ec)) files_.push_back(it->path());
    if (ec) fail(dir, "cannot list the directory", ec.message());
    if (files_.empty()) fail(dir, "holds no .png files");
    std::sort(files_.begin(), files_.end());
  }

  bool next(cv::Mat& frame) override {
    if (next_ == files_.size()) return false;
    const fs::path& file = files_[next_++];
    const std::string name = file.string();
    const std::vector<unsigned char> bytes = read_bytes(file);
    static constexpr unsigned char k_signature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    // imdecode goes by content, not by name: without this a JPEG named .png would be accepted.
    if (bytes.size() < sizeof k_signature || !std::equal(std::begin(k_signature), std::end(k_signature), bytes.begin()))
      fail(name, "not a PNG file (no PNG signature)");
    StderrCapture said;
    // Always a new buffer: imdecode into a given one leaves it as it was (the last frame) when
    // the header cannot be read, and returns it all the same (OpenCV 4.6).
    frame = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    if (frame.empty()) fail(name, "cannot decode: damaged PNG", said.finish());
    if (frame.depth() != CV_8U) fail(name, "is not an 8-bit PNG; frames must be 8-bit RGB");
    if (frame.channels() != 3)
      fail(name, fmt::format("has {} channel(s) (gray or with alpha); frames must be 8-bit RGB", frame.channels()));
    if (next_ == 1) first_size_ = frame.size();
    if (frame.size() != first_size_)
      fail(name, fmt::format("is {}, but {} is {}", size_text(frame), files_[0].filename().string(),
                             size_text(first_size_)));
    return true;
  }

 private:
  std::vector<fs::path> files_;
  std::size_t next_ = 0;
  cv::Size first_size_;
};

double read_video_fps(const std::string& path) {
  StderrCapture said;
  const double fps = open_video(path, said).get(cv::CAP_PROP_FPS);
  return std::isfinite(fps) && fps > 0 ? fps : 0;
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

std::vector<unsigned char> encode_png(const cv::Mat& image, const std::string& name) {
  StderrCapture said;
  std::vector<unsigned char> png;
  bool encoded = false;
  try {
    encoded = cv::imencode(".png", image, png);
  } catch (const cv::Exception& e) {
    fail(name, "cannot encode the PNG", e.err);
  }
  if (!encoded) fail(name, "cannot encode the PNG", said.finish());
  return png;
}

std::unique_ptr<FrameReader> open_video_file(const std::string& path) {
  return std::make_unique<VideoFileReader>(path);
}

std::unique_ptr<FrameReader> open_png_dir(const std::string& dir) { return std::make_unique<PngDirReader>(dir); }

constexpr FrameCodecs k_frame_codecs{k_frame_codecs_abi, open_video_file, open_png_dir, read_video_fps,
                                     write_png_dir,      write_video_file, encode_png};

}  // namespace

}  // namespace ffn

extern "C" const ffn::FrameCodecs* ffn_frame_codecs() { return &ffn::k_frame_codecs; }
