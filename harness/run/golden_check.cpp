#include "harness/run/golden_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <system_error>
#include <utility>

#include "harness/inputs/input_cache.hpp"
#include "harness/inputs/sha256.hpp"
#include "metrics/skimage_ssim.hpp"

namespace ffn {

namespace {

DriftResult drift(const Matrix<float>& today, const Matrix<float>& blessed, const ErrorBudget& budget,
                  double scale) {
  DriftResult d;
  const std::vector<double> a(today.values().begin(), today.values().end());
  const std::vector<double> e(blessed.values().begin(), blessed.values().end());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != e[i]) ++d.differing;
    if (std::isfinite(a[i])) d.max_abs = std::max(d.max_abs, std::fabs(a[i] - e[i]));
  }
  d.verdict = judge(a, e, budget.scaled(scale));
  return d;
}

// today / blessed, with 0/0 = 1 and x/0 = inf.
double growth(double today, double blessed) {
  if (blessed == 0) return today == 0 ? 1.0 : INFINITY;
  return today / blessed;
}

double rel_l2_diff(const Matrix<double>& a, const Matrix<double>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
    den += b.data()[i] * b.data()[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

void add_reason(std::string& reason, const std::string& why) {
  reason += (reason.empty() ? "" : "; ") + why;
}

// The real inputs a set was blessed from, loaded again from the recorded files; a tensor whose
// bytes changed since is a problem of the set, a file that cannot be read fails the check.
FfnInputs real_inputs_of(const GoldenFile& g, const GoldenInputSet& set, std::string& problems) {
  const RealInputRecord& record = *set.real;
  try {
    const RealInputs real = load_real_inputs(record.spec);
    const std::map<std::string, std::string> today = stored_digests(real);
    for (const auto& [role, digest] : record.stored_sha256) {
      const auto t = today.find(role);
      if (t == today.end() || t->second != digest)
        add_reason(problems, fmt::format("checkpoint tensor {} ({}) differs from the blessed one (SHA-256 mismatch)",
                                         role, real.spec.weights));
    }
    FfnInputs in = real_case_inputs(real, set.config.dtype);
    for (const auto& [name, values] : named_tensors(in))
      if (sha256_hex(values) != set.sha256.at(name))
        add_reason(problems, fmt::format("input {} differs from the blessed one (SHA-256 mismatch)", name));
    return in;
  } catch (const RealInputError& e) {
    throw GoldenError(fmt::format("{}: /input_sets/{}: cannot load the real inputs it was blessed from: {}", g.path,
                                  set.id, e.what()));
  }
}

// A seeded set generated again; a tensor whose digest is not the recorded one is a problem of
// the set.
FfnInputs generated_inputs(const GoldenInputSet& set, std::string& problems) {
  FfnInputs generated = make_inputs(set.config);
  for (const auto& [name, values] : named_tensors(std::as_const(generated)))
    if (sha256_hex(values) != set.sha256.at(name))
      add_reason(problems, fmt::format("generated {} differs from the blessed one "
                                       "(SHA-256 mismatch: the generator changed)", name));
  return generated;
}

}  // namespace

FfnInputs golden_inputs(const GoldenFile& g, const GoldenInputSet& set, std::string& problems) {
  if (set.tensors) return *set.tensors;
  if (set.real) return real_inputs_of(g, set, problems);
  return generated_inputs(set, problems);
}

std::vector<CachedInputSet> cache_golden_inputs(const GoldenFile& g, const std::filesystem::path& dir,
                                                const std::function<void(const CachedInputSet&)>& written) {
  std::vector<CachedInputSet> sets;
  for (const auto& [id, set] : g.input_sets) {
    if (set.mode != InputMode::seeded) continue;
    const auto start = std::chrono::steady_clock::now();
    CachedInputSet c{id, input_cache_file(dir, set.sha256), {}, 0};
    // A file left by an earlier run is never trusted: it is made again, or removed.
    std::error_code ec;
    std::filesystem::remove(c.file, ec);
    const FfnInputs generated = generated_inputs(set, c.problem);
    if (c.problem.empty()) write_cached_inputs(c.file, generated);
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    sets.push_back(c);
    if (written) written(sets.back());
  }
  return sets;
}

bool golden_case_matches(const GoldenCase& c, const std::string& want) {
  return c.id == want || c.config.name() == want;
}

std::vector<AllReduceModel> golden_blessed_models(const std::vector<GoldenFile>& goldens,
                                                  const GoldenCheckOptions& opt) {
  std::vector<AllReduceModel> models;
  for (const GoldenFile& g : goldens)
    for (const GoldenCase* c : select_golden_cases(g, opt))
      if (std::ranges::find(models, c->config.allreduce) == models.end()) models.push_back(c->config.allreduce);
  return models;
}

std::vector<const GoldenCase*> select_golden_cases(const GoldenFile& g, const GoldenCheckOptions& opt) {
  std::vector<const GoldenCase*> selected;
  for (const GoldenCase& c : g.cases)
    if ((opt.only_cases.empty() ||
         std::ranges::any_of(opt.only_cases, [&](const std::string& want) { return golden_case_matches(c, want); })) &&
        (!opt.only_tp || c.config.tp == *opt.only_tp) &&
        (!opt.only_allreduce || c.config.allreduce == *opt.only_allreduce))
      selected.push_back(&c);
  // Cases of one input set run together so they share inputs and reference.
  std::stable_sort(selected.begin(), selected.end(),
                   [](const GoldenCase* a, const GoldenCase* b) { return a->input_set < b->input_set; });
  return selected;
}

std::vector<GoldenCaseCheck> check_golden(const GoldenFile& g, const GoldenCheckOptions& opt,
                                          const GoldenCheckProgress& progress) {
  const std::vector<const GoldenCase*> selected = select_golden_cases(g, opt);

  std::vector<CaseConfig> configs;
  for (const GoldenCase* c : selected) configs.push_back(c->config);

  std::map<std::string, std::string> input_problems;  // input set -> why its inputs are not the blessed ones
  const InputSource source = [&](const CaseConfig& cc) {
    const auto found = g.input_sets.find(input_set_id(cc.inputs()));
    if (found == g.input_sets.end())
      throw GoldenError(fmt::format("{}: /input_sets/{}: missing (needed by case {})", g.path,
                                    input_set_id(cc.inputs()), cc.name()));
    const GoldenInputSet& set = found->second;
    // Written by `golden inputs` after the digest check golden_inputs makes.
    if (!opt.inputs_cache.empty() && set.mode == InputMode::seeded) try {
        if (std::optional<FfnInputs> cached =
                read_cached_inputs(input_cache_file(opt.inputs_cache, set.sha256), set.config))
          return std::move(*cached);
      } catch (const InputCacheError& e) {
        throw GoldenError(fmt::format("{}: /input_sets/{}: --inputs-cache: {}", g.path, set.id, e.what()));
      }
    return golden_inputs(g, set, input_problems[set.id]);
  };
  // Cases blessed with frames are rolled out again with their recorded settings, which one
  // bless gave all of them.
  std::optional<FrameOptions> frames;
  for (const GoldenCase* c : selected) {
    if (!c->frames) continue;
    const RolloutConfig& r = c->frames->rollout;
    const SsimKind ssim = opt.ssim.value_or(c->frames->ssim);
    if (frames && (r.layers != frames->rollout.layers || r.frames != frames->rollout.frames ||
                   r.height != frames->rollout.height || r.width != frames->rollout.width ||
                   r.patch != frames->rollout.patch || ssim != frames->ssim))
      throw GoldenError(fmt::format("{}: case {}: its rollout settings differ from the other cases'", g.path, c->id));
    frames = FrameOptions{r, std::nullopt, std::nullopt, std::nullopt, ssim};
    if (ssim == SsimKind::skimage && std::min(r.height, r.width) * r.patch < k_skimage_ssim_window)
      throw GoldenError(fmt::format("{}: case {}: its frames ({}x{} pixels) are smaller than the {}x{} window of the "
                                    "skimage SSIM (scikit-image refuses such frames too)",
                                    g.path, c->id, r.width * r.patch, r.height * r.patch, k_skimage_ssim_window,
                                    k_skimage_ssim_window));
  }
  if (frames && opt.execution.communicator)
    throw GoldenError(fmt::format("{}: its cases have frames, whose rollout runs every rank in one process; "
                                  "check it without --comm",
                                  g.path));
  std::vector<GoldenCaseCheck> checks;
  // Each case is checked as soon as it has run, so that its row can be printed at once.
  const auto check_case = [&](std::size_t i, const CaseResult& today) {
    const GoldenCase& gc = *selected[i];
    const GoldenInputSet& set = g.input_sets.at(gc.input_set);
    GoldenCaseCheck k;
    k.file = g.path;
    k.golden = &gc;
    k.today = today;
    const CaseResult& r = k.today;
    if (const auto p = input_problems.find(gc.input_set); p != input_problems.end())
      add_reason(k.reason, p->second);
    k.reference_rel_diff = rel_l2_diff(*r.reference_out, set.reference);
    // fp64 GEMMs of different BLAS builds agree to ~1e-15; more means other inputs.
    if (k.reference_rel_diff > 1e-12)
      add_reason(k.reason, fmt::format("fp64 reference moved by {:.2e} (relative L2) from the stored one",
                                       k.reference_rel_diff));
    if (!r.pass) add_reason(k.reason, r.reason);
    k.allgather = drift(r.allgather_out, gc.allgather, *r.allgather_ref.budget, gc.drift_budget_scale);
    k.sharded = drift(r.sharded_out, gc.sharded, *r.sharded_ref.budget, gc.drift_budget_scale);
    for (const auto& [what, d] : {std::pair{"allgather", &k.allgather}, std::pair{"sharded", &k.sharded}})
      if (!d->verdict.pass)
        add_reason(k.reason, fmt::format("{} output drifted from the blessed one: {} elements differ, "
                                         "margin {:.3g} of {}x its budget",
                                         what, d->differing, d->verdict.margin(), gc.drift_budget_scale));
    k.parity_growth = growth(std::sqrt(r.parity.stats.nmse), gc.record.parity_rel_l2);
    k.allgather_growth = growth(std::sqrt(r.allgather_ref.stats.nmse), gc.record.allgather_ref_rel_l2);
    k.sharded_growth = growth(std::sqrt(r.sharded_ref.stats.nmse), gc.record.sharded_ref_rel_l2);
    for (const auto& [what, gr] : {std::pair{"parity", k.parity_growth},
                                   std::pair{"allgather vs reference", k.allgather_growth},
                                   std::pair{"sharded vs reference", k.sharded_growth}})
      if (gr > opt.growth_limit)
        add_reason(k.reason, fmt::format("{} error grew {:.3g}x over the blessed one (limit {}x)", what, gr,
                                         opt.growth_limit));
    if (gc.frames && r.frames) {
      // Today's frames against the blessed ones, with the thresholds the case was blessed with.
      const FrameThresholds& t = gc.frames->thresholds;
      k.frames_allgather = compare_videos(r.frames->videos.allgather, gc.frames->videos.allgather, frames->ssim);
      k.frames_sharded = compare_videos(r.frames->videos.sharded, gc.frames->videos.sharded, frames->ssim);
      for (const auto& [what, v] : {std::pair{"allgather", &*k.frames_allgather}, std::pair{"sharded", &*k.frames_sharded}})
        if (v->psnr_min_db < t.min_psnr_db || v->ssim_min < t.min_ssim || (t.max_mad && v->mad_max > *t.max_mad))
          add_reason(k.reason, fmt::format("{} frames drifted from the blessed ones: min PSNR {:.2f} dB, min SSIM "
                                           "({}) {:.4f}, max MAD {:.4f} (limits {} dB, {}{})",
                                           what, v->psnr_min_db, ssim_kind_name(v->ssim_kind), v->ssim_min,
                                           v->mad_max, t.min_psnr_db, t.min_ssim,
                                           t.max_mad ? fmt::format(", {}", *t.max_mad) : ""));
    }
    k.pass = k.reason.empty();
    checks.push_back(std::move(k));
    if (progress.checked) progress.checked(checks.back());
  };
  run_cases(configs, {progress.started, [&](std::size_t i, std::size_t, const CaseResult& r) { check_case(i, r); }},
            source, frames ? &*frames : nullptr, opt.execution, opt.backend ? *opt.backend : cpu_backend());
  return checks;
}

}  // namespace ffn
