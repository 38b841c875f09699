#pragma once
// Where this process stands among the processes a launcher started: its rank, the world size
// and its rank on the node, read from the environment the launcher sets. Open MPI's mpirun
// (OMPI_COMM_WORLD_*), torchrun-style launchers (RANK, WORLD_SIZE, LOCAL_RANK) and Slurm's
// srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID) are recognised, in that order: mpirun run
// inside a Slurm allocation still sees the allocation's SLURM_* variables, and torchrun in
// a Slurm step sees the step's, so the launcher closest to the process wins.
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ffn {

enum class Launcher { open_mpi, torchrun, slurm };
std::string_view launcher_name(Launcher l);

struct ProcessGroup {
  Launcher launcher = Launcher::open_mpi;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // the process's rank on its node: the GPU it drives
};

// Thrown for a launcher environment that is incomplete or malformed; what() is one line
// naming the variable and the reason.
class ProcessGroupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks a variable up; nullopt when unset. The default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
std::optional<std::string> process_env(const char* name);

// The group this process belongs to, or nullopt when no launcher started it.
std::optional<ProcessGroup> detect_process_group(const EnvLookup& env = process_env);

}  // namespace ffn
