#include "metrics/streamed_comparison.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace ffn {

namespace {

// Frames a side may decode ahead of the scoring: enough to ride out one slow frame, few enough
// that a comparison holds tens of frames, not the videos.
constexpr std::size_t k_ahead = 16;
constexpr std::size_t k_helper_waiting = k_ahead / 2;

struct Side {
  FrameReader* reader = nullptr;
  std::vector<cv::Mat> frames;  // by frame number; a frame is moved out when it is scored
  std::vector<cv::Mat> spare;   // scored frames, to decode into again
  bool done = false;
  std::exception_ptr error;
};

}  // namespace

VideoScore compare_streams(FrameReader& a, FrameReader& b, SsimKind kind) {
  std::mutex mutex;
  std::condition_variable changed;
  Side sides[2];
  sides[0].reader = &a;
  sides[1].reader = &b;
  std::size_t claimed = 0;  // frames [0, claimed) are handed to workers
  bool stop = false;
  std::vector<ScoredFrame> scored;
  std::optional<std::pair<std::size_t, std::string>> mismatch;  // the earliest pair that cannot be compared
  std::exception_ptr worker_error;

  const auto decode = [&](Side& me, const Side& other) {
    try {
      for (;;) {
        cv::Mat frame;
        {
          std::unique_lock lock(mutex);
          // Past the other side's end a frame has no partner: it is only counted, never held.
          changed.wait(lock, [&] {
            return stop || me.frames.size() < claimed + k_ahead || (other.done && me.frames.size() >= other.frames.size());
          });
          if (stop) return;
          if (!me.spare.empty()) {
            frame = std::move(me.spare.back());
            me.spare.pop_back();
          }
        }
        const bool got = me.reader->next(frame);
        const std::lock_guard lock(mutex);
        if (!got) {
          me.done = true;
        } else {
          if (other.done && me.frames.size() >= other.frames.size()) frame.release();
          me.frames.push_back(std::move(frame));
        }
        changed.notify_all();
        if (!got) return;
      }
    } catch (...) {
      const std::lock_guard lock(mutex);
      me.error = std::current_exception();
      me.done = stop = true;
      changed.notify_all();
    }
  };

  // A scorer takes the next pair once `least_waiting` pairs are decoded and unclaimed, or any
  // pair once both sides are decoded to the end.
  const auto score = [&](std::size_t least_waiting) {
    for (;;) {
      std::size_t i = 0;
      cv::Mat frame_a, frame_b;
      {
        std::unique_lock lock(mutex);
        const auto ready = [&] {
          const std::size_t waiting = std::min(sides[0].frames.size(), sides[1].frames.size()) - claimed;
          return waiting >= least_waiting || (waiting > 0 && sides[0].done && sides[1].done);
        };
        changed.wait(lock, [&] { return stop || ready() || (sides[0].done && sides[1].done); });
        if (stop || !ready()) return;
        i = claimed++;
        frame_a = std::move(sides[0].frames[i]);
        frame_b = std::move(sides[1].frames[i]);
        changed.notify_all();  // a decoder waiting on the bound may go on
      }
      try {
        const ScoredFrame s = score_frame(frame_a, frame_b, i, kind);
        const std::lock_guard lock(mutex);
        if (scored.size() <= i) scored.resize(i + 1);
        scored[i] = s;
        sides[0].spare.push_back(std::move(frame_a));
        sides[1].spare.push_back(std::move(frame_b));
      } catch (const std::invalid_argument& e) {
        const std::lock_guard lock(mutex);
        if (!mismatch || i < mismatch->first) mismatch.emplace(i, e.what());
        stop = true;
        changed.notify_all();
      } catch (...) {
        const std::lock_guard lock(mutex);
        if (!worker_error) worker_error = std::current_exception();
        stop = true;
        changed.notify_all();
      }
    }
  };

  {
    std::vector<std::jthread> threads;
    threads.emplace_back(decode, std::ref(sides[0]), std::cref(sides[1]));
    threads.emplace_back(decode, std::ref(sides[1]), std::cref(sides[0]));
    // The two decoders keep a core each busy; the scorers get the rest, and at least one. One more
    // scorer steps in while k_helper_waiting pairs wait: the decoders are then near their bound,
    // about to block, and their cores free. On two cores (ci/bench-frames.sh's pairs, 10 rounds in
    // turns) it takes h264, where scoring is most of the work, from 0.71 to 0.64 s; PNG in AVI,
    // where all four threads have work, stays within 1% (1.09 s); an unconditional second scorer
    // also cost FFV1, decode-bound, 4%.
    const unsigned cores = std::thread::hardware_concurrency();
    const unsigned workers = cores > 3 ? cores - 2 : 1;
    for (unsigned w = 0; w < workers; ++w) threads.emplace_back(score, 1);
    threads.emplace_back(score, k_helper_waiting);
  }  // joined here

  for (const Side& side : sides)
    if (side.error) std::rethrow_exception(side.error);
  if (worker_error) std::rethrow_exception(worker_error);
  if (mismatch) throw std::invalid_argument(mismatch->second);
  if (sides[0].frames.size() != sides[1].frames.size())
    throw std::invalid_argument(
        fmt::format("frame counts differ: {} vs {}", sides[0].frames.size(), sides[1].frames.size()));
  return summarize(scored, kind);
}

}  // namespace ffn
