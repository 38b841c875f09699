// Makes the damaged goldens the CLI tests feed to `ffn-parity golden` (golden_cli_tests.cmake),
// at test time in the build tree: damaged files are never committed.
//   golden_damage <good.h5> <dir>
// writes into <dir> (created, emptied of earlier results):
//   existing.h5   a byte copy of <good.h5>
//   not_hdf5.h5   a text file
//   empty.h5      an empty file
//   truncated.h5  the first half of <good.h5>
// and makes sure <dir>/missing.h5 does not exist.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

bool write(const fs::path& p, const char* data, std::size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(n));
  out.close();
  if (!out) std::cerr << "golden_damage: cannot write " << p << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: golden_damage <good.h5> <dir>\n";
    return 2;
  }
  const fs::path good = argv[1], dir = argv[2];
  std::ifstream in(good, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.is_open() || bytes.size() < 1024) {
    std::cerr << "golden_damage: cannot read " << good << "\n";
    return 1;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << "golden_damage: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  const std::string text = "this is a text file, not an ffn-parity golden\n";
  const bool ok = write(dir / "existing.h5", bytes.data(), bytes.size()) &&
                  write(dir / "not_hdf5.h5", text.data(), text.size()) &&
                  write(dir / "empty.h5", nullptr, 0) &&
                  write(dir / "truncated.h5", bytes.data(), bytes.size() / 2);
  return ok ? 0 : 1;
}
