#include "harness/launch/rank_launch.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "harness/launch/process_group.hpp"
#include "harness/tp/simulated_communicator.hpp"
#if FFN_PARITY_WITH_MPI
#include "harness/launch/mpi_communicator.hpp"
#include "harness/launch/mpi_session.hpp"
#endif
#if FFN_PARITY_WITH_NCCL
#include "harness/launch/nccl_communicator.hpp"
#include "harness/launch/nccl_pinning.hpp"
#endif

namespace ffn {

std::string_view comm_kind_name(CommKind k) {
  switch (k) {
    case CommKind::simulated: return "simulated";
    case CommKind::mpi: return "mpi";
    case CommKind::nccl: return "nccl";
  }
  return "?";
}

std::optional<CommKind> parse_comm_kind(std::string_view name) {
  for (auto k : {CommKind::simulated, CommKind::mpi, CommKind::nccl})
    if (comm_kind_name(k) == name) return k;
  return std::nullopt;
}

void RankLaunch::abort(int exit_code) const { std::exit(exit_code); }

bool reports_launch_error(const LaunchError& e) {
  if (e.own_rank_only()) return true;
  try {
    const std::optional<ProcessGroup> g = detect_process_group();
    return !g || g->rank == 0;
  } catch (const ProcessGroupError&) {
    return true;
  }
}

void check_tp(const RankLaunch& launch, const std::vector<int>& tps) {
  for (int tp : tps)
    if (tp > launch.max_tp())
      throw LaunchError(fmt::format("--tp: {} needs {} devices, --comm {} found {}", tp, tp,
                                    comm_kind_name(launch.kind()), launch.max_tp()),
                        false, LaunchError::Cause::no_device);
  const std::optional<int> required = launch.required_tp();
  if (!required) return;
  for (int tp : tps)
    if (tp != *required)
      throw LaunchError(fmt::format("--tp: {} is not the world size {}: --comm {} runs one TP rank per "
                                    "process, so tp must equal the number of processes the launcher started",
                                    tp, *required, comm_kind_name(launch.kind())));
}

namespace {

class SimulatedLaunch final : public RankLaunch {
 public:
  CommKind kind() const override { return CommKind::simulated; }
  CaseExecution execution() override { return {}; }
};

#if FFN_PARITY_WITH_MPI
// The launcher's environment, checked before MPI_Init: Open MPI would otherwise start a
// world of one for a process started by hand.
ProcessGroup launched_group(CommKind kind) {
  try {
    if (std::optional<ProcessGroup> g = detect_process_group()) return *g;
  } catch (const ProcessGroupError& e) {
    throw LaunchError(fmt::format("--comm {}: {}", comm_kind_name(kind), e.what()));
  }
  throw LaunchError(fmt::format("--comm {}: not started by a launcher (no OMPI_COMM_WORLD_RANK, RANK or "
                                "SLURM_PROCID in the environment); run it under mpirun -np N or srun",
                                comm_kind_name(kind)));
}

std::unique_ptr<MpiSession> start_mpi(CommKind kind, const ProcessGroup& group) {
  try {
    return std::make_unique<MpiSession>(group);
  } catch (const ProcessGroupError& e) {
    throw LaunchError(fmt::format("--comm {}: {}", comm_kind_name(kind), e.what()), /*own_rank_only=*/true);
  }
}

class MpiLaunch final : public RankLaunch {
 public:
  MpiLaunch() : session_(start_mpi(CommKind::mpi, launched_group(CommKind::mpi))) {}
  CommKind kind() const override { return CommKind::mpi; }
  int rank() const override { return session_->rank(); }
  int world_size() const override { return session_->world_size(); }
  std::optional<int> required_tp() const override { return session_->world_size(); }
  CaseExecution execution() override {
    CaseExecution e;
    e.communicator = [this](int /*tp: the world size*/, const AllReduceConfig& allreduce) -> std::unique_ptr<Communicator> {
      return std::make_unique<MpiCommunicator>(*session_, allreduce);
    };
    e.judge = reports();
    e.rank = rank();
    return e;
  }
  [[noreturn]] void abort(int exit_code) const override { session_->abort(exit_code); }

 private:
  std::unique_ptr<MpiSession> session_;
};
#endif

#if FFN_PARITY_WITH_NCCL
class NcclLaunch final : public RankLaunch {
 public:
  NcclLaunch() {
    try {
      devices_ = cuda_device_count();
    } catch (const NcclError& e) {
      throw LaunchError(fmt::format("--comm nccl: {}", e.what()), false, LaunchError::Cause::no_device);
    }
#if FFN_PARITY_WITH_MPI
    // A launcher that started several processes means one process per GPU.
    std::optional<ProcessGroup> group;
    try {
      group = detect_process_group();
    } catch (const ProcessGroupError& e) {
      throw LaunchError(fmt::format("--comm nccl: {}", e.what()));
    }
    if (group && group->world_size > 1) {
      if (group->local_rank >= devices_)
        throw LaunchError(fmt::format("--comm nccl: local rank {} has no GPU of its own ({} on this node)",
                                      group->local_rank, devices_),
                          false, LaunchError::Cause::no_device);
      session_ = start_mpi(CommKind::nccl, *group);
    }
#endif
  }
  CommKind kind() const override { return CommKind::nccl; }
  int max_tp() const override { return devices_; }
  std::string pin_reduction(const std::vector<AllReduceConfig>& models) override {
    // NCCL reads NCCL_MIN/MAX_NCHANNELS once per process (NCCL_PARAM caches them): one model.
    if (models.size() != 1)
      throw LaunchError("--comm nccl: one --allreduce model per run (NCCL reads its pinning environment once per "
                        "process)");
    const int version = nccl_loaded_version();
    NcclPinning pin;
    try {
      pin = nccl_pinning(models.front(), version);
    } catch (const std::invalid_argument& e) {
      throw LaunchError(e.what());
    }
    for (const auto& [name, value] : pin.environment()) setenv(name.c_str(), value.c_str(), 1);
    return pin.describe(version);
  }
#if FFN_PARITY_WITH_MPI
  int rank() const override { return session_ ? session_->rank() : 0; }
  int world_size() const override { return session_ ? session_->world_size() : 1; }
  std::optional<int> required_tp() const override {
    return session_ ? std::optional(session_->world_size()) : std::nullopt;
  }
  [[noreturn]] void abort(int exit_code) const override {
    if (session_) session_->abort(exit_code);
    RankLaunch::abort(exit_code);
  }
#endif
  CaseExecution execution() override {
    CaseExecution e;
    e.judge = reports();
#if FFN_PARITY_WITH_MPI
    if (session_) e.rank = rank();
#endif
    e.communicator = [this](int tp, const AllReduceConfig& allreduce) -> std::unique_ptr<Communicator> {
#if FFN_PARITY_WITH_MPI
      if (session_) {
        const MpiSession& s = *session_;
        return NcclCommunicator::per_process(s.rank(), s.world_size(), s.group().local_rank,
                                             [&s](void* data, int bytes) { s.broadcast(data, bytes); },
                                             allreduce);
      }
#endif
      return NcclCommunicator::single_process(tp, allreduce);
    };
    return e;
  }

 private:
  int devices_ = 0;
#if FFN_PARITY_WITH_MPI
  std::unique_ptr<MpiSession> session_;
#endif
};
#endif

}  // namespace

bool comm_built(CommKind kind) {
#if FFN_PARITY_WITH_MPI
  constexpr bool mpi = true;
#else
  constexpr bool mpi = false;
#endif
#if FFN_PARITY_WITH_NCCL
  constexpr bool nccl = true;
#else
  constexpr bool nccl = false;
#endif
  switch (kind) {
    case CommKind::simulated: return true;
    case CommKind::mpi: return mpi;
    case CommKind::nccl: return nccl;
  }
  return false;
}

std::unique_ptr<RankLaunch> start_launch(CommKind kind) {
  switch (kind) {
    case CommKind::simulated: return std::make_unique<SimulatedLaunch>();
    case CommKind::mpi:
#if FFN_PARITY_WITH_MPI
      return std::make_unique<MpiLaunch>();
#else
      throw LaunchError("--comm mpi: this build has no MPI (configure with libopenmpi-dev installed)");
#endif
    case CommKind::nccl:
#if FFN_PARITY_WITH_NCCL
      return std::make_unique<NcclLaunch>();
#else
      throw LaunchError("--comm nccl: this build has no NCCL (configure with the CUDA toolkit and NCCL)");
#endif
  }
  throw LaunchError("--comm: unknown kind");
}

}  // namespace ffn
