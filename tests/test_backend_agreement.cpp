// How two backends' outputs are compared (harness/verdict/backend_agreement.hpp) and how a backend is
// chosen by name (harness/launch/backend.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "harness/launch/backend.hpp"
#include "harness/verdict/backend_agreement.hpp"

using namespace ffn;

namespace {
Matrix<float> ramp(std::int64_t rows, std::int64_t cols) {
  Matrix<float> m(rows, cols);
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(i % 7) - 3.0f;
  return m;
}
}  // namespace

TEST_CASE("Identical outputs agree with a zero difference", "[backend]") {
  const Matrix<float> a = ramp(4, 8);
  const BackendAgreement g = backend_agreement(a, a, *find_precision("bf16"), false);
  CHECK(g.rel_l2 == 0);
  CHECK(g.max_abs == 0);
  CHECK(g.identical_share == 1);
  CHECK(g.pass);
}

TEST_CASE("The relative L2 difference is judged against the precision's tolerance", "[backend]") {
  const Matrix<float> b = ramp(4, 8);
  double norm2 = 0;  // the reference's squared norm, computed independently
  for (float v : b.values()) norm2 += double(v) * v;
  const Precision bf16 = *find_precision("bf16");
  CHECK(backend_tolerance(bf16, false) == std::ldexp(1.0, -8));
  CHECK(backend_tolerance(*find_precision("fp32"), false) == std::ldexp(1.0, -14));
  CHECK(backend_tolerance(*find_precision("fp32"), true) == std::ldexp(1.0, -8));
  CHECK(backend_tolerance(*find_precision("fp8-block"), false) == std::ldexp(1.0, -4));
  CHECK(backend_tolerance(*find_precision("int8"), false) == std::ldexp(1.0, -6));
  for (const double delta : {0.01, 1.0}) {
    Matrix<float> a = b;
    a(1, 2) += static_cast<float>(delta);
    const double expected = std::fabs(double(a(1, 2)) - b(1, 2)) / std::sqrt(norm2);
    const BackendAgreement g = backend_agreement(a, b, bf16, false);
    CHECK(g.rel_l2 == Approx(expected).epsilon(1e-12));
    CHECK(g.identical_share == Approx(31.0 / 32));
    CHECK(g.pass == (expected <= std::ldexp(1.0, -8)));
  }
}

TEST_CASE("A NaN on one backend only never agrees", "[backend]") {
  const Matrix<float> b = ramp(2, 4);
  Matrix<float> a = b;
  a(0, 0) = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(backend_agreement(a, b, *find_precision("fp32"), false).pass);
}

TEST_CASE("Outputs of different shapes are refused", "[backend]") {
  CHECK_THROWS_AS(backend_agreement(ramp(2, 4), ramp(4, 2), *find_precision("fp32"), false), std::invalid_argument);
}

TEST_CASE("Backends are chosen by name, with one-line refusals", "[backend]") {
  CHECK(make_backend("cpu").name == "cpu");
  CHECK_THROWS_WITH(make_backend("tpu"), "unknown backend 'tpu' (expected cpu or cuda)");
  CHECK_THROWS_WITH(make_backend("cpu", true), "--tf32: only the cuda backend has TF32 GEMMs");
}
