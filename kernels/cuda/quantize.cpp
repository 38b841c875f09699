#include "kernels/cuda/quantize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/cublaslt_matmul.hpp"
#include "kernels/cuda/host_transfer.hpp"
#include "kernels/cuda/quantize_kernels.hpp"

namespace ffn::cuda {

namespace {


int compute_capability() {
  int device = 0, major = 0, minor = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
  return major * 10 + minor;
}

std::int64_t effective_block(std::int64_t block, std::int64_t n) { return block > 0 ? block : std::max<std::int64_t>(n, 1); }

ScaleGrid grid_of(std::int64_t rows, std::int64_t cols, std::int64_t br, std::int64_t bc) {
  return {rows, cols, br, bc, (rows + br - 1) / br, (cols + bc - 1) / bc};
}

QuantizedMatrix quantize_with(QuantFormat f, const ScaleGrid& g, const DeviceBuffer<float>& x,
                                   const DeviceBuffer<float>& scales) {
  DeviceBuffer<float> values(x.size());
  quantize_values_device(x.get(), g, scales.get(), f == QuantFormat::int8, values.get(), nullptr);
  QuantizedMatrix q;
  q.format = f;
  q.block_rows = g.block_rows;
  q.block_cols = g.block_cols;
  q.values = download(values, g.rows, g.cols);
  q.scales = download(scales, g.scale_rows, g.scale_cols);
  return q;
}

DeviceBuffer<unsigned char> device_codes(MatrixView<float> v, QuantFormat f) {
  const DeviceBuffer<float> values = upload(v);
  DeviceBuffer<unsigned char> codes(values.size());
  codes_device(values.get(), static_cast<std::int64_t>(values.size()), f == QuantFormat::int8, codes.get(), nullptr);
  return codes;
}

}  // namespace

void require_quant_support(QuantFormat f) {
  const int cc = compute_capability();
  if (f == QuantFormat::e2m1)
    throw std::runtime_error(
        cc < 100 ? fmt::format("nvfp4: E2M1 GEMMs need a Blackwell GPU (sm_100 or newer); this device is sm_{}", cc)
                 : std::string("nvfp4: the CUDA backend does not implement E2M1 GEMMs yet"));
  if (f == QuantFormat::e4m3 && cc < 89)
    throw std::runtime_error(fmt::format("fp8: FP8 E4M3 GEMMs need sm_89 or newer; this device is sm_{}", cc));
}

QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float /*global_scale*/,
                              const Matrix<float>* amax_given) {
  // Two-level scales are NVFP4's: refused with the reason (global_scale is theirs alone).
  if (layout.two_level || layout.format == QuantFormat::e2m1) require_quant_support(QuantFormat::e2m1);
  const ScaleGrid g =
      grid_of(x.rows, x.cols, effective_block(layout.block_rows, x.rows), effective_block(layout.block_cols, x.cols));
  const std::size_t blocks = static_cast<std::size_t>(g.scale_rows * g.scale_cols);
  const DeviceBuffer<float> dx = upload(x);
  DeviceBuffer<float> amax(blocks), scales(blocks);
  if (amax_given) {
    if (amax_given->rows() != g.scale_rows || amax_given->cols() != g.scale_cols)
      throw std::invalid_argument("cuda::quantize: the given amax does not match the scale grid");
    amax.upload(amax_given->data(), amax_given->size());
  } else {
    block_amax_device(dx.get(), g, amax.get(), nullptr);
  }
  scales_from_amax_device(amax.get(), scales.get(), static_cast<std::int64_t>(blocks),
                          static_cast<float>(quant_max(layout.format)), nullptr);
  return quantize_with(layout.format, g, dx, scales);
}

QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale) {
  if (!(scale > 0)) throw std::invalid_argument("quantize_static: the scale must be positive");
  if (format == QuantFormat::e2m1) require_quant_support(format);
  const DeviceBuffer<float> dx = upload(x);
  DeviceBuffer<float> scales(1);
  scales.upload(&scale, 1);
  return quantize_with(format, grid_of(x.rows, x.cols, std::max<std::int64_t>(x.rows, 1), std::max<std::int64_t>(x.cols, 1)),
                       dx, scales);
}

Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                               DType out) {
  const std::int64_t kb = cpu::quantized_k_block(x, w, bias);
  require_quant_support(x.format);
  if (out == DType::fp64) throw std::invalid_argument("cuda::quantized_linear: no fp64 output");
  const std::int64_t tokens = x.values.rows, n = w.values.rows, k = x.values.cols;
  if (k % kb != 0)
    throw std::invalid_argument(fmt::format("cuda::quantized_linear: K {} is not a multiple of the K block {}", k, kb));
  const bool int8 = x.format == QuantFormat::int8;

  const DeviceBuffer<unsigned char> xc = device_codes(x.values, x.format), wc = device_codes(w.values, w.format);
  const DeviceBuffer<float> sx = upload(x.scales), sw = upload(w.scales);
  DeviceBuffer<float> db(bias.size());
  db.upload(bias.data(), bias.size());
  const std::size_t count = static_cast<std::size_t>(tokens * n);
  const std::int64_t batches = k / kb;
  // One partial per K block; int32 and fp32 partials have the same size.
  static_assert(sizeof(std::int32_t) == sizeof(float));
  DeviceBuffer<float> partials(count * static_cast<std::size_t>(batches)), y(count);
  if (count > 0 && k > 0) {
    MatmulOperands op;
    op.x = xc.get();
    op.w = wc.get();
    op.y = partials.get();
    op.in_type = int8 ? CUDA_R_8I : CUDA_R_8F_E4M3;
    op.out_type = int8 ? CUDA_R_32I : CUDA_R_32F;
    op.compute = int8 ? CUBLAS_COMPUTE_32I : CUBLAS_COMPUTE_32F;
    op.tokens = tokens;
    op.n = n;
    op.k = kb;
    op.ldx = op.ldw = k;
    op.batches = static_cast<int>(batches);
    matmul_xwt(op, nullptr);
    EpilogueArgs a{};
    a.partials = partials.get();
    a.int32_partials = int8;
    a.tokens = tokens;
    a.n = n;
    a.batches = batches;
    a.k_block = kb;
    a.x_scales = sx.get();
    a.x_scale_cols = x.scales.cols;
    a.x_block_rows = x.block_rows;
    a.x_block_cols = x.block_cols;
    a.w_scales = sw.get();
    a.w_scale_cols = w.scales.cols;
    a.w_block_rows = w.block_rows;
    a.w_block_cols = w.block_cols;
    a.global = x.global_scale * w.global_scale;
    a.bias = bias.empty() ? nullptr : db.get();
    a.out = out;
    a.y = y.get();
    quantized_epilogue_device(a, nullptr);
  }
  return download(y, tokens, n);
}

}  // namespace ffn::cuda
