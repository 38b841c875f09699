#pragma once
// MPI for the lifetime of a sweep: initialised once per process, after the launcher
// environment has been checked (Open MPI would otherwise start a singleton world of one
// without complaint), and finalised when the session ends.
#include "harness/launch/process_group.hpp"

namespace ffn {

class MpiSession {
 public:
  // Initialises MPI and checks that its world is the one the launcher announced. Throws
  // ProcessGroupError (one line) when no launcher started this process or the worlds differ.
  explicit MpiSession(const ProcessGroup& group);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const ProcessGroup& group() const { return group_; }

  // Rank 0's bytes on every rank.
  void broadcast(void* data, int bytes, int root = 0) const;
  // Ends every process of the world: a rank that fails alone must not leave the others
  // waiting in a collective.
  [[noreturn]] void abort(int exit_code) const;

 private:
  ProcessGroup group_;
  int rank_ = 0;
  int world_size_ = 1;
};

}  // namespace ffn
