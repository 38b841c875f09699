#include "harness/case/sweep.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ffn {

InputConfig CaseConfig::inputs() const {
  return {shape, tokens, seed, dtype, scheme, outlier_channels, outlier_scale};
}

AllReduceConfig CaseConfig::reduction() const {
  AllReduceConfig r(allreduce, nccl_channels);
  r.nccl_ring_orders = nccl_ring_orders;
  return r;
}

std::string CaseConfig::reduction_label() const {
  std::string label(allreduce_model_name(allreduce));
  if (allreduce != AllReduceModel::nccl_ring) return label;
  if (nccl_channels != 1) label += fmt::format("-ch{}", nccl_channels);
  if (!nccl_ring_orders.empty()) {
    std::vector<std::string> rings;
    for (const auto& ring : nccl_ring_orders) rings.push_back(fmt::format("{}", fmt::join(ring, ".")));
    label += fmt::format("-r{}", fmt::join(rings, "_"));
  }
  return label;
}

std::string CaseConfig::name() const {
  std::string n = fmt::format("{}/t{}/tp{}/{}/{}/s{}", shape.name, tokens, tp, precision().name, reduction_label(), seed);
  if (outlier_channels > 0) n += fmt::format("/o{}x{}", outlier_channels, outlier_scale);
  if (fault != Fault::none) n += fmt::format("/inject={}", fault_name(fault));
  return n;
}

void check_scale_blocks(const FfnShape& shape, const Precision& p, int tp) {
  const SchemeLayout l = scheme_layout(p.scheme);
  const auto need = [&](const char* layer, const char* dim_name, std::int64_t size, std::int64_t block) {
    if (block > 1 && (size / tp) % block != 0)
      throw std::invalid_argument(fmt::format(
          "--precision {}: {} shards its {} dimension {} over tp {} into {} per rank, not a multiple "
          "of the {}-element scale block; the loader refuses it",
          p.name, layer, dim_name, size, tp, size / tp, block));
  };
  if (!p.quantized() || tp == 1) return;  // nothing is cut at tp 1
  // Column-parallel layers cut the weight's rows (and their scale blocks), row-parallel
  // layers its columns (and the input's scale groups).
  need("proj_in (column-parallel)", "output", shape.inner, l.weight.block_rows);
  need("proj_out (row-parallel, sharded path)", "input", shape.inner,
       std::max(l.weight.block_cols, l.input.block_cols));
  need("proj_out (column-parallel, allgather path)", "output", shape.dim, l.weight.block_rows);
}

namespace {

// Why model m has no prediction for the AllReduce of the case's [tokens, dim] output, moved in the
// activation dtype (allreduce_buffer_problem); empty when it has one.
std::string buffer_problem(const SweepConfig& s, const Precision& p, int tp, AllReduceModel m) {
  return allreduce_buffer_problem(m, p.activation, static_cast<std::size_t>(s.tokens * s.shape.dim), tp);
}

// scale_blocks: also refuse what the loader refuses (a scale block a shard would cut) and a buffer
// an AllReduce cannot reduce; expand_runnable lists those as not run instead.
void validate_sweep(const SweepConfig& s, bool scale_blocks) {
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
  for (const Precision& p : s.precisions) {
    if (p.activation == DType::fp64) fail("--precision: fp64 is the reference, not a path precision");
    if (scale_blocks)
      for (int tp : s.tps) check_scale_blocks(s.shape, p, tp);
  }
  if (s.allreduce.empty()) fail("--allreduce: no AllReduce model given");
  if (s.nccl_channels < 1 || s.nccl_channels > 64)
    fail(fmt::format("--nccl-channels: must be between 1 and 64 (NCCL's MAXCHANNELS), got {}", s.nccl_channels));
  if (scale_blocks)
    for (const Precision& p : s.precisions)
      for (int tp : s.tps)
        for (AllReduceModel m : s.allreduce)
          if (const std::string problem = buffer_problem(s, p, tp, m); !problem.empty())
            fail(fmt::format("--allreduce {}", problem));
  if (!s.nccl_ring_orders.empty()) {
    if (std::ranges::find(s.allreduce, AllReduceModel::nccl_ring) == s.allreduce.end())
      fail("--nccl-ring-order: only nccl-ring has rings (add it to --allreduce)");
    for (int tp : s.tps) {
      try {
        check_nccl_ring_orders(s.nccl_ring_orders, tp, s.nccl_channels);
      } catch (const std::invalid_argument& e) {
        fail(fmt::format("--nccl-ring-order: {}", e.what()));
      }
    }
  }
  if (s.outlier_channels < 0 || s.outlier_channels > s.shape.dim)
    fail(fmt::format("--outliers: must be between 0 and the hidden size {}, got {}", s.shape.dim,
                     s.outlier_channels));
  if (!(s.outlier_scale > 0) || !std::isfinite(s.outlier_scale))
    fail(fmt::format("--outlier-scale: must be a positive finite number, got {}", s.outlier_scale));
  if (s.outlier_scale > k_max_outlier_scale)
    fail(fmt::format("--outlier-scale: at most 2^32 = {:.4g}: larger inputs overflow the fp32 sums of squared "
                     "magnitudes in the error budget, got {:.4g}",
                     k_max_outlier_scale, s.outlier_scale));
}

// The cases of precision p at tp; with `not_run`, the models that cannot reduce the case's buffer are
// listed there instead.
void add_cases(const SweepConfig& s, const Precision& p, int tp, std::vector<CaseConfig>& cases,
               std::vector<std::string>* not_run = nullptr) {
  for (AllReduceModel m : s.allreduce) {
    if (not_run)
      if (const std::string problem = buffer_problem(s, p, tp, m); !problem.empty()) {
        not_run->push_back(fmt::format("{} at tp {}, --allreduce {}", p.name, tp, problem));
        continue;
      }
    cases.push_back({s.shape, s.tokens, tp, p.activation, p.scheme, m, s.seed, s.outlier_channels, s.outlier_scale,
                     Fault::none, s.nccl_channels, s.nccl_ring_orders});
  }
}

}  // namespace

void validate(const SweepConfig& s) { validate_sweep(s, /*scale_blocks=*/true); }

std::vector<CaseConfig> expand(const SweepConfig& s) {
  validate(s);
  std::vector<CaseConfig> cases;
  for (const Precision& p : s.precisions)
    for (int tp : s.tps) add_cases(s, p, tp, cases);
  return cases;
}

RunnableCases expand_runnable(const SweepConfig& s) {
  validate_sweep(s, /*scale_blocks=*/false);
  RunnableCases r;
  for (const Precision& p : s.precisions)
    for (int tp : s.tps) {
      try {
        check_scale_blocks(s.shape, p, tp);
      } catch (const std::invalid_argument& e) {
        r.not_run.push_back(fmt::format("{} at tp {}: {}", p.name, tp, e.what()));
        continue;
      }
      add_cases(s, p, tp, r.cases, &r.not_run);
    }
  return r;
}

std::vector<std::string> allreduce_notes(const std::vector<CaseConfig>& cases) {
  std::vector<std::string> notes;
  for (const CaseConfig& c : cases) {
    // The AllReduce moves the [tokens, dim] output in the activation dtype.
    const std::size_t bytes = static_cast<std::size_t>(c.tokens * c.shape.dim) * (c.dtype == DType::fp32 ? 4 : 2);
    const std::string note = allreduce_dispatch_note(c.allreduce, c.tp, bytes);
    if (!note.empty() && std::ranges::find(notes, note) == notes.end()) notes.push_back(note);
  }
  return notes;
}

}  // namespace ffn
