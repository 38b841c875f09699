#include "harness/cli/backend_options.hpp"

#include <iostream>

namespace ffn::cli {

void add_backend_options(CLI::App* cmd, BackendOptions& o) {
  cmd->add_option("--backend", o.backend,
                  "What the two paths run on: cpu (the reference kernels, simulated ranks) or cuda (cuBLASLt "
                  "kernels on device 0, all TP ranks on that GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_flag("--tf32", o.tf32, "cuda backend: fp32 GEMMs on TF32 tensor cores (default: exact fp32 products)");
}

std::optional<Backend> open_backend(const std::string& name, bool tf32, const char* prefix, int& status) {
  try {
    return make_backend(name, tf32);
  } catch (const BackendUnavailable& e) {
    std::cerr << prefix << ": error: --backend " << name << ": " << e.what() << "\n";
    status = 3;
  } catch (const std::invalid_argument& e) {
    std::cerr << prefix << ": error: " << e.what() << "\n";
    status = 2;
  }
  return std::nullopt;
}

}  // namespace ffn::cli
