#pragma once
// --backend and --tf32, shared by `run` and `golden bless`.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "harness/launch/backend.hpp"

namespace ffn::cli {

struct BackendOptions {
  std::string backend = "cpu";
  bool tf32 = false;
};

void add_backend_options(CLI::App* cmd, BackendOptions& o);
// The backend, or nullopt after printing "<prefix>: error: --backend cuda: <reason>" and
// setting `status` to the exit status: 3 when the build or the machine has no usable device,
// 2 for a bad request.
std::optional<Backend> open_backend(const std::string& name, bool tf32, const char* prefix, int& status);

}  // namespace ffn::cli
