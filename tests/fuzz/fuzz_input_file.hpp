#pragma once
// The readers under test take paths, as the CLI hands them files: each fuzz input is written
// to a file in a directory of its own (under $TMPDIR, which ci/fuzz.sh points at a scratch
// directory it removes).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ffn::fuzz {

inline void write_input(const std::filesystem::path& file, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  // Not a finding about the reader: the input never reached it.
  if (!out.flush()) {
    std::fprintf(stderr, "fuzz: cannot write the input to %s\n", file.c_str());
    std::abort();
  }
}

}  // namespace ffn::fuzz
