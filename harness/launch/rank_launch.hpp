#pragma once
// How the TP ranks of a sweep are laid over processes and devices (`--comm`):
//   simulated  every rank in this process, collectives by the AllReduce models (default);
//   mpi        one rank per process, started by mpirun/srun/torchrun, CPU tensors, collectives
//              by MPI message passing that round as the AllReduce models; tp = world size;
//   nccl       GPUs through NCCL: one process per GPU when a launcher started several
//              processes (tp = world size, the NCCL id broadcast over MPI, device = local
//              rank), otherwise one process driving tp GPUs (ncclCommInitAll).
// Starting a launch bootstraps what it needs (MPI, devices); errors are one line.
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "harness/launch/case_execution.hpp"

namespace ffn {

enum class CommKind { simulated, mpi, nccl };
std::string_view comm_kind_name(CommKind k);
std::optional<CommKind> parse_comm_kind(std::string_view name);

// A launch that cannot start: what() is one line naming the cause.
class LaunchError : public std::runtime_error {
 public:
  enum class Cause { usage, no_device };
  // `own_rank_only`: the process cannot trust the rank its launcher gave it (MPI disagrees),
  // so it reports the error itself instead of leaving it to rank 0.
  explicit LaunchError(const std::string& what, bool own_rank_only = false, Cause cause = Cause::usage)
      : std::runtime_error(what), own_rank_only_(own_rank_only), cause_(cause) {}
  bool own_rank_only() const { return own_rank_only_; }
  // The exit status (README, "Exit status"): 3 when no usable device (or not enough of them)
  // is the cause, 2 otherwise.
  int exit_status() const { return cause_ == Cause::no_device ? 3 : 2; }

 private:
  bool own_rank_only_;
  Cause cause_;
};

class RankLaunch {
 public:
  virtual ~RankLaunch() = default;
  virtual CommKind kind() const = 0;
  // This process's rank in the launch and the number of processes.
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  // The TP size every case must have (one rank per process), or nullopt for any.
  virtual std::optional<int> required_tp() const { return std::nullopt; }
  // The largest TP size it can run (one process driving several devices has that many).
  virtual int max_tp() const { return std::numeric_limits<int>::max(); }
  // Whether this process reports (prints, writes files): rank 0.
  bool reports() const { return rank() == 0; }
  virtual CaseExecution execution() = 0;
  // Pins the collectives to the AllReduce models the cases ask for, before any communicator
  // exists, and returns what was pinned for the report ("" where nothing needs pinning: the
  // simulated and MPI communicators compute the model itself). NCCL: its algorithm, protocol
  // and channels (nccl_pinning.hpp), one model per run; throws LaunchError (usage) for a model
  // NCCL cannot be pinned to.
  virtual std::string pin_reduction(const std::vector<AllReduceConfig>& /*models*/) { return {}; }
  // Ends every process of the launch with this status: one rank failing alone must not
  // leave the others waiting in a collective.
  [[noreturn]] virtual void abort(int exit_code) const;
};

std::unique_ptr<RankLaunch> start_launch(CommKind kind);
// Whether this build can launch `kind` at all (MPI, NCCL found at configure time).
bool comm_built(CommKind kind);
// Whether this process reports an error of start_launch: rank 0 of its launcher, a process
// no launcher started, or one whose rank is in doubt (so that N processes failing alike
// print one line, not N).
bool reports_launch_error(const LaunchError& e);

// Throws LaunchError naming the first TP size the launch cannot run.
void check_tp(const RankLaunch& launch, const std::vector<int>& tps);

}  // namespace ffn
