// ColumnParallelLinear and RowParallelLinear (DESIGN section 1): shards are the right slices
// of the checkpoint tensors, the bias is added exactly once, gathers are in rank order.
// Expected values come from the unsharded cpu::linear or from exact arithmetic.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/tp/parallel_linear.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "kernels/cpu/linear.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;
using Catch::Matchers::Contains;

namespace {

constexpr int kTps[] = {1, 2, 4, 8};
constexpr AllReduceModel kModels[] = {AllReduceModel::ring, AllReduceModel::custom_1stage,
                                      AllReduceModel::exact};

Matrix<float> random_matrix(std::int64_t rows, std::int64_t cols, DType t, std::mt19937_64& gen,
                            double scale = 1.0) {
  std::normal_distribution<double> nd(0.0, scale);
  Matrix<float> m(rows, cols);
  for (float& v : m.values()) v = static_cast<float>(round_to(t, nd(gen)));
  return m;
}

std::vector<float> random_vector(std::int64_t n, DType t, std::mt19937_64& gen) {
  std::normal_distribution<double> nd;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& e : v) e = static_cast<float>(round_to(t, nd(gen)));
  return v;
}

// Small integers: every product and partial sum below is exact in bf16 (|sum| <= 2^8).
Matrix<float> small_int_matrix(std::int64_t rows, std::int64_t cols, std::mt19937_64& gen) {
  std::uniform_int_distribution<int> d(-1, 1);
  Matrix<float> m(rows, cols);
  for (float& v : m.values()) v = static_cast<float>(d(gen));
  return m;
}

bool equal_bits(const Matrix<float>& a, const Matrix<float>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a.data()[i], &b.data()[i], sizeof(float)) != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("ColumnParallelLinear shards are row slices of weight and bias", "[parallel_linear]") {
  std::mt19937_64 gen(1);
  const std::int64_t in = 12, out = 16;
  const Matrix<float> w = random_matrix(out, in, DType::bf16, gen);
  const std::vector<float> b = random_vector(out, DType::bf16, gen);
  for (int tp : kTps) {
    SimulatedCommunicator comm(tp, AllReduceModel::ring);
    const ColumnParallelLinear layer("proj_in", w, b, false, comm, DType::bf16);
    const std::int64_t rows = out / tp;
    for (int r = 0; r < tp; ++r) {
      const MatrixView<float> ws = layer.weight_shard(r);
      REQUIRE(ws.rows == rows);
      REQUIRE(ws.cols == in);
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < in; ++j) CHECK(ws(i, j) == w(r * rows + i, j));
      // A view into the checkpoint tensor, not a copy.
      CHECK(&ws(0, 0) == &w(r * rows, 0));
      const std::span<const float> bs = layer.bias_shard(r);
      REQUIRE(static_cast<std::int64_t>(bs.size()) == rows);
      for (std::int64_t i = 0; i < rows; ++i) CHECK(bs[i] == b[r * rows + i]);
    }
  }
}

TEST_CASE("RowParallelLinear shards are column slices; rank 0 adds the full bias",
          "[parallel_linear]") {
  std::mt19937_64 gen(2);
  const std::int64_t in = 16, out = 12;
  const Matrix<float> w = random_matrix(out, in, DType::bf16, gen);
  const std::vector<float> b = random_vector(out, DType::bf16, gen);
  for (int tp : kTps) {
    SimulatedCommunicator comm(tp, AllReduceModel::ring);
    const RowParallelLinear layer("proj_out", w, b, true, true, comm, DType::bf16);
    const std::int64_t cols = in / tp;
    for (int r = 0; r < tp; ++r) {
      const MatrixView<float> ws = layer.weight_shard(r);
      REQUIRE(ws.rows == out);
      REQUIRE(ws.cols == cols);
      for (std::int64_t i = 0; i < out; ++i)
        for (std::int64_t j = 0; j < cols; ++j) CHECK(ws(i, j) == w(i, r * cols + j));
      CHECK(&ws(0, 0) == &w(0, r * cols));
      const std::span<const float> added = layer.bias_added(r);
      if (r == 0) {
        REQUIRE(static_cast<std::int64_t>(added.size()) == out);
        for (std::int64_t i = 0; i < out; ++i) CHECK(added[i] == b[i]);
      } else {
        CHECK(added.empty());
      }
    }
  }
}

TEST_CASE("the bias is added exactly once for every tp", "[parallel_linear]") {
  // x = 0: every product is 0, so the output must be the bias itself, bit for bit; a bias
  // added on every rank would give tp * b, one added nowhere 0.
  std::mt19937_64 gen(3);
  const std::int64_t in = 16, out = 24, tokens = 3;
  for (DType t : {DType::bf16, DType::fp16, DType::fp32}) {
    const Matrix<float> w = random_matrix(out, in, t, gen);
    const std::vector<float> b = random_vector(out, t, gen);
    for (int tp : kTps)
      for (AllReduceModel m : kModels) {
        SimulatedCommunicator comm(tp, m);
        INFO(dtype_name(t) << " tp " << tp << " " << allreduce_model_name(m));
        // Row-parallel: full weight [out, in] split along in.
        const RowParallelLinear row("proj_out", w, b, true, true, comm, t);
        const RankTensors y = row.forward(RankTensors(tp, Matrix<float>(tokens, in / tp, 0.0f)));
        REQUIRE(y.size() == static_cast<std::size_t>(tp));
        for (const auto& yr : y) {
          REQUIRE(yr.rows() == tokens);
          REQUIRE(yr.cols() == out);
          for (std::int64_t i = 0; i < tokens; ++i)
            for (std::int64_t j = 0; j < out; ++j) CHECK(yr(i, j) == b[j]);
        }
        // Column-parallel with gather: each rank its own bias shard, once.
        const ColumnParallelLinear col("proj_in", w, b, true, comm, t);
        const RankTensors z = col.forward(RankTensors(tp, Matrix<float>(tokens, in, 0.0f)));
        for (const auto& zr : z) {
          REQUIRE(zr.cols() == out);
          for (std::int64_t i = 0; i < tokens; ++i)
            for (std::int64_t j = 0; j < out; ++j) CHECK(zr(i, j) == b[j]);
        }
      }
  }
}

TEST_CASE("ColumnParallelLinear gather equals the unsharded linear", "[parallel_linear]") {
  // Exact data (m 2^e, |m| <= 15, e in [-4, 0]; K = 96): every fp32 sum is exact in any
  // order, so each shard must equal its columns of the unsharded output bit for bit and the
  // gather must reproduce the whole output: a shard from the wrong rows, a bias slice from
  // the wrong place or a gather out of rank order cannot.
  std::mt19937_64 gen(4);
  const std::int64_t in = 96, out = 64, tokens = 20;
  std::uniform_int_distribution<int> mant(-15, 15), expo(-4, 0);
  const auto dyadic = [&](std::int64_t r, std::int64_t c) {
    Matrix<float> m(r, c);
    for (float& v : m.values()) v = std::ldexp(static_cast<float>(mant(gen)), expo(gen));
    return m;
  };
  for (DType t : {DType::bf16, DType::fp16, DType::fp32}) {
    const Matrix<float> x = dyadic(tokens, in), w = dyadic(out, in);
    const Matrix<float> bm = dyadic(1, out);
    const std::vector<float> b(bm.values().begin(), bm.values().end());
    const Matrix<float> full = cpu::linear(x, w, b, t);
    for (int tp : kTps) {
      SimulatedCommunicator comm(tp, AllReduceModel::ring);
      INFO(dtype_name(t) << " tp " << tp);
      // Without gather: rank r's shard is columns [r*out/tp, (r+1)*out/tp) of the full output.
      const ColumnParallelLinear sharded("proj_in", w, b, false, comm, t);
      const RankTensors ys = sharded.forward(RankTensors(tp, x));
      REQUIRE(ys.size() == static_cast<std::size_t>(tp));
      for (int r = 0; r < tp; ++r) {
        REQUIRE(ys[r].cols() == out / tp);
        CHECK(equal_bits(ys[r], full.col_block(r * out / tp, (r + 1) * out / tp)));
      }
      // With gather: every rank holds the concatenation in rank order.
      const ColumnParallelLinear gathered("proj_in", w, b, true, comm, t);
      const RankTensors yg = gathered.forward(RankTensors(tp, x));
      REQUIRE(yg.size() == static_cast<std::size_t>(tp));
      for (const auto& y : yg) CHECK(equal_bits(y, full));
    }
  }
}

TEST_CASE("ColumnParallelLinear on random data: within accumulation-order differences",
          "[parallel_linear]") {
  // With arbitrary values the GEMM kernel may sum in another order for a narrower N
  // (OpenBLAS does, for some shapes), so a shard can differ from the unsharded output by
  // both fp32 accumulation errors, gamma_(K+1) sum |x w| each (Higham 3.1), plus the two
  // roundings to the dtype.
  std::mt19937_64 gen(14);
  const std::int64_t in = 256, out = 64, tokens = 16;
  for (DType t : {DType::bf16, DType::fp16, DType::fp32}) {
    const Matrix<float> x = random_matrix(tokens, in, t, gen);
    const Matrix<float> w = random_matrix(out, in, t, gen, 0.1);
    const std::vector<float> b = random_vector(out, t, gen);
    const Matrix<float> full = cpu::linear(x, w, b, t);
    const double u32 = 0x1.0p-24, gamma = (in + 1) * u32 / (1 - (in + 1) * u32);
    std::int64_t differ = 0;
    for (int tp : kTps) {
      SimulatedCommunicator comm(tp, AllReduceModel::ring);
      const ColumnParallelLinear gathered("proj_in", w, b, true, comm, t);
      const Matrix<float> y = gathered.forward(RankTensors(tp, x)).front();
      for (std::int64_t i = 0; i < tokens; ++i)
        for (std::int64_t j = 0; j < out; ++j) {
          double s = std::fabs(b[j]);
          for (std::int64_t k = 0; k < in; ++k) s += std::fabs(double(x(i, k)) * w(j, k));
          const double bound = 2 * gamma * s +
                               unit_roundoff(t) * (std::fabs(y(i, j)) + std::fabs(full(i, j))) +
                               min_subnormal(t);
          INFO(dtype_name(t) << " tp " << tp << " (" << i << ", " << j << ")");
          CHECK(std::fabs(double(y(i, j)) - full(i, j)) <= bound);
          differ += y(i, j) != full(i, j);
        }
    }
    std::printf("column-parallel %s, random data, K = 256: %lld of %lld gathered outputs differ "
                "from the unsharded linear\n",
                std::string(dtype_name(t)).c_str(), (long long)differ,
                (long long)(4 * tokens * out));
  }
}

TEST_CASE("RowParallelLinear equals the unsharded linear on exact data", "[parallel_linear]") {
  // Entries in {-1, 0, 1}, in = 64, integer bias |b| <= 4: every partial and every sum is
  // an integer of magnitude <= 68, exact in bf16 whatever the order, so each model and
  // each tp must reproduce the unsharded result exactly; a wrong slice or a missing or
  // doubled bias would not.
  std::mt19937_64 gen(5);
  const std::int64_t in = 64, out = 8, tokens = 6;
  const Matrix<float> x = small_int_matrix(tokens, in, gen);
  const Matrix<float> w = small_int_matrix(out, in, gen);
  std::vector<float> b(out);
  for (std::int64_t j = 0; j < out; ++j) b[j] = static_cast<float>(j % 9 - 4);
  const Matrix<float> full = cpu::linear(x, w, b, DType::bf16);
  for (int tp : kTps)
    for (AllReduceModel m : kModels) {
      SimulatedCommunicator comm(tp, m);
      INFO("tp " << tp << " " << allreduce_model_name(m));
      const std::int64_t k = in / tp;
      // input_is_parallel: each rank gets its slice of x.
      RankTensors xs;
      for (int r = 0; r < tp; ++r) xs.push_back(x.col_block(r * k, (r + 1) * k));
      const RowParallelLinear par("proj_out", w, b, true, true, comm, DType::bf16);
      RankTensors partials;
      const RankTensors y = par.forward(xs, nullptr, &partials);
      for (const auto& yr : y) CHECK(equal_bits(yr, full));
      // The partials: rank r's x_r W_r^T, plus b on rank 0 only.
      REQUIRE(partials.size() == static_cast<std::size_t>(tp));
      for (int r = 0; r < tp; ++r)
        for (std::int64_t i = 0; i < tokens; ++i)
          for (std::int64_t j = 0; j < out; ++j) {
            double s = r == 0 ? b[j] : 0.0;
            for (std::int64_t c = r * k; c < (r + 1) * k; ++c) s += double(x(i, c)) * w(j, c);
            CHECK(partials[r](i, j) == s);
          }
      const RankTensors direct = par.partial_outputs(xs);
      for (int r = 0; r < tp; ++r) CHECK(equal_bits(direct[r], partials[r]));

      // input_is_parallel = false: every rank gets the full x and takes its own slice.
      const RowParallelLinear whole("proj_out", w, b, false, true, comm, DType::bf16);
      const RankTensors y2 = whole.forward(RankTensors(tp, x));
      for (const auto& yr : y2) CHECK(equal_bits(yr, full));
    }
}

TEST_CASE("RowParallelLinear input_is_parallel=false slices like the parallel input",
          "[parallel_linear]") {
  std::mt19937_64 gen(6);
  const std::int64_t in = 64, out = 16, tokens = 4;
  const Matrix<float> x = random_matrix(tokens, in, DType::bf16, gen);
  const Matrix<float> w = random_matrix(out, in, DType::bf16, gen, 0.1);
  const std::vector<float> b = random_vector(out, DType::bf16, gen);
  for (int tp : kTps) {
    SimulatedCommunicator comm(tp, AllReduceModel::ring);
    const std::int64_t k = in / tp;
    RankTensors xs;
    for (int r = 0; r < tp; ++r) xs.push_back(x.col_block(r * k, (r + 1) * k));
    const RowParallelLinear par("proj_out", w, b, true, true, comm, DType::bf16);
    const RowParallelLinear whole("proj_out", w, b, false, true, comm, DType::bf16);
    const RankTensors p1 = par.partial_outputs(xs), p2 = whole.partial_outputs(RankTensors(tp, x));
    for (int r = 0; r < tp; ++r) {
      INFO("tp " << tp << " rank " << r);
      CHECK(equal_bits(p1[r], p2[r]));
      // Rank r's partial is the unsharded linear of its slice against its columns.
      const Matrix<float> want = cpu::linear(xs[r], w.col_block(r * k, (r + 1) * k),
                                             r == 0 ? std::span<const float>(b) : std::span<const float>(),
                                             DType::bf16);
      CHECK(equal_bits(p1[r], want));
    }
    // The wrong input width for each mode throws (at tp 1 both widths are the same).
    if (tp > 1) {
      CHECK_THROWS_AS(par.forward(RankTensors(tp, x)), std::invalid_argument);
      CHECK_THROWS_AS(whole.forward(xs), std::invalid_argument);
    }
  }
}

TEST_CASE("reduce_results=false: partials without a bias, error with one", "[parallel_linear]") {
  std::mt19937_64 gen(7);
  const Matrix<float> w = small_int_matrix(8, 16, gen);
  const std::vector<float> b(8, 1.0f);
  SimulatedCommunicator comm(4, AllReduceModel::ring);
  CHECK_THROWS_WITH(RowParallelLinear("proj_out", w, b, true, false, comm, DType::bf16),
                    Contains("proj_out") && Contains("reduce_results"));
  // Without a bias: forward returns the unreduced partials.
  const RowParallelLinear layer("proj_out", w, {}, true, false, comm, DType::bf16);
  const Matrix<float> x = small_int_matrix(3, 16, gen);
  RankTensors xs;
  for (int r = 0; r < 4; ++r) xs.push_back(x.col_block(r * 4, (r + 1) * 4));
  const RankTensors y = layer.forward(xs);
  const Matrix<float> full = cpu::linear(x, w, {}, DType::bf16);
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 8; ++j) {
      float s = 0;
      for (int r = 0; r < 4; ++r) {
        double pr = 0;
        for (std::int64_t c = r * 4; c < (r + 1) * 4; ++c) pr += double(x(i, c)) * w(j, c);
        CHECK(y[r](i, j) == pr);
        s += y[r](i, j);
      }
      CHECK(s == full(i, j));
    }
}

TEST_CASE("tp must divide the sharded dimension; errors name the layer and sizes",
          "[parallel_linear]") {
  const Matrix<float> w(12, 10, 0.0f);  // [out 12, in 10]
  const std::vector<float> b(12, 0.0f);
  SimulatedCommunicator tp4(4, AllReduceModel::ring), tp8(8, AllReduceModel::ring);
  // Column-parallel splits out = 12: tp 4 works, tp 8 does not.
  CHECK_NOTHROW(ColumnParallelLinear("proj_in", w, b, true, tp4, DType::bf16));
  CHECK_THROWS_WITH(ColumnParallelLinear("proj_in", w, b, true, tp8, DType::bf16),
                    Contains("proj_in") && Contains("12") && Contains("8"));
  // Row-parallel splits in = 10: neither 4 nor 8 divides it.
  CHECK_THROWS_WITH(RowParallelLinear("proj_out", w, b, true, true, tp4, DType::bf16),
                    Contains("proj_out") && Contains("10") && Contains("4"));
  CHECK_THROWS_AS(RowParallelLinear("proj_out", w, b, true, true, tp8, DType::bf16),
                  std::invalid_argument);
  // A bias that does not match the weight's rows.
  const std::vector<float> short_bias(11, 0.0f);
  CHECK_THROWS_WITH(ColumnParallelLinear("proj_in", w, short_bias, true, tp4, DType::bf16),
                    Contains("proj_in") && Contains("11") && Contains("12"));
  SimulatedCommunicator tp2(2, AllReduceModel::ring);
  CHECK_THROWS_WITH(RowParallelLinear("proj_out", w, short_bias, true, true, tp2, DType::bf16),
                    Contains("proj_out") && Contains("11"));
}

TEST_CASE("forward checks the inputs it is given", "[parallel_linear]") {
  const Matrix<float> w(8, 16, 0.5f);
  SimulatedCommunicator comm(2, AllReduceModel::ring);
  const ColumnParallelLinear col("proj_in", w, {}, false, comm, DType::bf16);
  // One tensor per local rank.
  CHECK_THROWS_WITH(col.forward(RankTensors(3, Matrix<float>(2, 16))), Contains("proj_in"));
  // Feature count.
  CHECK_THROWS_WITH(col.forward(RankTensors(2, Matrix<float>(2, 15))),
                    Contains("proj_in") && Contains("15") && Contains("16"));
  const RowParallelLinear row("proj_out", w, {}, true, true, comm, DType::bf16);
  CHECK_THROWS_WITH(row.forward(RankTensors(2, Matrix<float>(2, 7))),
                    Contains("proj_out") && Contains("7") && Contains("8"));
  CHECK_THROWS_AS(row.forward(RankTensors(1, Matrix<float>(2, 8))), std::invalid_argument);
}
