// Launcher detection from the environment: each launcher's variables, the order in which
// they are preferred, and every malformed or inconsistent setting as one line.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <string>

#include "harness/launch/process_group.hpp"

using namespace ffn;
using Catch::Matchers::Equals;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(std::map<std::string, std::string> vars) {
  try {
    detect_process_group(env_of(std::move(vars)));
  } catch (const ProcessGroupError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("no launcher variables: not launched", "[process_group]") {
  CHECK_FALSE(detect_process_group(env_of({{"PATH", "/usr/bin"}})).has_value());
}

TEST_CASE("each launcher's variables give rank, world size and local rank", "[process_group]") {
  const auto ompi = detect_process_group(env_of(
      {{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}));
  REQUIRE(ompi);
  CHECK(ompi->launcher == Launcher::open_mpi);
  CHECK(ompi->rank == 3);
  CHECK(ompi->world_size == 4);
  CHECK(ompi->local_rank == 1);

  const auto torch = detect_process_group(env_of({{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "5"}}));
  REQUIRE(torch);
  CHECK(torch->launcher == Launcher::torchrun);
  CHECK((torch->rank == 5 && torch->world_size == 8 && torch->local_rank == 5));

  const auto slurm =
      detect_process_group(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "0"}}));
  REQUIRE(slurm);
  CHECK(slurm->launcher == Launcher::slurm);
  CHECK((slurm->rank == 0 && slurm->world_size == 2 && slurm->local_rank == 0));
}

TEST_CASE("the launcher closest to the process wins", "[process_group]") {
  // mpirun inside a Slurm allocation: the batch step's SLURM_* describe the allocation.
  const auto g = detect_process_group(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "0"},
                                              {"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                                              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}));
  REQUIRE(g);
  CHECK(g->launcher == Launcher::open_mpi);
  CHECK(g->world_size == 2);
  // torchrun inside a Slurm step.
  const auto t = detect_process_group(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_LOCALID", "0"},
                                              {"RANK", "2"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "2"}}));
  REQUIRE(t);
  CHECK(t->launcher == Launcher::torchrun);
  CHECK(t->rank == 2);
}

TEST_CASE("incomplete, malformed and inconsistent settings are one-line errors", "[process_group]") {
  CHECK_THAT(error_of({{"RANK", "0"}, {"LOCAL_RANK", "0"}}),
             Equals("torchrun launcher environment: RANK is set but WORLD_SIZE is not"));
  CHECK_THAT(error_of({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}}),
             Equals("Slurm launcher environment: SLURM_PROCID is set but SLURM_LOCALID is not"));
  CHECK_THAT(error_of({{"RANK", "x1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}}),
             Equals("torchrun launcher environment: RANK='x1' is not a non-negative integer"));
  CHECK_THAT(error_of({{"RANK", "1"}, {"WORLD_SIZE", "2 "}, {"LOCAL_RANK", "0"}}),
             Equals("torchrun launcher environment: WORLD_SIZE='2 ' is not a non-negative integer"));
  CHECK_THAT(error_of({{"RANK", "-1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}}),
             Equals("torchrun launcher environment: RANK='-1' is not a non-negative integer"));
  CHECK_THAT(error_of({{"RANK", ""}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}}),
             Equals("torchrun launcher environment: RANK='' is not a non-negative integer"));
  CHECK_THAT(error_of({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "99999999999"},
                       {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}}),
             Equals("Open MPI launcher environment: OMPI_COMM_WORLD_SIZE='99999999999' is not a non-negative integer"));
  CHECK_THAT(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}, {"LOCAL_RANK", "0"}}),
             Equals("torchrun launcher environment: WORLD_SIZE=0 is not a world size"));
  CHECK_THAT(error_of({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "0"}}),
             Equals("Slurm launcher environment: SLURM_PROCID=2 is not below SLURM_NTASKS=2"));
  CHECK_THAT(error_of({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                       {"OMPI_COMM_WORLD_LOCAL_RANK", "2"}}),
             Equals("Open MPI launcher environment: OMPI_COMM_WORLD_LOCAL_RANK=2 is above OMPI_COMM_WORLD_RANK=1"));
}

TEST_CASE("the process environment is read by default", "[process_group]") {
  // Set here, as a torchrun-style launcher would; ctest itself runs without a launcher.
  REQUIRE_FALSE(process_env("OMPI_COMM_WORLD_RANK").has_value());
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "3", 1);
  ::setenv("LOCAL_RANK", "0", 1);
  const std::optional<ProcessGroup> g = detect_process_group();
  ::setenv("WORLD_SIZE", "three", 1);
  std::string error;
  try {
    detect_process_group();
  } catch (const ProcessGroupError& e) {
    error = e.what();
  }
  for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK"}) ::unsetenv(name);
  REQUIRE(g);
  CHECK((g->launcher == Launcher::torchrun && g->rank == 1 && g->world_size == 3 && g->local_rank == 0));
  CHECK_THAT(error, Equals("torchrun launcher environment: WORLD_SIZE='three' is not a non-negative integer"));
}
