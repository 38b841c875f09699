#include "harness/verdict/backend_agreement.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "metrics/tensor_compare.hpp"

namespace ffn {

double backend_tolerance(const Precision& p, bool tf32) {
  switch (p.scheme) {
    case QuantScheme::none: break;
    case QuantScheme::int8: return std::ldexp(1.0, -6);
    default: return std::ldexp(1.0, -4);
  }
  switch (p.activation) {
    case DType::fp32: return tf32 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -14);
    case DType::bf16: return std::ldexp(1.0, -8);
    case DType::fp16: return std::ldexp(1.0, -11);
    case DType::fp64: break;
  }
  throw std::invalid_argument("backend_tolerance: no tolerance for fp64");
}

BackendAgreement backend_agreement(const Matrix<float>& a, const Matrix<float>& b, const Precision& p, bool tf32) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw std::invalid_argument("backend_agreement: the backends' outputs differ in shape");
  CompareOptions options;
  options.ulp_dtype = p.activation;
  const TensorComparison c = compare_tensors(a, b, options);
  BackendAgreement g;
  g.rel_l2 = std::sqrt(c.nmse);
  g.max_abs = c.max_abs;
  g.ulp_max = c.ulp_max;
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += std::memcmp(a.data() + i, b.data() + i, sizeof(float)) == 0;
  g.identical_share = a.size() ? double(same) / double(a.size()) : 1;
  g.tolerance = backend_tolerance(p, tf32);
  g.pass = c.nonfinite_mismatched == 0 && g.rel_l2 <= g.tolerance;
  return g;
}

}  // namespace ffn
