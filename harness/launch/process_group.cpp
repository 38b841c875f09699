#include "harness/launch/process_group.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace ffn {

std::string_view launcher_name(Launcher l) {
  switch (l) {
    case Launcher::open_mpi: return "Open MPI";
    case Launcher::torchrun: return "torchrun";
    case Launcher::slurm: return "Slurm";
  }
  return "?";
}

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

namespace {

struct Variables {
  Launcher launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
};

constexpr Variables k_launchers[] = {
    {Launcher::open_mpi, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {Launcher::torchrun, "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {Launcher::slurm, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
};

int read_int(const EnvLookup& env, const char* name, const Variables& v) {
  const std::optional<std::string> text = env(name);
  if (!text)
    throw ProcessGroupError(fmt::format("{} launcher environment: {} is set but {} is not",
                                        launcher_name(v.launcher), v.rank, name));
  int value = 0;
  const char* end = text->data() + text->size();
  const auto [stop, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc{} || stop != end || value < 0)
    throw ProcessGroupError(fmt::format("{} launcher environment: {}='{}' is not a non-negative integer",
                                        launcher_name(v.launcher), name, *text));
  return value;
}

}  // namespace

std::optional<ProcessGroup> detect_process_group(const EnvLookup& env) {
  for (const Variables& v : k_launchers) {
    if (!env(v.rank)) continue;
    ProcessGroup g;
    g.launcher = v.launcher;
    g.rank = read_int(env, v.rank, v);
    g.world_size = read_int(env, v.size, v);
    g.local_rank = read_int(env, v.local_rank, v);
    const std::string_view who = launcher_name(v.launcher);
    if (g.world_size < 1)
      throw ProcessGroupError(fmt::format("{} launcher environment: {}={} is not a world size", who,
                                          v.size, g.world_size));
    if (g.rank >= g.world_size)
      throw ProcessGroupError(fmt::format("{} launcher environment: {}={} is not below {}={}", who,
                                          v.rank, g.rank, v.size, g.world_size));
    // A node runs at most the ranks up to this one.
    if (g.local_rank > g.rank)
      throw ProcessGroupError(fmt::format("{} launcher environment: {}={} is above {}={}", who,
                                          v.local_rank, g.local_rank, v.rank, g.rank));
    return g;
  }
  return std::nullopt;
}

}  // namespace ffn
