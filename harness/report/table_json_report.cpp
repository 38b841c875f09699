#include "harness/report/table_json_report.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>

#include "harness/version.hpp"

namespace ffn {

namespace {

using nlohmann::json;

// JSON has no infinities: +inf (identical tensors give an infinite SNR) is written "inf".
json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// A figure that only some cases have: "-" where it is NaN.
std::string optional_cell(double v) { return std::isnan(v) ? "-" : fmt::format("{:.2e}", v); }

std::int64_t wrong(const CaseResult& r) {
  return r.parity.verdict.over_budget + r.allgather_ref.verdict.over_budget +
         r.sharded_ref.verdict.over_budget + (r.order_parity ? r.order_parity->verdict.over_budget : 0);
}

json element_json(const ElementDiff& e) {
  return {{"index", {e.row, e.col}}, {"actual", number(e.actual)}, {"expected", number(e.expected)},
          {"abs_err", number(e.abs_err)}, {"rel_err", number(e.rel_err)}, {"allowed", number(e.allowed)}};
}

void print_frames_table(std::ostream& out, const std::vector<CaseResult>& results) {
  const FrameResult& first = *results.front().frames;
  fmt::print(out, "# frames: {} frames of {}x{}; PSNR dB / SSIM ({}: {}), min over frames (mean PSNR of the mean "
                  "MSE); MAD: mean absolute difference, max over frames, 8-bit levels; inf = identical\n",
             first.videos.allgather.size(), first.videos.allgather.front().cols, first.videos.allgather.front().rows,
             ssim_kind_name(first.parity.ssim_kind), ssim_kind_description(first.parity.ssim_kind));
  fmt::print(out, "#{:>3} {:>18} {:>14} | {:>8} {:>8} {:>7} {:>7} | {:>8} {:>7} | {:>8} {:>7} | {:>14} {:>7} {:>7}\n", "tp",
             "precision", "reduce", "par_psnr", "par_mean", "par_ssim", "par_mad", "ag_psnr", "ag_ssim", "sh_psnr",
             "sh_ssim", "threshold", "max_mad", "verdict");
  for (const auto& r : results) {
    const FrameResult& f = *r.frames;
    fmt::print(out,
               "{:>4} {:>18} {:>14} | {:>8.2f} {:>8.2f} {:>7.4f} {:>7.4f} | {:>8.2f} {:>7.4f} | {:>8.2f} {:>7.4f} | "
               "{:>7.1f}/{:<6.3f} {:>7} {:>7}\n",
               r.config.tp, r.config.precision().name, r.config.reduction_label(), f.parity.psnr_min_db,
               f.parity.psnr_mean_db, f.parity.ssim_min, f.parity.mad_max, f.allgather_ref.psnr_min_db,
               f.allgather_ref.ssim_min, f.sharded_ref.psnr_min_db, f.sharded_ref.ssim_min, f.thresholds.min_psnr_db,
               f.thresholds.min_ssim, f.thresholds.max_mad ? fmt::format("{:g}", *f.thresholds.max_mad) : "-",
               f.pass ? "PASS" : "FAIL");
  }
}

json video_score_json(const VideoScore& v) {
  json frames = json::array();
  for (const auto& f : v.frames)
    frames.push_back({{"psnr_db", number(f.psnr_db)}, {"ssim", number(f.ssim)}, {"mad", number(f.mad)}});
  return {{"psnr_mean_db", number(v.psnr_mean_db)},
          {"psnr_min_db", number(v.psnr_min_db)},
          {"ssim_mean", number(v.ssim_mean)},
          {"ssim_min", number(v.ssim_min)},
          {"mad_mean", number(v.mad_mean)},
          {"mad_max", number(v.mad_max)},
          {"worst_frame", v.worst_frame},
          {"worst_frame_mad", v.worst_mad_frame},
          {"frames", frames}};
}

// Each path against the output the serving stack produced (captured activations with y).
void print_captured_table(std::ostream& out, const std::vector<CaseResult>& results) {
  fmt::print(out, "# vs captured y: each path against the output the real stack produced; margin = |path - y| / "
                  "(path budget + allgather budget), information, not the verdict\n");
  fmt::print(out, "#{:>3} {:>18} {:>14} | {:>9} {:>8} {:>9} {:>7} | {:>9} {:>8} {:>9} {:>7}\n", "tp", "precision", "reduce",
             "ag_max", "ag_rl2", "allclose%", "ag_mrg", "sh_max", "sh_rl2", "allclose%", "sh_mrg");
  for (const auto& r : results) {
    const TensorComparison &a = r.allgather_captured->stats, &b = r.sharded_captured->stats;
    fmt::print(out, "{:>4} {:>18} {:>14} | {:>9.3e} {:>8.2e} {:>9.3f} {:>7.3f} | {:>9.3e} {:>8.2e} {:>9.3f} {:>7.3f}\n",
               r.config.tp, r.config.precision().name, r.config.reduction_label(), a.max_abs,
               std::sqrt(a.nmse), 100.0 * a.mismatch_fraction(), r.allgather_captured->verdict.margin(), b.max_abs,
               std::sqrt(b.nmse), 100.0 * b.mismatch_fraction(), r.sharded_captured->verdict.margin());
  }
}

}  // namespace

nlohmann::json comparison_json(const Comparison& c) {
  const TensorComparison& s = c.stats;
  const BudgetVerdict& v = c.verdict;
  json worst = json::array();
  for (const auto& e : s.worst) worst.push_back(element_json(e));
  return {
      {"pass", v.pass},
      {"margin", number(v.margin())},
      {"budget",
       {{"over_budget", v.over_budget}, {"nonfinite", v.nonfinite},
        {"worst_ratio", number(v.worst_ratio)},
        {"worst_index", v.worst_index < 0 ? json(nullptr) : json{v.worst_index / s.cols, v.worst_index % s.cols}},
        {"worst_diff", number(v.worst_diff)}, {"worst_bound", number(v.worst_bound)},
        {"norm_ratio", number(v.norm_ratio)}, {"norm_sq", number(v.norm_sq)},
        {"norm_threshold", number(v.norm_threshold)}}},
      {"allclose",
       {{"rtol", s.tol.rtol}, {"atol", s.tol.atol}, {"mismatched", s.mismatched},
        {"numel", s.numel}, {"greatest_abs", element_json(s.greatest_abs)},
        {"greatest_rel", element_json(s.greatest_rel)}}},
      {"max_abs", number(s.max_abs)}, {"max_rel", number(s.max_rel)}, {"rmse", number(s.rmse)},
      {"nmse", number(s.nmse)}, {"rel_l2", number(std::sqrt(s.nmse))}, {"cosine", number(s.cosine)},
      {"snr_db", number(s.snr_db)}, {"ulp_max", number(s.ulp_max)}, {"ulp_p99", number(s.ulp_p99)},
      {"worst", worst},
  };
}

std::string summary_line(const std::vector<CaseResult>& results, std::size_t not_run) {
  std::size_t passed = 0, not_applicable = 0;
  for (const auto& r : results) passed += r.pass, not_applicable += !r.applicable();
  std::string line = fmt::format("{} passed, {} failed", passed, results.size() - passed - not_applicable);
  if (not_applicable > 0) line += fmt::format(", {} not applicable", not_applicable);
  if (not_run > 0) line += fmt::format(", {} not run", not_run);
  return line;
}

std::string injection_line(const std::vector<CaseResult>& results) {
  std::size_t detected = 0, missed = 0, not_applicable = 0, controls = 0, controls_failed = 0;
  for (const auto& r : results) {
    if (r.config.fault == Fault::none) continue;
    if (!r.applicable()) ++not_applicable;
    else if (fault_info(r.config.fault).control) ++controls, controls_failed += !r.pass;
    else (r.pass ? missed : detected)++;
  }
  if (detected + missed + not_applicable + controls == 0) return {};
  return fmt::format("injected faults: {} detected, {} missed, {} not applicable; controls: {} passed, {} failed",
                     detected, missed, not_applicable, controls - controls_failed, controls_failed);
}

void print_table_header(std::ostream& out, const SweepConfig& s, bool faults, const std::vector<std::string>& not_run) {
  fmt::print(out, "# ffn-parity {} run: shape {} (dim {}, inner {}), {} tokens, seed {}", k_version,
             s.shape.name, s.shape.dim, s.shape.inner, s.tokens, s.seed);
  if (s.outlier_channels > 0)
    fmt::print(out, ", {} outlier channels x{}", s.outlier_channels, s.outlier_scale);
  fmt::print(out,
             "\n# parity = sharded vs allgather, ref = vs fp64 reference; rel_l2 = |a-e|/|e|;"
             " margin = error / budget (< 1 passes);\n# allclose% = elements outside torch's"
             " default tolerance (information, not the verdict); #wrong = elements over budget;\n"
             "# quantized: scale_rl2 / order_rl2 = parity error from rank-local input scales / from"
             " the reduction order\n");
  fmt::print(out, "# bias_mrg = signed-error statistic of the parity (and order parity) over its bound (< 1 passes): "
                  "errors that lean one way\n");
  for (const std::string& line : not_run) fmt::print(out, "# not run: {}\n", line);
  if (faults)
    fmt::print(out, "# fault: the fault injected into the path under test; a FAIL row detected it, a "
                    "control (control-*) must PASS\n");
  fmt::print(out, "#{:>3} {:>18} {:>14}{} | {:>9} {:>8} {:>7} {:>9} {:>7} {:>8} {:>9} {:>9} | {:>8} {:>7} | {:>8} {:>7} | {:>6} {:>7} {:>7}\n",
             "tp", "precision", "reduce", faults ? fmt::format(" {:<24}", "fault") : "", "par_max", "par_rl2",
             "ulp_p99", "allclose%", "par_mrg", "bias_mrg", "scale_rl2", "order_rl2", "ag_rl2", "ag_mrg", "sh_rl2", "sh_mrg",
             "#wrong", "time_s", "verdict");
}

void print_table_row(std::ostream& out, const CaseResult& r, bool faults) {
  const std::string fault = faults ? fmt::format(" {:<24}", fault_name(r.config.fault)) : "";
  if (!r.applicable()) {
    fmt::print(out, "{:>4} {:>18} {:>14}{} | not applicable: {}\n", r.config.tp, r.config.precision().name,
               r.config.reduction_label(), fault, r.not_applicable);
    return;
  }
  const auto& p = r.parity.stats;
  fmt::print(out, "{:>4} {:>18} {:>14}{} | {:>9.3e} {:>8.2e} {:>7.4g} {:>9.3f} {:>7.3f} {:>8.3f} {:>9} {:>9} | {:>8.2e} {:>7.3f} | {:>8.2e} {:>7.3f} | {:>6} {:>7.2f} {:>7}\n",
             r.config.tp, r.config.precision().name, r.config.reduction_label(), fault,
             p.max_abs, std::sqrt(p.nmse), p.ulp_p99, 100.0 * p.mismatch_fraction(),
             r.parity_margin(), r.bias_margin(), optional_cell(r.scale_part_rel_l2),
             optional_cell(r.order_part_rel_l2), std::sqrt(r.allgather_ref.stats.nmse),
             r.allgather_ref.verdict.margin(), std::sqrt(r.sharded_ref.stats.nmse),
             r.sharded_ref.verdict.margin(), wrong(r), r.seconds, r.pass ? "PASS" : "FAIL");
  if (!r.pass) fmt::print(out, "#   FAIL {}: {}\n", r.config.name(), r.reason);
}

namespace {

// With several AllReduce models: per precision, one row per model and one column per tp, the
// sharded path's relative L2 error against the fp64 reference and against the allgather path
// ("which one should I use?": what fp32 accumulation buys at large tp).
void print_allreduce_comparison(std::ostream& out, const std::vector<CaseResult>& results) {
  std::vector<std::string> labels, precisions;
  std::vector<int> tps;
  const auto add = [](auto& v, const auto& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  for (const auto& r : results) {
    if (!r.applicable() || r.config.fault != Fault::none) continue;
    add(labels, r.config.reduction_label());
    add(precisions, r.config.precision().name);
    add(tps, r.config.tp);
  }
  if (labels.size() < 2) return;
  fmt::print(out, "# AllReduce comparison: sharded path rel_l2 vs fp64 reference / vs allgather path, per tp\n");
  for (const std::string& p : precisions) {
    std::string header = fmt::format("#{:>17} {:>14}", "precision", "reduce");
    for (int tp : tps) header += fmt::format(" | {:>19}", fmt::format("tp {}", tp));
    fmt::print(out, "{}\n", header);
    for (const std::string& label : labels) {
      std::string row = fmt::format("{:>18} {:>14}", p, label);
      for (int tp : tps) {
        const auto it = std::find_if(results.begin(), results.end(), [&](const CaseResult& r) {
          return r.applicable() && r.config.fault == Fault::none && r.config.precision().name == p &&
                 r.config.tp == tp && r.config.reduction_label() == label;
        });
        row += it == results.end() ? fmt::format(" | {:>19}", "-")
                                   : fmt::format(" | {:>8.2e} / {:>8.2e}", std::sqrt(it->sharded_ref.stats.nmse),
                                                 std::sqrt(it->parity.stats.nmse));
      }
      fmt::print(out, "{}\n", row);
    }
  }
}

}  // namespace

void print_table_footer(std::ostream& out, const std::vector<CaseResult>& results, std::size_t not_run) {
  print_allreduce_comparison(out, results);
  if (!results.empty() && results.front().frames) print_frames_table(out, results);
  if (!results.empty() && results.front().allgather_captured) print_captured_table(out, results);
  if (const std::string line = injection_line(results); !line.empty()) fmt::print(out, "# {}\n", line);
  fmt::print(out, "{}\n", summary_line(results, not_run));
}

void print_table(std::ostream& out, const SweepConfig& s, const std::vector<CaseResult>& results) {
  const bool faults = std::ranges::any_of(results, [](const CaseResult& r) { return r.config.fault != Fault::none; });
  print_table_header(out, s, faults);
  for (const auto& r : results) print_table_row(out, r, faults);
  print_table_footer(out, results);
}

void print_json(std::ostream& out, const SweepConfig& s, const std::vector<CaseResult>& results,
                const std::vector<std::string>& not_run, const std::string& pinned) {
  json cases = json::array();
  std::size_t passed = 0, not_applicable = 0;
  for (const auto& r : results) {
    passed += r.pass;
    const json fault = r.config.fault == Fault::none ? json(nullptr) : json(fault_name(r.config.fault));
    if (!r.applicable()) {
      ++not_applicable;
      cases.push_back({{"name", r.config.name()}, {"tp", r.config.tp}, {"precision", r.config.precision().name},
                       {"allreduce", r.config.reduction_label()}, {"injected_fault", fault},
                       {"not_applicable", r.not_applicable}});
      continue;
    }
    cases.push_back({
        {"name", r.config.name()},
        {"tp", r.config.tp},
        {"precision", r.config.precision().name},
        {"allreduce", r.config.reduction_label()},
        {"injected_fault", fault},
        {"pass", r.pass},
        {"detected", r.config.fault != Fault::none && !r.pass},
        {"reason", r.reason},
        {"off_grid", {{"allgather", r.off_grid_allgather}, {"sharded", r.off_grid_sharded}}},
        {"activation_mismatches", r.activation_mismatches},
        {"hidden_parity", {{"pass", r.hidden_parity.pass()}, {"violations", r.hidden_parity.violations},
                           {"worst_ratio", number(r.hidden_parity.worst_ratio)}}},
        {"activation_op",
         {{"allgather", {{"pass", r.allgather_activation_op.pass()}, {"violations", r.allgather_activation_op.violations},
                         {"worst_ratio", number(r.allgather_activation_op.worst_ratio)}}},
          {"sharded", {{"pass", r.sharded_activation_op.pass()}, {"violations", r.sharded_activation_op.violations},
                       {"worst_ratio", number(r.sharded_activation_op.worst_ratio)}}}}},
        {"quantize_op",
         r.sharded_quantize_op
             ? nlohmann::json{{"allgather", {{"pass", r.allgather_quantize_op->pass()},
                                             {"violations", r.allgather_quantize_op->violations},
                                             {"checked", r.allgather_quantize_op->checked},
                                             {"worst_ratio", number(r.allgather_quantize_op->worst_ratio)}}},
                              {"sharded", {{"pass", r.sharded_quantize_op->pass()},
                                           {"violations", r.sharded_quantize_op->violations},
                                           {"checked", r.sharded_quantize_op->checked},
                                           {"worst_ratio", number(r.sharded_quantize_op->worst_ratio)}}}}
             : nlohmann::json(nullptr)},
        {"seconds", r.seconds},
        {"activations_identical", r.activations_identical},
        {"activation_check",
         {{"allgather", {{"pass", r.allgather_activation.pass}, {"over_budget", r.allgather_activation.over_budget},
                         {"worst_ratio", number(r.allgather_activation.worst_ratio)}}},
          {"sharded", {{"pass", r.sharded_activation.pass}, {"over_budget", r.sharded_activation.over_budget},
                       {"worst_ratio", number(r.sharded_activation.worst_ratio)}}}}},
        {"scale_part_rel_l2", number(r.scale_part_rel_l2)},
        {"order_part_rel_l2", number(r.order_part_rel_l2)},
        {"parity", comparison_json(r.parity)},
        {"allgather_vs_reference", comparison_json(r.allgather_ref)},
        {"sharded_vs_reference", comparison_json(r.sharded_ref)},
    });
    if (r.order_parity) cases.back()["order_parity"] = comparison_json(*r.order_parity);
    if (r.allgather_captured) {
      cases.back()["allgather_vs_captured"] = comparison_json(*r.allgather_captured);
      cases.back()["sharded_vs_captured"] = comparison_json(*r.sharded_captured);
    }
    if (r.frames)
      cases.back()["frames"] = {{"pass", r.frames->pass},
                                {"min_psnr_db", r.frames->thresholds.min_psnr_db},
                                {"min_ssim", r.frames->thresholds.min_ssim},
                                {"max_mad", r.frames->thresholds.max_mad ? json(*r.frames->thresholds.max_mad)
                                                                         : json(nullptr)},
                                {"ssim_kind", ssim_kind_name(r.frames->parity.ssim_kind)},
                                {"parity", video_score_json(r.frames->parity)},
                                {"allgather_vs_reference", video_score_json(r.frames->allgather_ref)},
                                {"sharded_vs_reference", video_score_json(r.frames->sharded_ref)}};
  }
  const json doc = {
      {"tool", "ffn-parity"},
      {"version", k_version},
      {"shape", {{"name", s.shape.name},
                 {"dim", s.shape.dim},
                 {"inner", s.shape.inner},
                 {"activation", activation_name(s.shape.activation)},
                 {"act_rounding", act_rounding_name(s.shape.activation.rounding)},
                 {"bias", s.shape.bias}}},
      {"collectives_pinned", pinned.empty() ? json(nullptr) : json(pinned)},
      {"tokens", s.tokens},
      {"seed", s.seed},
      {"outlier_channels", s.outlier_channels},
      {"outlier_scale", s.outlier_scale},
      {"cases", cases},
      {"passed", passed},
      {"failed", results.size() - passed - not_applicable},
      {"not_applicable", not_applicable},
      {"not_run", not_run},
  };
  out << doc.dump(2) << "\n";
}

}  // namespace ffn
