// libFuzzer target: the bytes of one PNG frame in a frames directory, read by read_png_dir
// as `frames compare|bless DIR` reads it. FrameIoError is the expected outcome of bad bytes;
// any other exception, a crash or a sanitizer report is a finding.
#include "fuzz_input_file.hpp"
#include "metrics/frame_io.hpp"
#include "temp_dir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ffn::test::TempDir dir("ffn-fuzz-png");
  ffn::fuzz::write_input(dir / "frame_0000.png", data, size);
  try {
    ffn::read_png_dir(dir.path().string());
  } catch (const ffn::FrameIoError&) {
  }
  return 0;
}
