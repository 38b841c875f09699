// Writes the videos the `ffn-parity frames` CLI tests and ci/bench-frames.sh compare:
//   OUTDIR/a.avi      structured frames, lossless
//   OUTDIR/b.avi      the same plus Gaussian noise (sigma 4, fixed seed), lossless
//   OUTDIR/short.avi  A without its last frame
//   OUTDIR/a_png/     A as PNG frames
// usage: make_test_video OUTDIR [FRAMES WIDTH HEIGHT]   (default 6 frames of 128x96)
#include <filesystem>
#include <iostream>
#include <string>

#include "frame_patterns.hpp"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 5) {
    std::cerr << "usage: make_test_video OUTDIR [FRAMES WIDTH HEIGHT]\n";
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  const int frames = argc == 5 ? std::stoi(argv[2]) : 6;
  const int width = argc == 5 ? std::stoi(argv[3]) : 128;
  const int height = argc == 5 ? std::stoi(argv[4]) : 96;
  try {
    fs::create_directories(dir);
    // write_png_dir refuses a directory that already holds frames (from an earlier run).
    fs::remove_all(dir / "a_png");
    const ffn::Video a = ffn::test::structured_video(width, height, frames);
    ffn::Video b;
    for (std::size_t i = 0; i < a.size(); ++i) b.push_back(ffn::test::with_noise(a[i], 4.0, 1000 + i));
    const std::string codec = ffn::test::write_lossless_avi(a, (dir / "a.avi").string());
    ffn::test::write_lossless_avi(b, (dir / "b.avi").string());
    ffn::test::write_lossless_avi(ffn::Video(a.begin(), a.end() - 1), (dir / "short.avi").string());
    ffn::write_png_dir(a, (dir / "a_png").string());
    std::cout << "wrote " << frames << " frames of " << width << "x" << height << " (" << codec << ") to " << dir.string()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "make_test_video: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
