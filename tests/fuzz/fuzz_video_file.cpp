// libFuzzer target: the bytes of a video file, read by read_video_file and read_video_fps as
// `frames compare|bless VIDEO` read it. The file has no extension, so FFmpeg picks the
// container by content alone. FrameIoError is the expected outcome of bad bytes; any other
// exception, a crash or a sanitizer report is a finding.
#include "fuzz_input_file.hpp"
#include "metrics/frame_io.hpp"
#include "temp_dir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ffn::test::TempDir dir("ffn-fuzz-video");
  const std::string file = dir.file("video");
  ffn::fuzz::write_input(file, data, size);
  try {
    ffn::read_video_file(file);
    ffn::read_video_fps(file);
  } catch (const ffn::FrameIoError&) {
  }
  return 0;
}
