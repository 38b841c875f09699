// libFuzzer target: the bytes of a safetensors checkpoint, parsed from memory (the header
// validation alone) and opened as a file the way `run --weights` opens it (memory-mapped),
// then every tensor decoded. The reader's one-line SafetensorsError is the expected outcome
// of bad bytes; any other exception, a crash or a sanitizer report is a finding.
#include "fuzz_input_file.hpp"
#include "harness/inputs/safetensors.hpp"
#include "temp_dir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace st = ffn::safetensors;
  try {
    st::parse_header(reinterpret_cast<const std::byte*>(data), size, "fuzz input");
  } catch (const st::SafetensorsError&) {
  }
  static const ffn::test::TempDir dir("ffn-fuzz-safetensors");
  const std::string file = dir.file("model.safetensors");
  ffn::fuzz::write_input(file, data, size);
  try {
    const st::Checkpoint checkpoint = st::Checkpoint::open(file);
    for (const std::string& name : checkpoint.names()) {
      try {
        checkpoint.read_float(name);
      } catch (const st::SafetensorsError&) {  // non-finite values, inexact F64
      }
    }
  } catch (const st::SafetensorsError&) {
  }
  return 0;
}
