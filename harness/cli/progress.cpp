#include "harness/cli/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

namespace ffn::cli {

ProgressFn terminal_progress() {
  if (!isatty(STDERR_FILENO)) return {};
  return [](std::size_t i, std::size_t n, const CaseConfig& c) {
    std::cerr << fmt::format("\r\033[K[{}/{}] {}", i + 1, n, c.name()) << std::flush;
  };
}

void clear_progress(const ProgressFn& progress) {
  if (progress) std::cerr << "\r\033[K" << std::flush;
}

}  // namespace ffn::cli
