// libFuzzer target: the bytes of a golden file, read by the validating reader that `golden
// check|diff|info` use, then as a frames golden as `frames compare FILE.h5` reads it. The
// readers' own one-line errors are the expected outcome of bad bytes; any other exception,
// a crash or a sanitizer report is a finding.
#include "fuzz_input_file.hpp"
#include "goldens/golden_file.hpp"
#include "goldens/golden_frames.hpp"
#include "temp_dir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ffn::test::TempDir dir("ffn-fuzz-golden");
  const std::string file = dir.file("golden.h5");
  ffn::fuzz::write_input(file, data, size);
  try {
    ffn::read_golden(file);
  } catch (const ffn::GoldenError&) {
  }
  try {
    ffn::read_frames_golden(file, ffn::k_frames_dataset);
  } catch (const ffn::GoldenError&) {
  }
  return 0;
}
