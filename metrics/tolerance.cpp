#include "metrics/tolerance.hpp"

namespace ffn {

Tolerance default_tolerance(DType t) {
  switch (t) {
    case DType::fp64: return {1e-7, 1e-7};
    case DType::fp32: return {1.3e-6, 1e-5};
    case DType::fp16: return {1e-3, 1e-5};
    case DType::bf16: return {1.6e-2, 1e-5};
  }
  return {};
}

}  // namespace ffn
