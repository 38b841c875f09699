#pragma once
// Quantization and quantized Linear layers on the device, with the interface and semantics of
// kernels/cpu/quantize.hpp: amax per scale block, scale = amax / format max, values x / scale
// rounded to nearest even and saturated (E4M3 through the hardware conversion
// __nv_cvt_float_to_fp8 with __NV_SATFINITE, INT8 to the integers -127..127). Quantization
// is exact arithmetic plus correctly rounded divisions, so it matches the CPU bit for bit.
//
// The quantized GEMM: cuBLASLt FP8 E4M3 (sm_89 and newer) or INT8 (int32 accumulation, exact)
// products, one fp32 (int32) partial per K block of the scale grid as a strided batch, then
// one epilogue kernel applying the scales per block in fp32, the bias in fp32 and the one
// rounding, in the CPU reference's order. The scales are per token and per channel (or per
// block), which cuBLASLt's scalar scale pointers cannot express; hence the own epilogue.
// NVFP4 (E2M1) needs Blackwell (sm_100) and is not implemented: it is refused with a reason.
#include <span>

#include "kernels/cpu/quantize.hpp"

namespace ffn::cuda {

// Throws std::runtime_error naming the device and why, when device 0 cannot run format f.
void require_quant_support(QuantFormat f);

QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& layout, float global_scale = 1,
                              const Matrix<float>* amax = nullptr);
QuantizedMatrix quantize_static(MatrixView<float> x, QuantFormat format, float scale);
Matrix<float> quantized_linear(const QuantizedView& x, const QuantizedView& w, std::span<const float> bias,
                               DType out);

}  // namespace ffn::cuda
