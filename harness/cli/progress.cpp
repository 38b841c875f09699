#include "harness/cli/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>

namespace ffn::cli {

namespace {

// "4.2 s", "3 min 10 s", "1 h 05 min": a duration for a person.
std::string human_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, s % 3600 / 60);
}

}  // namespace

TerminalProgress::TerminalProgress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}

TerminalProgress::~TerminalProgress() { clear(); }

void TerminalProgress::started(std::size_t index, std::size_t count, const std::string& what) {
  index_ = index, count_ = count, what_ = what;
  draw();
}

void TerminalProgress::finished(std::size_t done, std::size_t count) {
  done_ = done, count_ = count;
  draw();
}

void TerminalProgress::print(const std::function<void()>& print) {
  const bool was_shown = shown_;
  clear();
  print();
  std::cout << std::flush;
  if (was_shown) draw();
}

void TerminalProgress::clear() {
  if (!shown_) return;
  std::cerr << "\r\033[K" << std::flush;
  shown_ = false;
}

void TerminalProgress::draw() {
  if (!enabled_ || count_ == 0) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Only once something has finished is there a rate to extrapolate from.
  const std::string left =
      done_ > 0 && done_ < count_
          ? fmt::format(", about {} left", human_duration(elapsed / double(done_) * double(count_ - done_)))
          : "";
  std::cerr << fmt::format("\r\033[K[{}/{}] {} elapsed{}{}{}", std::min(std::max(index_ + 1, done_), count_), count_,
                           human_duration(elapsed), left, what_.empty() ? "" : ": ", what_)
            << std::flush;
  shown_ = true;
}

}  // namespace ffn::cli
