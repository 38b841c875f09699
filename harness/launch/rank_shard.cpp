#include "harness/launch/rank_shard.hpp"

#include <functional>
#include <limits>

namespace ffn {

namespace {

// Element (i, j) of a tensor belongs to the rank's shard.
using Region = std::function<bool(std::int64_t, std::int64_t)>;

constexpr float k_poison = std::numeric_limits<float>::quiet_NaN();

struct Slice {
  std::int64_t begin, end;
  bool contains(std::int64_t k) const { return k >= begin && k < end; }
};

Slice slice_of(std::int64_t n, int rank, int tp) { return {rank * (n / tp), (rank + 1) * (n / tp)}; }

void poison(Matrix<float>& m, const Region& keep) {
  for (std::int64_t i = 0; i < m.rows(); ++i)
    for (std::int64_t j = 0; j < m.cols(); ++j)
      if (!keep(i, j)) m(i, j) = k_poison;
}

void poison(std::vector<float>& v, const Region& keep) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!keep(static_cast<std::int64_t>(i), 0)) v[i] = k_poison;
}

void poison(QuantizedMatrix& q, const Region& keep) {
  // A scale block stays when any code it scales stays.
  Matrix<float> used(q.scales.rows(), q.scales.cols(), 0.0f);
  for (std::int64_t i = 0; i < q.rows(); ++i)
    for (std::int64_t j = 0; j < q.cols(); ++j)
      if (keep(i, j)) used(i / q.block_rows, j / q.block_cols) = 1;
  poison(q.values, keep);
  poison(q.scales, [&](std::int64_t bi, std::int64_t bj) { return used(bi, bj) != 0; });
}

}  // namespace

void keep_rank_shard(FfnWeights& w, int rank, int tp) {
  const Slice inner = slice_of(w.inner(), rank, tp), dim = slice_of(w.dim(), rank, tp);
  // Gated: the fused gate_up weight holds gate rows, then up rows; a rank keeps its slice of each.
  const std::int64_t rows_per_half = w.inner();
  const Region proj_in = [&](std::int64_t i, std::int64_t) { return inner.contains(i % rows_per_half); };
  const Region proj_out = [&](std::int64_t i, std::int64_t j) { return dim.contains(i) || inner.contains(j); };
  const Region proj_out_bias = [&](std::int64_t i, std::int64_t) { return rank == 0 || dim.contains(i); };
  poison(w.w_in, proj_in);
  poison(w.b_in, proj_in);
  poison(w.w_out, proj_out);
  poison(w.b_out, proj_out_bias);
  if (w.quant) {
    poison(w.quant->proj_in.weight, proj_in);
    poison(w.quant->proj_out.weight, proj_out);
  }
}

}  // namespace ffn
