// Runs without a device (label unit): cuBLASLt is not mapped into a program of this build until
// the backend first calls it (kernels/cuda/cublaslt_on_demand.cpp), and the calls then reach the
// library the headers describe.
#include <cublasLt.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace {

bool cublaslt_mapped() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find("libcublasLt.so") != std::string::npos) return true;
  return false;
}

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += !ok;
}

}  // namespace

int main() {
  expect(!cublaslt_mapped(), "libcublasLt is not mapped before the first call");
  const std::size_t version = cublasLtGetVersion();
  expect(cublaslt_mapped(), "libcublasLt is mapped after the first call");
  std::printf("cuBLASLt %zu, headers %d\n", version, CUBLAS_VERSION);
  expect(version / 100 == CUBLAS_VERSION / 100, "the loaded library has the headers' major and minor version");
  expect(std::strcmp(cublasLtGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED") == 0,
         "a second function resolves and answers");
  return failures == 0 ? 0 : 1;
}
