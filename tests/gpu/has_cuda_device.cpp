// Exit 0 when a CUDA device can be used, 1 otherwise (for tests that expect no device, and
// for ci/device-check.sh); with --why, prints the device summary or the reason.
#include <cstdio>
#include <cstring>

#include "kernels/cuda/device_query.hpp"

int main(int argc, char** argv) {
  const ffn::cuda::DeviceStatus s = ffn::cuda::query_devices();
  if (argc > 1 && std::strcmp(argv[1], "--why") == 0) std::printf("%s\n", s.summary.c_str());
  return s.count > 0 ? 0 : 1;
}
