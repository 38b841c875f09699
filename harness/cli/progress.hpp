#pragma once
// Progress of a long command, on a terminal only: "[i/n] 12 s elapsed, about 40 s left: case"
// on stderr, erased while a result row is printed to stdout and drawn again after it. Piped
// output gets no progress line, only the rows, each flushed as soon as its case is judged.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace ffn::cli {

class TerminalProgress {
 public:
  // Enabled when stderr is a terminal and `enabled` allows it (a process that does not
  // report stays silent).
  explicit TerminalProgress(bool enabled = true);
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;
  ~TerminalProgress();

  // Item `index` of `count` starts; `what` names it.
  void started(std::size_t index, std::size_t count, const std::string& what);
  // `done` of `count` items are finished: the estimate of what is left is based on them.
  void finished(std::size_t done, std::size_t count);
  // Prints through `print` (rows on stdout, flushed) with the progress line out of the way.
  void print(const std::function<void()>& print);
  // Erases the progress line for good (before a final table or an error line).
  void clear();

 private:
  void draw();

  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::size_t index_ = 0, count_ = 0, done_ = 0;
  std::string what_;
};

}  // namespace ffn::cli
