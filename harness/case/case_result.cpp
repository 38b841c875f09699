#include "harness/case/case_result.hpp"

#include <algorithm>

namespace ffn {

double CaseResult::bias_margin() const {
  return std::max(parity.verdict.bias_ratio, order_parity ? order_parity->verdict.bias_ratio : 0.0);
}

double CaseResult::parity_margin() const {
  return std::max(parity.verdict.margin(), order_parity ? order_parity->verdict.margin() : 0.0);
}

double CaseResult::margin() const {
  return std::max({parity_margin(), allgather_ref.verdict.margin(), sharded_ref.verdict.margin()});
}

}  // namespace ffn
