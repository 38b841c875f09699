#pragma once
// `ffn-parity frames compare|bless`: PSNR and SSIM of decoded frames (DESIGN section 4)
// between videos, PNG directories and golden frames; storing a video as golden frames.
#include <CLI/CLI.hpp>

namespace ffn::cli {

void add_frames_command(CLI::App& app, int* exit_code);

}  // namespace ffn::cli
