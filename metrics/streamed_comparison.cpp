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

  // The two decoders keep a core each busy; the scorers get the rest, and at least one. A helper
  // scores besides them on a core no other thread wants: while enough decoders have nothing to
  // do (each waits on the read-ahead bound, or its side has ended) that it makes no more
  // threads run than there are cores. On two cores that is both decoders: h264, where scoring
  // is most of the work, 0.71 -> 0.64 s; png-avi and FFV1, where the decoders are busy, within
  // 1.2% (ci/bench-frames.sh's pairs, 10 rounds in turns, least times). A helper that joined
  // whenever one decoder waited cost png-avi 3-4%.
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int workers = cores > 3 ? cores - 2 : 1;
  const int idle_decoders_for_helper = 2 + workers + 1 - cores;
  const auto score = [&](bool helper) {
    for (;;) {
      std::size_t i = 0;
      cv::Mat frame_a, frame_b;
      {
        std::unique_lock lock(mutex);
        const auto ready = [&] {
          const bool waiting = claimed < std::min(sides[0].frames.size(), sides[1].frames.size());
          const auto idle = [&](const Side& s) { return s.done || s.frames.size() >= claimed + k_ahead ? 1 : 0; };
          return waiting && (!helper || idle(sides[0]) + idle(sides[1]) >= idle_decoders_for_helper);
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
    for (int w = 0; w < workers; ++w) threads.emplace_back(score, false);
    threads.emplace_back(score, true);
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
