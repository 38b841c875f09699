#include "harness/cli/case_dump.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "harness/inputs/safetensors_writer.hpp"
#include "harness/verdict/backend_agreement.hpp"
#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"

namespace ffn::cli {

namespace st = ffn::safetensors;

namespace {

std::string as_file_name(std::string s) {
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

// The narrower of the activation dtype and F32 that holds every value exactly.
st::Dtype exact_dtype(std::span<const float> values, DType activation) {
  const auto all = [&](auto round_trips) { return std::ranges::all_of(values, round_trips); };
  if (activation == DType::bf16 && all([](float v) { return bf16_bits_to_float(float_to_bf16_bits(v)) == v; }))
    return st::Dtype::bf16;
  if (activation == DType::fp16 && all([](float v) { return fp16_bits_to_float(float_to_fp16_bits(v)) == v; }))
    return st::Dtype::f16;
  return st::Dtype::f32;
}

st::TensorToWrite exact_tensor(const std::string& name, std::vector<std::int64_t> shape, std::span<const float> values,
                               DType activation) {
  return st::encode_tensor(name, exact_dtype(values, activation), std::move(shape), values);
}

// Each element's bound against the reference, worst + lambda_element sqrt(random_sq) as judge
// computes it (metrics/error_budget.cpp), rounded up to float so that no bound shrinks.
std::vector<float> element_bounds(const ErrorBudget& b) {
  const double lambda = VerdictConstants{}.lambda_element;
  std::vector<float> out(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double bound = b.worst(i) + lambda * std::sqrt(b.random_sq(i));
    float f = static_cast<float>(bound);
    if (double(f) < bound) f = std::nextafter(f, std::numeric_limits<float>::infinity());
    out[i] = f;
  }
  return out;
}

nlohmann::json comparison_json(const Comparison& c) {
  return {{"rel_l2", std::sqrt(c.stats.nmse)},
          {"margin", c.verdict.margin()},
          {"pass", c.verdict.pass},
          {"norm_threshold", c.verdict.norm_threshold}};
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(1) << "\n";
  if (!out.flush()) throw std::runtime_error(path + ": cannot write");
}

}  // namespace

std::string case_file_stem(const CaseConfig& c) { return as_file_name(c.name()); }

std::string output_file_name(const CaseConfig& c, const std::string& path) {
  return fmt::format("{}.{}.f32", case_file_stem(c), path);
}

std::string input_set_stem(const CaseConfig& c) {
  std::string n = fmt::format("{}_t{}_{}_s{}", c.shape.name, c.tokens, c.precision().name, c.seed);
  if (c.outlier_channels > 0) n += fmt::format("_o{}x{}", c.outlier_channels, c.outlier_scale);
  return as_file_name(n);
}

void dump_inputs(const std::string& dir, const std::vector<CaseResult>& results, const InputSource& source,
                 const Backend& backend, bool tf32, const std::string& outputs_dir) {
  std::filesystem::create_directories(dir);
  // Relative to `dir`, so that the two folders can move together (copied off a GPU machine).
  const std::string outputs =
      outputs_dir.empty() ? std::string() : std::filesystem::relative(outputs_dir, dir).lexically_normal().string();
  std::string written_set;  // consecutive cases share their input set (run_cases)
  for (const CaseResult& r : results) {
    if (!r.applicable()) continue;
    const CaseConfig& c = r.config;
    const std::string set = input_set_stem(c), stem = case_file_stem(c);
    const std::int64_t tokens = r.allgather_out.rows(), dim = r.allgather_out.cols();
    try {
      if (set != written_set) {
        const FfnInputs in = source ? source(c) : make_inputs(c.inputs());
        const FfnWeights& w = in.weights;
        const DType a = c.dtype;
        std::vector<st::TensorToWrite> tensors;
        tensors.push_back(exact_tensor("x", {in.x.rows(), in.x.cols()}, in.x.values(), a));
        tensors.push_back(exact_tensor("proj_in.weight", {w.w_in.rows(), w.w_in.cols()}, w.w_in.values(), a));
        if (!w.b_in.empty())
          tensors.push_back(exact_tensor("proj_in.bias", {static_cast<std::int64_t>(w.b_in.size())}, w.b_in, a));
        tensors.push_back(exact_tensor("proj_out.weight", {w.w_out.rows(), w.w_out.cols()}, w.w_out.values(), a));
        if (!w.b_out.empty())
          tensors.push_back(exact_tensor("proj_out.bias", {static_cast<std::int64_t>(w.b_out.size())}, w.b_out, a));
        st::write_file(fmt::format("{}/{}.inputs.safetensors", dir, set), tensors, {{"format", "pt"}});
        st::write_file(fmt::format("{}/{}.reference.safetensors", dir, set),
                       {st::encode_tensor("reference", {tokens, dim}, r.reference_out->values())});
        written_set = set;
      }
      st::write_file(fmt::format("{}/{}.budget.safetensors", dir, stem),
                     {st::encode_tensor("allgather.bound", st::Dtype::f32, {tokens, dim},
                                        element_bounds(*r.allgather_ref.budget)),
                      st::encode_tensor("sharded.bound", st::Dtype::f32, {tokens, dim},
                                        element_bounds(*r.sharded_ref.budget))});
    } catch (const st::SafetensorsError& e) {
      throw std::runtime_error(e.what());
    }
    const Activation& act = c.shape.activation;
    const nlohmann::json j = {
        {"schema", "ffn-parity dump-inputs 1"},
        {"case", c.name()},
        {"shape", c.shape.name},
        {"tokens", c.tokens},
        {"dim", c.shape.dim},
        {"inner", c.shape.inner},
        {"activation", activation_name(act)},
        {"act_fn", act_fn_name(act.fn)},
        {"gated", act.gated},
        {"act_rounding", act_rounding_name(act.rounding)},
        {"bias", c.shape.bias},
        {"tp", c.tp},
        {"precision", c.precision().name},
        {"dtype", dtype_name(c.dtype)},
        {"quantized", c.precision().quantized()},
        {"allreduce", allreduce_model_name(c.allreduce)},
        {"nccl_channels", c.nccl_channels},
        {"nccl_ring_orders", c.nccl_ring_orders},
        {"seed", c.seed},
        {"outlier_channels", c.outlier_channels},
        {"outlier_scale", c.outlier_scale},
        {"fault", fault_name(c.fault)},
        {"backend", backend.name},
        {"inputs", set + ".inputs.safetensors"},
        {"reference", set + ".reference.safetensors"},
        {"budget", stem + ".budget.safetensors"},
        {"lambda_element", VerdictConstants{}.lambda_element},
        {"outputs",
         {{"dir", outputs.empty() ? nlohmann::json() : nlohmann::json(outputs)},
          {"allgather", output_file_name(c, "allgather")},
          {"sharded", output_file_name(c, "sharded")}}},
        // The tolerance two backends' outputs of this precision must agree within (relative L2).
        {"agreement_tolerance", backend_tolerance(c.precision(), tf32)},
        {"harness",
         {{"pass", r.pass},
          {"parity", comparison_json(r.parity)},
          {"allgather", comparison_json(r.allgather_ref)},
          {"sharded", comparison_json(r.sharded_ref)}}},
    };
    write_json(fmt::format("{}/{}.case.json", dir, stem), j);
  }
}

}  // namespace ffn::cli
