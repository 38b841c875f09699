#include "kernels/activation_memo.hpp"

#include <cstring>
#include <optional>

namespace ffn {

namespace {
// The first c0, a multiple of h's width, with input[:, c0, c0 + width) == h bit for bit.
std::optional<std::int64_t> block_holding(const Matrix<float>& input, const Matrix<float>& h) {
  const std::int64_t n = h.cols();
  if (input.rows() != h.rows() || n == 0 || input.cols() % n != 0) return std::nullopt;
  const std::size_t row_bytes = static_cast<std::size_t>(n) * sizeof(float);
  for (std::int64_t c0 = 0; c0 < input.cols(); c0 += n) {
    bool same = true;
    for (std::int64_t t = 0; t < h.rows() && same; ++t) same = std::memcmp(&h(t, 0), &input(t, c0), row_bytes) == 0;
    if (same) return c0;
  }
  return std::nullopt;
}
}  // namespace

Matrix<float> ActivationMemo::activation(const Matrix<float>& h, const Activation& a, DType out) const {
  if (a.gated) return inner().activation(h, a, out);
  {
    const std::lock_guard lock(mutex_);
    if (activation_ == a && dtype_ == out)
      if (const std::optional<std::int64_t> c0 = block_holding(input_, h)) {
        ++hits_;
        return output_.col_block(*c0, *c0 + h.cols());
      }
  }
  Matrix<float> y = inner().activation(h, a, out);
  const std::lock_guard lock(mutex_);
  if (input_.empty() || h.cols() >= input_.cols() || h.rows() != input_.rows()) {
    input_ = h;
    output_ = y;
    activation_ = a;
    dtype_ = out;
  }
  return y;
}

std::int64_t ActivationMemo::hits() const {
  const std::lock_guard lock(mutex_);
  return hits_;
}

}  // namespace ffn
