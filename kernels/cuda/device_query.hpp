#pragma once
// Whether this process can use a CUDA device, and if not, why, in one line.
#include <string>

namespace ffn::cuda {

struct DeviceStatus {
  int count = 0;
  std::string summary;  // "2 devices: NVIDIA H100 80GB HBM3 (sm_90), ..." or the reason for none
};

DeviceStatus query_devices();

}  // namespace ffn::cuda
