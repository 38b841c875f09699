#include "tests/gpu/gpu_check.hpp"

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels/cuda/device_query.hpp"

namespace ffn::gpu_test {

int require_device() {
  const cuda::DeviceStatus status = cuda::query_devices();
  std::printf("%s\n", status.summary.c_str());
  if (status.count == 0) std::exit(77);
  int major = 0, minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  return major * 10 + minor;
}

void Checks::expect(bool ok, const std::string& what) {
  ++total_;
  if (ok) return;
  if (failed_++ < 20) std::printf("FAILED: %s\n", what.c_str());
}

int Checks::finish(const char* test) const {
  std::printf("%s: %lld of %lld checks failed\n", test, static_cast<long long>(failed_), static_cast<long long>(total_));
  return failed_ == 0 && total_ > 0 ? 0 : 1;
}

double Draw::uniform() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

double Draw::normal() {
  const double u1 = uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(6.283185307179586 * u2);
}

int Draw::integer(int lo, int hi) { return lo + static_cast<int>(uniform() * (hi - lo + 1)); }

}  // namespace ffn::gpu_test
