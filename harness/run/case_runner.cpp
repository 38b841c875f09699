#include "harness/run/case_runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>

#include "harness/launch/rank_shard.hpp"
#include "harness/run/rollout.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "harness/verdict/fault_injection.hpp"
#include "harness/verdict/ffn_error_model.hpp"
#include "kernels/activation_memo.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

namespace {

// |a - b| in the L2 norm, accumulated in fp64.
double l2_norm(const Matrix<float>& a, const Matrix<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = double(a.data()[i]) - b.data()[i];
    s += d * d;
  }
  return std::sqrt(s);
}

std::vector<double> as_double(const Matrix<float>& m) {
  return std::vector<double>(m.values().begin(), m.values().end());
}

// Checks every traced tensor of a path and its output; the reason names the first offender.
// `traced`: the counts of the proj_in and activation outputs, made with the path's other
// activation checks (activation_checks).
std::int64_t check_grid(const char* path, const FfnTrace& trace, const Matrix<float>& out, DType dtype,
                        std::string& reason, const std::array<OffGridCount, 2>& traced) {
  std::vector<std::tuple<const char*, const Matrix<float>*, OffGridCount>> tensors = {
      {"proj_in output", &trace.hidden, traced[0]},
      {"activation output", &trace.activation, traced[1]},
      {"output", &out, off_grid(dtype, out.values())}};
  for (const auto& p : trace.partials) tensors.emplace_back("proj_out partial", &p, off_grid(dtype, p.values()));
  std::int64_t total = 0;
  for (const auto& [what, m, g] : tensors) {
    if (g.count > 0 && total == 0)
      reason = fmt::format("{} {}: {} of {} values off the {} grid, first ({}, {}) = {:.9g}", path, what, g.count,
                           m->size(), dtype_name(dtype), g.first / m->cols(), g.first % m->cols(), m->data()[g.first]);
    total += g.count;
  }
  return total;
}

// Same shape and the same bits (unlike ==, which takes -0 for +0 and NaN for no value).
bool bitwise_equal(const Matrix<float>& a, const Matrix<float>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Elements where the activation inputs of the two paths (gate and up, when gated) agree bit for
// bit but the outputs do not.
std::int64_t activation_mismatches(const FfnTrace& a, const FfnTrace& b) {
  std::int64_t n = 0;
  const std::int64_t m = a.activation.cols(), stride = a.hidden.cols() / m;  // 1, or 2 when gated
  for (std::int64_t t = 0; t < a.activation.rows(); ++t)
    for (std::int64_t k = 0; k < m; ++k) {
      bool same_in = true;
      for (std::int64_t h = 0; h < stride; ++h) same_in &= a.hidden(t, k + h * m) == b.hidden(t, k + h * m);
      n += same_in && a.activation(t, k) != b.activation(t, k);
    }
  return n;
}

// The checks of a path's proj_in and activation outputs that depend on those two tensors and
// the input set alone: against the reference activation, against the activation op, and on the
// grid.
struct ActivationChecks {
  BudgetVerdict against_reference;
  ElementwiseCheck op;
  std::array<OffGridCount, 2> off_grid;  // proj_in output, activation output
};

// The last checks made in an input set, with the tensors they were made on: both paths of a case,
// and the cases of a set, usually hand over the same bits (column-parallel proj_in gives every
// column by the same dot product at every tp), so each is checked once. Shared by the cases
// running side by side.
struct CheckedActivations {
  std::mutex mutex;
  Matrix<float> hidden, activation;
  std::optional<ActivationChecks> checks;
};

// Inputs, reference and error terms shared by the cases of one precision.
struct SharedState {
  InputConfig key;
  FfnInputs inputs;
  std::shared_ptr<const Matrix<double>> reference;
  std::vector<double> reference_activation;
  ErrorBudget activation_budget;
  FfnErrorTerms terms;
  std::optional<int> shard_tp;  // the TP size of the shard the weights were cut to
  // The CPU reference kernels with the set's activations remembered (the cases recompute the
  // same proj_in output); a device backend runs every activation of every case.
  std::unique_ptr<const ActivationMemo> cpu_kernels_with_memo;
  CheckedActivations checked;
};

ActivationChecks activation_checks(const FfnTrace& trace, SharedState& shared, const Activation& act, DType dtype) {
  CheckedActivations& c = shared.checked;
  {
    const std::lock_guard lock(c.mutex);
    if (c.checks && bitwise_equal(trace.hidden, c.hidden) && bitwise_equal(trace.activation, c.activation))
      return *c.checks;
  }
  ActivationChecks checks;
  checks.against_reference = judge(as_double(trace.activation), shared.reference_activation, shared.activation_budget);
  checks.op = check_activation_op(trace.hidden, trace.activation, act, dtype);
  checks.off_grid = {off_grid(dtype, trace.hidden.values()), off_grid(dtype, trace.activation.values())};
  const std::lock_guard lock(c.mutex);
  c.hidden = trace.hidden;
  c.activation = trace.activation;
  c.checks = checks;
  return checks;
}

std::string activation_reason(const char* path, const BudgetVerdict& v, std::int64_t cols) {
  if (v.pass) return {};
  return fmt::format("{} activation output: {} of {} elements beyond their error bound from the reference, worst "
                     "{:.3g}x at ({}, {})",
                     path, v.over_budget, v.numel, v.worst_ratio, v.worst_index / cols, v.worst_index % cols);
}

bool same_inputs(const InputConfig& a, const InputConfig& b) {
  return a.shape.name == b.shape.name && a.shape.dim == b.shape.dim && a.shape.inner == b.shape.inner &&
         a.shape.bias == b.shape.bias && a.shape.activation == b.shape.activation && a.tokens == b.tokens && a.seed == b.seed &&
         a.dtype == b.dtype && a.scheme == b.scheme && a.outlier_channels == b.outlier_channels &&
         a.outlier_scale == b.outlier_scale;
}

// A trace of the sharded path as if this process held every rank: a process that holds
// only some of them gathers the others' activation columns and partials.
void gather_trace(Communicator& comm, int tp, bool gated, FfnTrace& trace) {
  if (static_cast<int>(comm.local_ranks().size()) == tp) return;
  trace.activation = comm.all_gather_cols({trace.activation}).front();
  // proj_in outputs: each rank's [gate_r | up_r] (gated) back into the full [gate | up] layout.
  const Matrix<float> hidden = comm.all_gather_cols({trace.hidden}).front();
  if (!gated) {
    trace.hidden = hidden;
  } else {
    const std::int64_t cols = hidden.cols() / tp;
    RankTensors shards;
    for (int r = 0; r < tp; ++r) shards.push_back(hidden.col_block(r * cols, (r + 1) * cols));
    trace.hidden = gated_logical_layout(shards);
  }
  const Matrix<float> partials = comm.all_gather_cols(trace.partials).front();
  const std::int64_t cols = partials.cols() / tp;
  trace.partials.clear();
  for (int r = 0; r < tp; ++r) trace.partials.push_back(partials.col_block(r * cols, (r + 1) * cols));
}

// The paths of one case on this process's ranks; returns the judged result when `judge`.
std::optional<CaseResult> run_case(const CaseConfig& config, SharedState& shared, const FrameOptions* frames,
                                   const CaseExecution& execution, const Backend& backend) {
  const auto start = std::chrono::steady_clock::now();
  CaseResult r;
  r.config = config;
  r.not_applicable = fault_not_applicable(config.fault, config.tp, config.precision(), config.shape.bias,
                                          config.shape.activation);
  if (!r.applicable()) return execution.judge ? std::optional(r) : std::nullopt;
  const FfnInputs& in = shared.inputs;
  const DType dtype = config.dtype;
  // The launch places the ranks (one per process under MPI/NCCL); otherwise the backend's
  // communicator holds them all.
  const std::unique_ptr<Communicator> comm_owner = execution.communicator
                                                       ? execution.communicator(config.tp, config.reduction())
                                                       : backend.communicator(config.tp, config.reduction());
  Communicator& comm = *comm_owner;
  const Kernels& kernels = shared.cpu_kernels_with_memo ? *shared.cpu_kernels_with_memo : *backend.kernels;
  // The fault goes into one path; the reference and the budgets stay the correct ones.
  const FaultedInputs faulted(config.fault, in, comm, config.reduction());
  using P = FaultedPath;

  FfnTrace old_trace, new_trace;
  // Every quantization step of each path is judged on its own inputs as it happens.
  const QuantizationStepChecker old_kernels(kernels), new_kernels(faulted.kernels(P::sharded, kernels));
  const Matrix<float> y_old = ffn_allgather(faulted.x(P::allgather), faulted.weights(P::allgather),
                                            faulted.comm(P::allgather), dtype, &old_trace, old_kernels);
  ErrorBudget reduction(y_old.rows(), y_old.cols());
  BudgetObserver observer(reduction);
  const Matrix<float> y_new = ffn_sharded(faulted.x(P::sharded), faulted.weights(P::sharded),
                                          faulted.comm(P::sharded), dtype, &observer, &new_trace,
                                          InputScaleScope::local, faulted.variant(), new_kernels);
  gather_trace(comm, config.tp, in.weights.activation.gated, new_trace);
  Matrix<float> y_group;  // quantized schemes: proj_out's input scales agreed over the group
  FfnTrace group_trace;
  ErrorBudget group_reduction;  // sized only where there is a group path to budget
  if (in.weights.quant) {
    group_reduction = ErrorBudget(y_old.rows(), y_old.cols());
    BudgetObserver group_observer(group_reduction);
    y_group = ffn_sharded(faulted.x(P::sharded), faulted.weights(P::sharded), faulted.comm(P::sharded), dtype,
                          &group_observer, &group_trace, InputScaleScope::group, faulted.variant(),
                          faulted.kernels(P::sharded, kernels));
    gather_trace(comm, config.tp, in.weights.activation.gated, group_trace);
  }
  if (!execution.judge) return std::nullopt;

  r.activations_identical = new_trace.activation == old_trace.activation;
  // Column-parallel proj_in computes each column as the same dot product on either path, so the
  // sharded path usually hands over the allgather path's bits, and the checks made on them.
  const ActivationChecks old_checks = activation_checks(old_trace, shared, in.weights.activation, dtype);
  const ActivationChecks new_checks = activation_checks(new_trace, shared, in.weights.activation, dtype);
  r.allgather_activation = old_checks.against_reference;
  r.sharded_activation = new_checks.against_reference;
  r.activation_mismatches = activation_mismatches(new_trace, old_trace);
  r.hidden_parity = hidden_parity(old_trace.hidden, new_trace.hidden, shared.terms);
  // The model's activation: a faulty kernel is judged by the op it should have computed.
  r.allgather_activation_op = old_checks.op;
  r.sharded_activation_op = new_checks.op;
  if (in.weights.quant) {
    r.allgather_quantize_op = old_kernels.result();
    r.sharded_quantize_op = new_kernels.result();
  }
  std::string grid_reason_old, grid_reason_new;
  r.off_grid_allgather = check_grid("allgather", old_trace, y_old, dtype, grid_reason_old, old_checks.off_grid);
  r.off_grid_sharded = check_grid("sharded", new_trace, y_new, dtype, grid_reason_new, new_checks.off_grid);

  const ErrorBudget old_budget = allgather_budget(y_old, shared.terms);
  const ErrorBudget new_budget = sharded_budget(new_trace.partials, shared.terms, std::move(reduction));

  // At tp = 1 both paths perform the same operations on the same values: their errors are
  // identical, the parity budget is zero and the outputs must agree bit for bit.
  ErrorBudget parity_budget(y_old.rows(), y_old.cols());
  if (config.tp > 1 || !r.activations_identical) {
    parity_budget += old_budget;
    parity_budget += new_budget;
  }
  // Activations that differ (another GEMM kernel for proj_in) move the parity by at most
  // |dA| |W_out|. The allowance is licensed by the activation checks (each path's activations
  // within their error bounds of the reference) and granted to the parity only: against the
  // reference, such activations are already covered by the upstream terms.
  if (!r.activations_identical)
    parity_budget += activation_difference_budget(new_trace.activation, old_trace.activation,
                                                  in.weights.w_out);
  if (config.tp > 1 && shared.terms.input_scales_differ_by_shard) parity_budget += input_scale_budget(shared.terms);

  if (!y_group.empty()) {
    const double norm = l2_norm(y_old, Matrix<float>(y_old.rows(), y_old.cols()));
    r.scale_part_rel_l2 = l2_norm(y_new, y_group) / norm;
    r.order_part_rel_l2 = l2_norm(y_group, y_old) / norm;
    // With proj_out's input scales agreed over the group, the sharded path quantizes exactly
    // what the allgather path quantizes: only the reduction order separates the two, and the
    // parity budget without the input-scale allowance (that of fp8-static) must hold.
    if (config.tp > 1 && shared.terms.input_scales_differ_by_shard) {
      ErrorBudget order_budget = old_budget;
      order_budget += sharded_budget(group_trace.partials, shared.terms, std::move(group_reduction));
      if (group_trace.activation != old_trace.activation)
        order_budget += activation_difference_budget(group_trace.activation, old_trace.activation, in.weights.w_out);
      r.order_parity = compare(y_group, as_double(y_old), std::move(order_budget), dtype,
                               group_trace.activation == old_trace.activation ? shared.reference->values()
                                                                               : std::span<const double>());
    }
  }
  const std::span<const double> ref = shared.reference->values();
  // The signed error is judged on the parity where both paths share the activation bits: their
  // difference is then made of roundings of linear operations only, unbiased under round to
  // nearest. Against the reference the upstream errors pass through GELU, whose curvature
  // biases them at second order (ERROR_MODEL.md, "Signed error").
  const std::span<const double> parity_signs = r.activations_identical ? ref : std::span<const double>();
  r.parity = compare(y_new, as_double(y_old), std::move(parity_budget), dtype, parity_signs);
  r.allgather_ref = compare(y_old, ref, reference_budget(old_budget, shared.terms), dtype, {});
  r.sharded_ref = compare(y_new, ref, reference_budget(new_budget, shared.terms), dtype, {});
  if (in.captured_y) {
    const ErrorBudget captured = reference_budget(old_budget, shared.terms);
    ErrorBudget ag = reference_budget(old_budget, shared.terms), sh = reference_budget(new_budget, shared.terms);
    ag += captured;
    sh += captured;
    const std::vector<double> y = as_double(*in.captured_y);
    r.allgather_captured = compare(y_old, y, std::move(ag), dtype, {});
    r.sharded_captured = compare(y_new, y, std::move(sh), dtype, {});
  }
  r.allgather_out = y_old;
  r.sharded_out = y_new;
  r.reference_out = shared.reference;

  for (const auto& [what, c] : {std::pair{"parity", &r.parity},
                                std::pair{"allgather vs reference", &r.allgather_ref},
                                std::pair{"sharded vs reference", &r.sharded_ref}}) {
    const std::string why = failure_reason(what, *c);
    if (!why.empty()) r.reason += (r.reason.empty() ? "" : "; ") + why;
  }
  if (r.order_parity) {
    const std::string why = failure_reason("parity with group-wide input scales", *r.order_parity);
    if (!why.empty()) r.reason += (r.reason.empty() ? "" : "; ") + why;
  }
  const std::int64_t inner = in.weights.inner();
  for (const std::string& why : {activation_reason("allgather", r.allgather_activation, inner),
                                 activation_reason("sharded", r.sharded_activation, inner),
                                 elementwise_reason("allgather activation op", r.allgather_activation_op, inner),
                                 elementwise_reason("sharded activation op", r.sharded_activation_op, inner),
                                 elementwise_reason("proj_in outputs of the two paths", r.hidden_parity,
                                                    old_trace.hidden.cols(), "their accumulation bound"),
                                 r.allgather_quantize_op
                                     ? elementwise_reason("allgather quantization steps", *r.allgather_quantize_op, 0)
                                     : std::string(),
                                 r.sharded_quantize_op
                                     ? elementwise_reason("sharded quantization steps", *r.sharded_quantize_op, 0)
                                     : std::string(),
                                 grid_reason_old, grid_reason_new})
    if (!why.empty()) r.reason += (r.reason.empty() ? "" : "; ") + why;
  if (r.activation_mismatches > 0)
    r.reason += fmt::format("{}activation: {} outputs differ between the paths where its inputs are identical",
                            r.reason.empty() ? "" : "; ", r.activation_mismatches);
  if (frames) {
    r.frames = judge_frames(rollout(config, frames->rollout), frames->thresholds_for(config.precision()), frames->ssim);
    r.frames->rollout = frames->rollout;
    if (!r.frames->pass) r.reason += (r.reason.empty() ? "" : "; ") + r.frames->reason;
  }
  r.pass = r.reason.empty();
  if (!execution.keep_budgets) {
    for (Comparison* c : {&r.parity, &r.allgather_ref, &r.sharded_ref}) c->budget.reset();
    for (std::optional<Comparison>* c : {&r.order_parity, &r.allgather_captured, &r.sharded_captured})
      if (*c) (*c)->budget.reset();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// Whether the cases of one input set may run side by side: each case is independent of the
// others (its own communicator, kernels and buffers; the inputs and the reference are only
// read), so on the CPU backend with simulated ranks they run on every core, each with
// single-threaded GEMMs (cpu::gemm_xwt_into splits a GEMM's columns over the cores only outside
// a parallel region). Otherwise the elementwise work of the paths and the verdicts, about
// half of a case, would run on one core while the others wait for the next GEMM. Frames keep
// to one case at a time: their rollout is parallel on its own.
bool cases_side_by_side(const FrameOptions* frames, const CaseExecution& execution, const Backend& backend) {
  return !frames && !execution.communicator && execution.rank < 0 && execution.judge && backend.name == "cpu" &&
         omp_get_max_threads() > 1;
}

// Cases [begin, end) of one input set, side by side; results and progress in case order, each
// reported as soon as it and every case before it are judged. The first error stops the group
// and is rethrown once the running cases have finished.
void run_side_by_side(const std::vector<CaseConfig>& cases, std::size_t begin, std::size_t end, SharedState& shared,
                      const CaseProgress& progress, const CaseExecution& execution, const Backend& backend,
                      std::vector<CaseResult>& results) {
  std::vector<std::optional<CaseResult>> judged(end - begin);
  std::size_t next = begin;  // the next case to report
  std::mutex mutex;
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t i = begin; i < end; ++i) {
    {
      const std::lock_guard lock(mutex);
      if (error) continue;
      if (progress.started && i > begin) progress.started(i, cases.size(), cases[i]);
    }
    try {
      std::optional<CaseResult> r = run_case(cases[i], shared, nullptr, execution, backend);
      const std::lock_guard lock(mutex);
      judged[i - begin] = std::move(r);
      for (; next < end && judged[next - begin]; ++next) {
        results.push_back(std::move(*judged[next - begin]));
        if (progress.finished) progress.finished(next, cases.size(), results.back());
      }
    } catch (...) {
      const std::lock_guard lock(mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::vector<CaseResult> run_cases(const std::vector<CaseConfig>& cases, const CaseProgress& progress,
                                  const InputSource& source, const FrameOptions* frames,
                                  const CaseExecution& execution, const Backend& backend) {
  std::vector<CaseResult> results;
  std::unique_ptr<SharedState> shared;
  const bool side_by_side = cases_side_by_side(frames, execution, backend);
  for (std::size_t i = 0; i < cases.size();) {
    if (progress.started) progress.started(i, cases.size(), cases[i]);
    const InputConfig key = cases[i].inputs();
    if (!shared || !same_inputs(shared->key, key)) {
      shared.reset();  // release the previous precision's tensors before making new ones
      shared = std::make_unique<SharedState>();
      shared->key = key;
      shared->inputs = source ? source(cases[i]) : make_inputs(key);
      if (backend.kernels.get() == &cpu_kernels()) shared->cpu_kernels_with_memo = std::make_unique<ActivationMemo>(cpu_kernels());
      if (execution.rank >= 0 && !execution.judge) {
        keep_rank_shard(shared->inputs.weights, execution.rank, cases[i].tp);
        shared->shard_tp = cases[i].tp;
      }
    }
    if (shared->shard_tp && *shared->shard_tp != cases[i].tp)
      throw std::invalid_argument(fmt::format("case {}: this process holds the shard of rank {} at tp {}",
                                              cases[i].name(), execution.rank, *shared->shard_tp));
    if (execution.judge && !shared->reference) {
      ReferenceResult ref = ffn_reference(shared->inputs.x, shared->inputs.weights);
      shared->terms = ffn_error_terms(shared->inputs.x, shared->inputs.weights, ref, key.dtype);
      shared->activation_budget = activation_budget(shared->terms);
      shared->reference_activation.assign(ref.activation.values().begin(), ref.activation.values().end());
      shared->reference = std::make_shared<const Matrix<double>>(std::move(ref.output));
    }
    if (side_by_side) {
      std::size_t end = i + 1;
      while (end < cases.size() && same_inputs(cases[end].inputs(), key)) ++end;
      run_side_by_side(cases, i, end, *shared, progress, execution, backend, results);
      i = end;
      continue;
    }
    if (std::optional<CaseResult> r = run_case(cases[i], *shared, frames, execution, backend)) {
      results.push_back(std::move(*r));
      if (progress.finished) progress.finished(i, cases.size(), results.back());
    }
    ++i;
  }
  return results;
}

}  // namespace ffn
