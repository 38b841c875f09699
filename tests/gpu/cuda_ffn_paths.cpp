// GPU test: both FFN paths on the CUDA backend (CudaKernels, DeviceLocalCommunicator) against
// the CPU backend on the same inputs, through the one implementation of the paths
// (harness/tp/ffn_paths.hpp). Agreement within the tolerances of harness/verdict/backend_agreement.hpp;
// on the device itself, at tp 1 the two paths agree bit for bit, as on the CPU; at tp > 1
// the GELU outputs of the two paths agree bit for bit (the same kernels on the same values).
// Quantized schemes the device cannot run are refused with one message.
#include <fmt/format.h>

#include <stdexcept>

#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/launch/backend.hpp"
#include "harness/verdict/backend_agreement.hpp"
#include "tests/gpu/gpu_check.hpp"

namespace {

using namespace ffn;
using gpu_test::Checks;

void run(Checks& c, const Backend& gpu, const FfnShape& shape, const Precision& p, int tp) {
  const std::string what = fmt::format("{} {} tp {}", shape.name, p.name, tp);
  const FfnInputs in = make_inputs({shape, 16, 3, p.activation, p.scheme});
  const DType t = p.activation;
  auto cpu_comm = cpu_backend().communicator(tp, AllReduceModel::ring);
  auto gpu_comm = gpu.communicator(tp, AllReduceModel::ring);
  FfnTrace gpu_old_trace, gpu_new_trace;
  const Matrix<float> cpu_old = ffn_allgather(in.x, in.weights, *cpu_comm, t);
  const Matrix<float> cpu_new = ffn_sharded(in.x, in.weights, *cpu_comm, t);
  const Matrix<float> gpu_old = ffn_allgather(in.x, in.weights, *gpu_comm, t, &gpu_old_trace, *gpu.kernels);
  const Matrix<float> gpu_new =
      ffn_sharded(in.x, in.weights, *gpu_comm, t, nullptr, &gpu_new_trace, InputScaleScope::local, ShardedPathVariant{}, *gpu.kernels);
  for (const auto& [path, g, h] : {std::tuple{"allgather", &gpu_old, &cpu_old}, std::tuple{"sharded", &gpu_new, &cpu_new}}) {
    const BackendAgreement a = backend_agreement(*g, *h, p, false);
    std::printf("%s %s: rel L2 %.3g (tolerance %.3g), %.1f%% identical, max %.3g ulp\n", what.c_str(), path, a.rel_l2,
                a.tolerance, 100 * a.identical_share, a.ulp_max);
    c.expect(a.pass, fmt::format("{} {}: cuda vs cpu rel L2 {:.3g} over {:.3g}", what, path, a.rel_l2, a.tolerance));
  }
  if (tp == 1) c.expect(gpu_old == gpu_new, what + ": the paths differ on the device at tp 1");
  if (!p.quantized())
    c.expect(gpu_old_trace.activation == gpu_new_trace.activation, what + ": the paths' GELU outputs differ on the device");
}

}  // namespace

int main() {
  const int cc = gpu_test::require_device();
  Checks c;
  const Backend gpu = make_backend("cuda");
  for (const char* shape : {"tiny", "small"})
    for (const char* precision : {"fp32", "bf16", "fp16", "int8"})
      for (int tp : {1, 2, 4}) run(c, gpu, *find_shape(shape), *find_precision(precision), tp);
  if (cc >= 89)
    for (const char* precision : {"fp8-static", "fp8-dynamic", "fp8-dynamic-tensor", "fp8-block"})
      for (int tp : {1, 2}) run(c, gpu, *find_shape("small"), *find_precision(precision), tp);
  if (cc < 100) {
    try {
      run(c, gpu, *find_shape("tiny"), *find_precision("nvfp4"), 1);
      c.expect(false, "nvfp4 ran before Blackwell");
    } catch (const std::runtime_error& e) {
      c.expect(std::string(e.what()).starts_with("nvfp4: "), std::string("nvfp4 refusal: ") + e.what());
    }
  }
  return c.finish("cuda_ffn_paths");
}
