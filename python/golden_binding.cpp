#include <fmt/format.h>

#include "goldens/golden_file.hpp"
#include "harness/run/golden_check.hpp"
#include "python/arrays.hpp"
#include "python/bindings.hpp"

namespace ffn::python {

namespace {

const std::string k_prefix = "ffn-parity golden check";

py::array_t<float> vector_to_numpy(const std::vector<float>& v) {
  py::array_t<float> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::dict input_set_dict(const GoldenFile& g, const GoldenInputSet& set, bool with_tensors) {
  const InputConfig& c = set.config;
  py::dict d;
  d["id"] = set.id;
  d["mode"] = std::string(input_mode_name(set.mode));
  d["shape"] = c.shape.name;
  d["dim"] = c.shape.dim;
  d["inner"] = c.shape.inner;
  d["activation"] = activation_name(c.shape.activation);
  d["bias"] = c.shape.bias;
  d["tokens"] = c.tokens;
  d["seed"] = c.seed;
  d["precision"] = precision_of(c.dtype, c.scheme).name;
  d["outlier_channels"] = c.outlier_channels;
  d["outlier_scale"] = c.outlier_scale;
  py::dict digests;
  for (const auto& [name, digest] : set.sha256) digests[py::str(name)] = digest;
  d["sha256"] = digests;
  d["reference"] = to_numpy(set.reference);
  if (!with_tensors) return d;
  std::string problems;
  FfnInputs in;
  try {
    in = golden_inputs(g, set, problems);
  } catch (const GoldenError& e) {
    throw usage_error(k_prefix, e.what());
  }
  d["input_problems"] = problems;  // empty: the inputs are the blessed ones
  d["x"] = to_numpy(in.x);
  d["w_in"] = to_numpy(in.weights.w_in);
  d["w_out"] = to_numpy(in.weights.w_out);
  d["b_in"] = in.weights.b_in.empty() ? py::object(py::none()) : py::object(vector_to_numpy(in.weights.b_in));
  d["b_out"] = in.weights.b_out.empty() ? py::object(py::none()) : py::object(vector_to_numpy(in.weights.b_out));
  return d;
}

py::dict case_dict(const GoldenCase& c) {
  py::dict d;
  d["id"] = c.id;
  d["name"] = c.config.name();
  d["tp"] = c.config.tp;
  d["precision"] = c.config.precision().name;
  d["allreduce"] = c.config.reduction_label();
  d["input_set"] = c.input_set;
  const GoldenRecord& r = c.record;
  py::dict record;
  record["parity_rel_l2"] = r.parity_rel_l2;
  record["allgather_ref_rel_l2"] = r.allgather_ref_rel_l2;
  record["sharded_ref_rel_l2"] = r.sharded_ref_rel_l2;
  record["parity_margin"] = r.parity_margin;
  record["allgather_ref_margin"] = r.allgather_ref_margin;
  record["sharded_ref_margin"] = r.sharded_ref_margin;
  d["record"] = record;
  d["drift_budget_scale"] = c.drift_budget_scale;
  d["allgather"] = to_numpy(c.allgather);
  d["sharded"] = to_numpy(c.sharded);
  d["has_frames"] = c.frames.has_value();
  return d;
}

}  // namespace

py::dict read_golden_file(const std::string& path, bool with_inputs) {
  GoldenFile g;
  try {
    py::gil_scoped_release release;
    g = read_golden(path);
  } catch (const GoldenError& e) {
    throw usage_error(k_prefix, e.what());
  }
  py::dict d;
  d["path"] = g.path;
  py::dict provenance;
  for (const auto& [k, v] : g.provenance) provenance[py::str(k)] = v;
  d["provenance"] = provenance;
  py::dict sets;
  for (const auto& [id, set] : g.input_sets) sets[py::str(id)] = input_set_dict(g, set, with_inputs);
  d["input_sets"] = sets;
  py::list cases;
  for (const GoldenCase& c : g.cases) cases.append(case_dict(c));
  d["cases"] = cases;
  return d;
}

}  // namespace ffn::python
