#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/report/table_json_report.hpp"
#include "harness/run/captured_outputs.hpp"
#include "kernels/rounding.hpp"
#include "python/arrays.hpp"
#include "python/bindings.hpp"
#include "python/command_options.hpp"

namespace ffn::python {

namespace {

const std::string k_prefix = "ffn_parity.judge_outputs";

// Values the stack stores in `dtype` must lie on its grid: rounding them again here would be a
// rounding the stack never did (as `run --activations` refuses an off-grid capture).
void check_grid(const std::string& name, std::span<const float> v, std::int64_t cols, DType dtype) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i]) && !is_representable(dtype, v[i]))
      throw usage_error(k_prefix, fmt::format("{}: value {:.9g} at flat index {} (row {}) is not on the {} grid; pass "
                                              "the values the stack computed with",
                                              name, v[i], i, i / cols, dtype_name(dtype)));
    else if (!std::isfinite(v[i]))
      throw usage_error(k_prefix, fmt::format("{}: {} at flat index {}: inputs must be finite", name, v[i], i));
}

void expect_shape(const std::string& name, std::int64_t rows, std::int64_t cols, std::int64_t want_rows,
                  std::int64_t want_cols, const char* why) {
  if (rows != want_rows || cols != want_cols)
    throw usage_error(k_prefix, fmt::format("{}: shape [{}, {}], expected [{}, {}] ({})", name, rows, cols, want_rows,
                                            want_cols, why));
}

// The FFN given as arrays, checked against the case the options describe.
FfnInputs inputs_from_arrays(const CaseConfig& c, Matrix<float> x, py::object w_in, py::object b_in, py::object w_out,
                             py::object b_out, std::optional<DType> bits) {
  FfnInputs in;
  FfnWeights& w = in.weights;
  w.activation = c.shape.activation;
  w.w_in = matrix_from(w_in, "w_in", bits, false, k_prefix);
  w.w_out = matrix_from(w_out, "w_out", bits, false, k_prefix);
  const std::int64_t dim = c.shape.dim, inner = c.shape.inner, in_rows = c.shape.proj_in_rows();
  expect_shape("w_in", w.w_in.rows(), w.w_in.cols(), in_rows, dim,
               w.activation.gated ? "[gate; up] rows by hidden, as nn.Linear holds it" : "inner by hidden, as nn.Linear holds it");
  expect_shape("w_out", w.w_out.rows(), w.w_out.cols(), dim, inner, "hidden by inner, as nn.Linear holds it");
  if (!c.shape.bias && !b_out.is_none())
    throw usage_error(k_prefix, "b_out: given without b_in: an MLP has both biases or neither");
  if (c.shape.bias) {
    w.b_in = vector_from(b_in, "b_in", bits, k_prefix);
    w.b_out = vector_from(b_out, "b_out", bits, k_prefix);
    if (static_cast<std::int64_t>(w.b_in.size()) != in_rows)
      throw usage_error(k_prefix, fmt::format("b_in: {} values, expected {} (the rows of w_in)", w.b_in.size(), in_rows));
    if (static_cast<std::int64_t>(w.b_out.size()) != dim)
      throw usage_error(k_prefix, fmt::format("b_out: {} values, expected {} (the rows of w_out)", w.b_out.size(), dim));
    check_grid("b_in", w.b_in, in_rows, c.dtype);
    check_grid("b_out", w.b_out, dim, c.dtype);
  }
  // A quantized scheme quantizes fp32 master weights once, as the checkpoint's exporter did;
  // otherwise the checkpoint holds them in the activation dtype.
  const DType weight_grid = c.scheme == QuantScheme::none ? c.dtype : DType::fp32;
  check_grid("w_in", w.w_in.values(), dim, weight_grid);
  check_grid("w_out", w.w_out.values(), inner, weight_grid);
  in.x = std::move(x);
  if (c.scheme != QuantScheme::none) quantize_checkpoint(w, c.inputs());
  return in;
}

nlohmann::json verdict_json(const CapturedVerdict& v) {
  nlohmann::json worst = nlohmann::json::array();
  for (const WorstElement& e : v.worst)
    worst.push_back({{"row", e.row}, {"col", e.col}, {"actual", e.actual}, {"expected", e.expected},
                     {"bound", e.bound}, {"ratio", std::isfinite(e.ratio) ? nlohmann::json(e.ratio) : nlohmann::json("inf")}});
  return {{"name", v.name}, {"pass", v.pass}, {"reason", v.reason}, {"comparison", comparison_json(v.comparison)},
          {"worst_elements", worst}};
}

}  // namespace

py::tuple judge_outputs(const std::vector<std::string>& args, py::object x, py::object w_in, py::object b_in,
                        py::object w_out, py::object b_out, py::object old_output, py::object new_output,
                        const std::optional<std::string>& dtype, const std::string& backend_name, std::size_t worst_k) {
  const std::optional<DType> bits = bits_dtype(dtype, k_prefix);
  Matrix<float> xs = matrix_from(x, "x", bits, true, k_prefix);
  const CommandOptions o = parse_run_options(args, k_prefix);
  const Backend backend = open_backend(backend_name, k_prefix);
  const PlannedSweep plan = plan_sweep(o, k_prefix);
  if (plan.runnable.cases.size() != 1)
    throw usage_error(k_prefix, fmt::format("{} cases: judge one tp, precision and AllReduce at a time",
                                            plan.runnable.cases.size()));
  const CaseConfig& config = plan.runnable.cases.front();
  expect_shape("x", xs.rows(), xs.cols(), config.tokens, config.shape.dim, "tokens by hidden");
  check_grid("x", xs.values(), xs.cols(), config.dtype);
  CapturedOutputs captured;
  if (!old_output.is_none()) captured.old_path = matrix_from(old_output, "old", bits, true, k_prefix);
  if (!new_output.is_none()) captured.new_path = matrix_from(new_output, "new", bits, true, k_prefix);
  CapturedJudgement j;
  try {
    FfnInputs inputs;
    if (plan.source) {  // a checkpoint's FFN, with the caller's x
      inputs = plan.source(config);
      inputs.x = std::move(xs);
    } else {
      inputs = inputs_from_arrays(config, std::move(xs), w_in, b_in, w_out, b_out, bits);
    }
    py::gil_scoped_release release;
    j = judge_captured_outputs(config, inputs, captured, backend, worst_k);
  } catch (const RealInputError& e) {
    throw usage_error(k_prefix, e.what());
  } catch (const std::invalid_argument& e) {
    throw usage_error(k_prefix, e.what());
  }
  std::ostringstream harness;
  print_json(harness, plan.sweep, {j.harness});
  nlohmann::json doc = {{"pass", j.pass}, {"harness", nlohmann::json::parse(harness.str())}};
  doc["verdicts"] = nlohmann::json::array();
  for (const CapturedVerdict& v : j.verdicts) doc["verdicts"].push_back(verdict_json(v));
  const CaseResult& h = j.harness;
  return py::make_tuple(doc.dump(), py::make_tuple(to_numpy(h.allgather_out), to_numpy(h.sharded_out),
                                                   to_numpy(*h.reference_out)));
}

}  // namespace ffn::python
