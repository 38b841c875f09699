#include "kernels/int8.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ffn {

std::int8_t int8_round_sym(float x) {
  if (std::isnan(x)) throw std::domain_error("int8_round_sym: NaN has no int8 value");
  // Clamping first is the same as clamping the rounded value, as the bounds are integers.
  const float clamped = std::clamp(x, -127.0f, 127.0f);
  // trunc and the subtraction are exact, unlike nearbyint they do not depend on the
  // rounding mode.
  const float truncated = std::trunc(clamped);
  const float fraction_magnitude = std::fabs(clamped - truncated);
  auto rounded = static_cast<int>(truncated);
  if (fraction_magnitude > 0.5f || (fraction_magnitude == 0.5f && rounded % 2 != 0))
    rounded += clamped > 0 ? 1 : -1;
  return static_cast<std::int8_t>(rounded);
}

}  // namespace ffn
