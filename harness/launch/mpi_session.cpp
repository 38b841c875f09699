#include "harness/launch/mpi_session.hpp"

#include <fmt/format.h>
#include <mpi.h>

#include <cstdlib>

namespace ffn {

MpiSession::MpiSession(const ProcessGroup& group) : group_(group) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw ProcessGroupError("MPI: initialised twice in one process");
  // Errors come back as codes (checked below) instead of ending the process silently.
  MPI_Init(nullptr, nullptr);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
  if (rank_ != group.rank || world_size_ != group.world_size) {
    const std::string what = fmt::format(
        "MPI: the MPI world (rank {} of {}) is not the one the {} launcher announced (rank {} of {}); "
        "was ffn-parity started by a launcher that does not wire up MPI?",
        rank_, world_size_, launcher_name(group.launcher), group.rank, group.world_size);
    MPI_Finalize();
    throw ProcessGroupError(what);
  }
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiSession::broadcast(void* data, int bytes, int root) const {
  if (MPI_Bcast(data, bytes, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Bcast failed");
}

void MpiSession::abort(int exit_code) const {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace ffn
