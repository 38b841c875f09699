#include "harness/cli/run_context.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>

#include "goldens/golden_file.hpp"

namespace ffn::cli {

RunContext run_context(std::vector<std::string> command, const Backend& backend) {
  // As `golden bless` asks for it: on the cpu backend the provenance names the CPU model.
  const bool cpu = backend.name == "cpu";
  std::map<std::string, std::string> p =
      current_provenance(backend.name, cpu ? "" : backend.device, cpu ? "" : backend.libraries);
  std::string libraries =
      fmt::format("{}, HDF5 {}, OpenCV {}", p["openblas_version"], p["hdf5_version"], p["opencv_version"]);
  if (!p["backend_libraries"].empty()) libraries += ", " + p["backend_libraries"];
  return {std::move(command), p["tool_version"], p["git_commit"], p["backend"], p["device"], std::move(libraries),
          p["created_utc"]};
}

}  // namespace ffn::cli
