// cpu::linear: the rounding points of the serving stack (fp32 accumulation, bias added in
// fp32, one rounding to the output dtype). Expected values come from exact arithmetic:
// inputs are small integers times powers of two, so every product and every partial sum
// is exact in fp32 and in fp64, and the only rounding is the one under test.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/linear.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;

namespace {

// Values m * 2^e with |m| <= 15 (4 bits: on the bf16 and fp16 grids) and e in [-4, 0].
// A product is j * 2^-8 with |j| <= 225 * 2^8; a sum of K <= 64 products plus a bias of
// the same form stays below 2^15 in magnitude with granularity 2^-8: 23 bits, exact in fp32.
float small_dyadic(std::mt19937_64& gen) {
  std::uniform_int_distribution<int> m(-15, 15), e(-4, 0);
  return std::ldexp(static_cast<float>(m(gen)), e(gen));
}

Matrix<float> dyadic_matrix(std::int64_t rows, std::int64_t cols, std::mt19937_64& gen) {
  Matrix<float> m(rows, cols);
  for (float& v : m.values()) v = small_dyadic(gen);
  return m;
}

// x W^T + b in fp64 by the definition; exact for the inputs above.
std::vector<double> exact_linear(const Matrix<float>& x, const Matrix<float>& w,
                                 const std::vector<float>& b) {
  std::vector<double> y(static_cast<std::size_t>(x.rows() * w.rows()));
  for (std::int64_t t = 0; t < x.rows(); ++t)
    for (std::int64_t n = 0; n < w.rows(); ++n) {
      double s = b.empty() ? 0.0 : b[n];
      for (std::int64_t k = 0; k < x.cols(); ++k) s += double(x(t, k)) * double(w(n, k));
      y[t * w.rows() + n] = s;
    }
  return y;
}

}  // namespace

TEST_CASE("linear rounds once after the fp32 bias add (constructed case)", "[linear]") {
  // x = [1, 2^-8], w = [[1, 1]]: the fp32 product sum is s = 1 + 2^-8, exactly half way
  // between the bf16 neighbours 1 and 1 + 2^-7. Bias b = 2^-9.
  //   one rounding:  fl(s + b) = fl(1 + 3 * 2^-9)  -> above the midpoint -> 1 + 2^-7
  //   GEMM rounded first: fl(fl(s) + b) = fl(1 + 2^-9) (ties-to-even gave fl(s) = 1) -> 1
  {
    Matrix<float> x(1, 2), w(1, 2);
    x(0, 0) = 1.0f;
    x(0, 1) = 0x1.0p-8f;
    w(0, 0) = w(0, 1) = 1.0f;
    const std::vector<float> b{0x1.0p-9f};
    const Matrix<float> y = cpu::linear(x, w, b, DType::bf16);
    REQUIRE(y.rows() == 1);
    REQUIRE(y.cols() == 1);
    CHECK(y(0, 0) == 1.0f + 0x1.0p-7f);
    // Without the bias: the tie goes to the even neighbour, 1.
    CHECK(cpu::linear(x, w, {}, DType::bf16)(0, 0) == 1.0f);
  }
  // fp16 (ulp 2^-10 at 1): s = 1 + 2^-11 (a tie), b = 2^-12.
  //   one rounding: fl(1 + 3 * 2^-12) = 1 + 2^-10; GEMM rounded first: fl(1 + 2^-12) = 1.
  {
    Matrix<float> x(1, 2), w(1, 2);
    x(0, 0) = 1.0f;
    x(0, 1) = 0x1.0p-11f;
    w(0, 0) = w(0, 1) = 1.0f;
    const std::vector<float> b{0x1.0p-12f};
    CHECK(cpu::linear(x, w, b, DType::fp16)(0, 0) == 1.0f + 0x1.0p-10f);
    CHECK(cpu::linear(x, w, {}, DType::fp16)(0, 0) == 1.0f);
  }
  // Also the other direction: a bias that cancels most of the sum. s = 257 (a tie between
  // 256 and 258 in bf16, ulp 2 there), b = -1: one rounding gives fl(256) = 256;
  // rounding s first gives fl(fl(257) - 1) = fl(256 - 1) = fl(255) = 255 (exact in bf16).
  {
    Matrix<float> x(1, 2), w(1, 2);
    x(0, 0) = 256.0f;
    x(0, 1) = 1.0f;
    w(0, 0) = w(0, 1) = 1.0f;
    const std::vector<float> b{-1.0f};
    CHECK(cpu::linear(x, w, b, DType::bf16)(0, 0) == 256.0f);
  }
  // fp32 output: no rounding beyond fp32's own; 1 + 2^-23 + 2^-23 is exact.
  {
    Matrix<float> x(1, 2), w(1, 2);
    x(0, 0) = 1.0f;
    x(0, 1) = 0x1.0p-23f;
    w(0, 0) = w(0, 1) = 1.0f;
    const std::vector<float> b{0x1.0p-23f};
    CHECK(cpu::linear(x, w, b, DType::fp32)(0, 0) == 1.0f + 0x1.0p-22f);
  }
}

TEST_CASE("linear equals the correctly rounded exact result (random dyadic inputs)", "[linear]") {
  std::mt19937_64 gen(7);
  for (DType t : {DType::bf16, DType::fp16, DType::fp32}) {
    std::int64_t double_rounding_would_differ = 0, checked = 0;
    for (std::int64_t k : {1, 3, 16, 33, 64}) {
      const Matrix<float> x = dyadic_matrix(9, k, gen);
      const Matrix<float> w = dyadic_matrix(17, k, gen);
      std::vector<float> b(17);
      for (float& v : b) v = small_dyadic(gen);
      const Matrix<float> y = cpu::linear(x, w, b, t);
      const std::vector<double> exact = exact_linear(x, w, b);
      const std::vector<double> exact_nobias = exact_linear(x, w, {});
      REQUIRE(y.rows() == 9);
      REQUIRE(y.cols() == 17);
      for (std::int64_t i = 0; i < 9 * 17; ++i) {
        ++checked;
        const double expected = round_to(t, exact[i]);
        INFO(dtype_name(t) << " K = " << k << " element " << i << " exact " << exact[i]);
        CHECK(double(y.data()[i]) == expected);
        const double twice = round_to(t, round_to(t, exact_nobias[i]) + b[i % 17]);
        if (twice != expected) ++double_rounding_would_differ;
      }
    }
    // The random cases can tell the two rounding orders apart (fp32: nothing to tell).
    INFO(dtype_name(t) << ": " << double_rounding_would_differ << " of " << checked
                       << " elements would differ with a rounding before the bias add");
    if (t != DType::fp32) CHECK(double_rounding_would_differ > 0);
  }
}

TEST_CASE("linear reads strided views", "[linear]") {
  std::mt19937_64 gen(11);
  const Matrix<float> x = dyadic_matrix(5, 40, gen);
  const Matrix<float> w = dyadic_matrix(12, 40, gen);
  // Columns [8, 24) of x against columns [8, 24) of rows [4, 10) of w.
  const Matrix<float> xs = x.col_block(8, 24);
  const Matrix<float> ws = w.row_block(4, 10).col_block(8, 24);
  const MatrixView<float> wv{w.data() + 4 * 40 + 8, 6, 16, 40};
  const Matrix<float> y = cpu::linear(x.col_view(8, 24), wv, {}, DType::bf16);
  const std::vector<double> exact = exact_linear(xs, ws, {});
  REQUIRE(y.rows() == 5);
  REQUIRE(y.cols() == 6);
  for (std::int64_t i = 0; i < 30; ++i) CHECK(double(y.data()[i]) == round_to(DType::bf16, exact[i]));
}

TEST_CASE("fp64 linear equals an fp64 loop", "[linear]") {
  std::mt19937_64 gen(3);
  // Exact inputs: bit for bit.
  {
    const Matrix<float> xf = dyadic_matrix(7, 50, gen), wf = dyadic_matrix(13, 50, gen);
    std::vector<float> bf(13);
    for (float& v : bf) v = small_dyadic(gen);
    const std::vector<double> b(bf.begin(), bf.end());
    const Matrix<double> y = cpu::linear(convert<double>(xf), convert<double>(wf), b);
    const std::vector<double> exact = exact_linear(xf, wf, bf);
    for (std::size_t i = 0; i < exact.size(); ++i) CHECK(y.data()[i] == exact[i]);
  }
  // Arbitrary doubles: only the summation order may differ, so the difference is within
  // K u64 sum |x_k w_k| (Higham's bound for recursive summation, any order).
  {
    std::normal_distribution<double> nd;
    Matrix<double> x(6, 300), w(9, 300);
    for (double& v : x.values()) v = nd(gen);
    for (double& v : w.values()) v = nd(gen);
    std::vector<double> b(9);
    for (double& v : b) v = nd(gen);
    const Matrix<double> y = cpu::linear(x, w, b);
    for (std::int64_t t = 0; t < 6; ++t)
      for (std::int64_t n = 0; n < 9; ++n) {
        double s = 0, abs_sum = std::fabs(b[n]);
        for (std::int64_t k = 0; k < 300; ++k) {
          s += x(t, k) * w(n, k);
          abs_sum += std::fabs(x(t, k) * w(n, k));
        }
        s += b[n];
        CHECK(std::fabs(y(t, n) - s) <= 2 * 301 * 0x1.0p-53 * abs_sum);
      }
    // No bias: the bias really is not added.
    const Matrix<double> y0 = cpu::linear(x, w, std::span<const double>{});
    for (std::int64_t n = 0; n < 9; ++n)
      CHECK(std::fabs((y(0, n) - y0(0, n)) - b[n]) <= 1e-12 * (1 + std::fabs(b[n]) + std::fabs(y(0, n))));
  }
}

TEST_CASE("linear: empty bias is no bias; wrong bias size throws", "[linear]") {
  std::mt19937_64 gen(5);
  const Matrix<float> x = dyadic_matrix(4, 8, gen), w = dyadic_matrix(6, 8, gen);
  for (DType t : {DType::bf16, DType::fp16, DType::fp32}) {
    const Matrix<float> y = cpu::linear(x, w, {}, t);
    const std::vector<double> exact = exact_linear(x, w, {});
    for (std::size_t i = 0; i < exact.size(); ++i) CHECK(double(y.data()[i]) == round_to(t, exact[i]));
    const std::vector<float> zeros(6, 0.0f);
    CHECK(cpu::linear(x, w, zeros, t) == y);

    const std::vector<float> short_bias(5, 1.0f), long_bias(7, 1.0f);
    CHECK_THROWS_AS(cpu::linear(x, w, short_bias, t), std::invalid_argument);
    CHECK_THROWS_AS(cpu::linear(x, w, long_bias, t), std::invalid_argument);
  }
  const std::vector<double> bad(5, 1.0);
  CHECK_THROWS_AS(cpu::linear(convert<double>(x), convert<double>(w), bad), std::invalid_argument);
  // x and w disagree on K.
  const Matrix<float> w9 = dyadic_matrix(6, 9, gen);
  CHECK_THROWS_AS(cpu::linear(x, w9, {}, DType::bf16), std::invalid_argument);
  // fp64 is not a rounding target for float tensors.
  CHECK_THROWS_AS(cpu::linear(x, w, {}, DType::fp64), std::invalid_argument);
}

TEST_CASE("linear with K = 0 gives the bias", "[linear]") {
  const Matrix<float> x(3, 0), w(4, 0);
  const std::vector<float> b{1.0f, -2.0f, 0.5f, 3.0f};
  const Matrix<float> y = cpu::linear(x, w, b, DType::bf16);
  REQUIRE(y.rows() == 3);
  REQUIRE(y.cols() == 4);
  for (std::int64_t t = 0; t < 3; ++t)
    for (std::int64_t n = 0; n < 4; ++n) CHECK(y(t, n) == b[n]);
}
