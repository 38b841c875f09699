#include "harness/sweep.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace ffn {

InputConfig CaseConfig::inputs() const {
  return {shape, tokens, seed, dtype, outlier_channels, outlier_scale};
}

std::string CaseConfig::name() const {
  std::string n = fmt::format("{}/t{}/tp{}/{}/{}/s{}", shape.name, tokens, tp, dtype_name(dtype),
                              allreduce_model_name(allreduce), seed);
  if (outlier_channels > 0) n += fmt::format("/o{}x{}", outlier_channels, outlier_scale);
  return n;
}

void validate(const SweepConfig& s) {
  const auto fail = [](const std::string& m) { throw std::invalid_argument(m); };
  if (s.tokens <= 0) fail(fmt::format("--tokens: must be positive, got {}", s.tokens));
  if (s.tps.empty()) fail("--tp: no TP size given");
  for (int tp : s.tps) {
    if (tp < 1) fail(fmt::format("--tp: {} is not a TP size (must be >= 1)", tp));
    if (s.shape.dim % tp != 0)
      fail(fmt::format("--tp: {} does not divide the hidden size {} of shape {}", tp, s.shape.dim,
                       s.shape.name));
    if (s.shape.inner % tp != 0)
      fail(fmt::format("--tp: {} does not divide the inner size {} of shape {}", tp,
                       s.shape.inner, s.shape.name));
  }
  if (s.precisions.empty()) fail("--precision: no precision given");
  for (DType t : s.precisions)
    if (t == DType::fp64) fail("--precision: fp64 is the reference, not a path precision");
  if (s.allreduce.empty()) fail("--allreduce: no AllReduce model given");
  if (s.outlier_channels < 0 || s.outlier_channels > s.shape.dim)
    fail(fmt::format("--outliers: must be between 0 and the hidden size {}, got {}", s.shape.dim,
                     s.outlier_channels));
  if (!(s.outlier_scale > 0) || !std::isfinite(s.outlier_scale))
    fail(fmt::format("--outlier-scale: must be a positive finite number, got {}", s.outlier_scale));
}

std::vector<CaseConfig> expand(const SweepConfig& s) {
  validate(s);
  std::vector<CaseConfig> cases;
  for (DType t : s.precisions)
    for (int tp : s.tps)
      for (AllReduceModel m : s.allreduce)
        cases.push_back({s.shape, s.tokens, tp, t, m, s.seed, s.outlier_channels, s.outlier_scale});
  return cases;
}

}  // namespace ffn
