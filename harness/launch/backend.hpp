#pragma once
// What a run computes on: the kernel set and the communicator for a TP group, plus what to
// record about them in reports and golden provenance. `cpu` is the reference; `cuda` runs
// the kernels of kernels/cuda on device 0 and all TP ranks on that one GPU
// (DeviceLocalCommunicator).
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "harness/tp/communicator.hpp"
#include "kernels/kernels.hpp"

namespace ffn {

struct Backend {
  std::string name;       // "cpu" or "cuda"
  std::string device;     // "host CPU" or "NVIDIA H100 80GB HBM3 (sm_90)"
  std::string libraries;  // library versions, for provenance
  std::shared_ptr<const Kernels> kernels;
  std::function<std::unique_ptr<Communicator>(int tp, const AllReduceConfig&)> communicator;
};

// A backend this build or this machine cannot provide; what() is one line with the reason.
class BackendUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const Backend& cpu_backend();
// Whether this build has the CUDA backend (it may still find no device).
bool cuda_backend_built();
// "cpu" or "cuda"; throws BackendUnavailable (no CUDA in this build, no device) or
// std::invalid_argument (an unknown name). tf32: fp32 GEMMs on TF32 tensor cores (cuda only).
Backend make_backend(std::string_view name, bool tf32 = false);

}  // namespace ffn
