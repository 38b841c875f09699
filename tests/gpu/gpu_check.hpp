#pragma once
// What every GPU test shares: skip (exit 77) without a device, count failed checks, print the
// first few, and a deterministic value generator for test tensors.
#include <cstdint>
#include <string>

namespace ffn::gpu_test {

// Prints the device summary; exits 77 (ctest: skipped) when there is no usable device.
// Returns the compute capability (e.g. 90).
int require_device();

class Checks {
 public:
  // Records one check; prints the message of the first 20 failures.
  void expect(bool ok, const std::string& what);
  // Exit status: 0 when every check passed.
  int finish(const char* test) const;
  std::int64_t failed() const { return failed_; }

 private:
  std::int64_t total_ = 0, failed_ = 0;
};

// A reproducible stream of doubles in [0, 1) (splitmix64).
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : state_(seed) {}
  double uniform();
  double normal();  // Box-Muller
  int integer(int lo, int hi);  // in [lo, hi]

 private:
  std::uint64_t state_;
};

}  // namespace ffn::gpu_test
