#include "harness/cli/golden_command.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <set>

#include "goldens/golden_frames.hpp"
#include "harness/cli/backend_options.hpp"
#include "harness/cli/output_paths.hpp"
#include "harness/cli/progress.hpp"
#include "harness/cli/real_input_options.hpp"
#include "harness/cli/ssim_option.hpp"
#include "harness/cli/sweep_options.hpp"
#include "harness/cli/validators.hpp"
#include "harness/launch/nccl_pinning.hpp"
#include "harness/launch/rank_launch.hpp"
#include "harness/report/junit_report.hpp"
#include "harness/inputs/input_cache.hpp"
#include "harness/run/golden_check.hpp"

namespace ffn::cli {

namespace {

// Every error line names the subcommand it came from.
constexpr const char* k_bless = "ffn-parity golden bless";
constexpr const char* k_check = "ffn-parity golden check";
constexpr const char* k_bless_err = "ffn-parity golden bless: error: ";
constexpr const char* k_check_err = "ffn-parity golden check: error: ";
constexpr const char* k_diff_err = "ffn-parity golden diff: error: ";
constexpr const char* k_inputs_err = "ffn-parity golden inputs: error: ";
constexpr const char* k_info_err = "ffn-parity golden info: error: ";

std::string drift_cell(const DriftResult& d) {
  if (d.differing == 0) return "identical";
  return fmt::format("{}@{:.2f}", d.differing, d.verdict.margin());
}

// ---- bless ----------------------------------------------------------------------------

struct BlessOptions {
  SweepOptions sweep;
  FrameCliOptions frames;
  RealInputOptions real;
  std::string inputs = "auto";
  std::string output;
  bool force = false;
  BackendOptions backend;
};

int bless(const BlessOptions& o) {
  std::vector<CaseConfig> cases;
  std::vector<std::string> not_run;
  SweepConfig sweep;
  std::optional<RealRun> real;
  try {
    if (o.real.given()) {
      real = plan_real_run(o.sweep, o.real);
      sweep = real->sweep;
    } else {
      sweep = to_sweep(o.sweep);
    }
    // A golden records each case's AllReduce model by name (SCHEMA.md): a check would replay
    // nccl-ring on one channel in rank order, so other settings would not be what was blessed.
    const bool nccl_ring = std::ranges::find(sweep.allreduce, AllReduceModel::nccl_ring) != sweep.allreduce.end();
    if (nccl_ring && (sweep.nccl_channels != 1 || !sweep.nccl_ring_orders.empty()))
      throw std::invalid_argument(fmt::format("{}: a golden records the AllReduce model by name only, so its check "
                                              "would run nccl-ring on one channel in rank order; bless without it",
                                              sweep.nccl_channels != 1 ? "--nccl-channels" : "--nccl-ring-order"));
    RunnableCases runnable = expand_runnable(sweep);
    if (runnable.cases.empty())
      throw std::invalid_argument(fmt::format("nothing to bless: every combination is refused ({})",
                                              fmt::join(runnable.not_run, "; ")));
    cases = std::move(runnable.cases);
    not_run = std::move(runnable.not_run);
  } catch (const std::invalid_argument& e) {
    std::cerr << k_bless_err << e.what() << "\n";
    return 2;
  } catch (const RealInputError& e) {
    std::cerr << k_bless_err << e.what() << "\n";
    return 2;
  }
  // Refuse before minutes of work, not after (write_golden checks again, atomically).
  if (const std::string why = check_output_file("-o", o.output); !why.empty()) {
    std::cerr << k_bless_err << why << "\n";
    return 2;
  }
  if (!o.force && std::filesystem::exists(o.output)) {
    std::cerr << k_bless_err << o.output << ": exists; pass --force to replace it\n";
    return 2;
  }
  if (const std::string why = rollout_problem(o.frames, sweep.shape); !why.empty()) {
    std::cerr << k_bless_err << why << "\n";
    return 2;
  }
  int status = 0;
  const std::optional<Backend> backend = open_backend(o.backend.backend, o.backend.tf32, k_bless, status);
  if (!backend) return status;
  // Full tensors for small shapes; digests for the multi-hundred-MiB LTX-2 weights.
  const bool full = o.inputs == "full" || (o.inputs == "auto" && sweep.shape.dim * sweep.shape.inner <= (1 << 20));
  try {
    TerminalProgress progress;
    const CaseProgress events{
        [&](std::size_t i, std::size_t n, const CaseConfig& c) { progress.started(i, n, c.name()); },
        [&](std::size_t i, std::size_t n, const CaseResult&) { progress.finished(i + 1, n); }};
    const std::optional<FrameOptions> frames = to_frame_options(o.frames);
    const std::vector<CaseResult> results = run_cases(cases, events, real ? real->source : InputSource{},
                                                      frames ? &*frames : nullptr, {}, *backend);
    progress.clear();
    // Real inputs are recorded by where they came from and their digests, never copied.
    const bool cpu = backend->name == "cpu";
    GoldenFile g;
    try {
      g = make_golden(results, full ? InputMode::full : InputMode::seeded,
                      current_provenance(backend->name, cpu ? "" : backend->device, cpu ? "" : backend->libraries),
                      real ? real->inputs.get() : nullptr);
    } catch (const GoldenError& e) {
      // A case failed: a golden holds passing results only.
      std::cerr << k_bless_err << e.what() << "\n";
      return 1;
    }
    write_golden(g, o.output, o.force);
    write_manifest(g, o.output);
    for (const std::string& line : not_run) fmt::print("# not blessed: {}\n", line);
    fmt::print("blessed {} cases ({} inputs) into {}\n", g.cases.size(),
               real ? "real" : full ? "full" : "seeded", o.output);
    return 0;
  } catch (const GoldenError& e) {
    std::cerr << k_bless_err << e.what() << "\n";
    return 2;
  } catch (const RealInputError& e) {
    std::cerr << k_bless_err << e.what() << "\n";
    return 2;
  }
}

// ---- check ----------------------------------------------------------------------------

struct CheckOptions {
  std::vector<std::string> files;
  std::vector<std::string> cases;
  std::string allreduce;  // --allreduce: only the cases blessed with this model; empty: all
  double growth = 1.25;
  std::string comm = "simulated";
  std::string junit;  // --junit: empty for none
  std::string ssim;   // --ssim: empty for each case's own
  std::string inputs_cache;  // --inputs-cache: empty for none
  BackendOptions backend;
};

void print_check_header(const GoldenFile& g, std::size_t cases, double growth) {
  fmt::print("# golden check {}: {} cases, blessed {} at {} ({}, {})\n", g.path, cases,
             g.provenance.count("created_utc") ? g.provenance.at("created_utc") : "?",
             g.provenance.count("git_commit") ? g.provenance.at("git_commit") : "?",
             g.provenance.count("backend") ? g.provenance.at("backend") : "?",
             g.provenance.count("device") ? g.provenance.at("device") : "?");
  fmt::print("# drift: elements differing from the blessed output @ margin (<= 1 passes); grow: "
             "today's error / blessed error (<= {} passes)\n",
             growth);
  fmt::print("#{:<41} {:>11} {:>11} {:>8} {:>8} {:>8} {:>7}\n", "case", "ag_drift", "sh_drift", "par_grow",
             "ag_grow", "sh_grow", "verdict");
}

void print_check_row(const GoldenCaseCheck& k) {
  fmt::print(" {:<41} {:>11} {:>11} {:>8.3f} {:>8.3f} {:>8.3f} {:>7}", k.golden->config.name(),
             drift_cell(k.allgather), drift_cell(k.sharded), k.parity_growth, k.allgather_growth, k.sharded_growth,
             k.pass ? "PASS" : "FAIL");
  // Frames against the blessed frames: min PSNR and max MAD per path (inf, 0: identical).
  if (k.frames_allgather)
    fmt::print("  frames ag {:.2f} dB mad {:.4f} sh {:.2f} dB mad {:.4f}", k.frames_allgather->psnr_min_db,
               k.frames_allgather->mad_max, k.frames_sharded->psnr_min_db, k.frames_sharded->mad_max);
  fmt::print("\n");
  if (!k.pass)
    fmt::print("#   FAIL {} case {} (tp {}, {}, {}): {}\n", k.file, k.golden->id, k.golden->config.tp,
               k.golden->config.precision().name, allreduce_model_name(k.golden->config.allreduce), k.reason);
}

// Writes --junit when given; false (after one line) when it cannot be written.
// `pinned`: NCCL's version and pinned settings (--comm nccl), in the suite's name.
bool write_check_junit(const std::string& path, const std::vector<JunitCase>& cases, const std::string& pinned = {}) {
  if (path.empty()) return true;
  try {
    write_junit_file(path, pinned.empty() ? "ffn-parity golden check" : "ffn-parity golden check, pinned " + pinned,
                     cases);
    return true;
  } catch (const std::runtime_error& e) {
    std::cerr << k_check_err << "--junit: " << e.what() << "\n";
    return false;
  }
}

int check(const CheckOptions& o) {
  int status = 0;
  const std::optional<Backend> backend = open_backend(o.backend.backend, o.backend.tf32, k_check, status);
  if (!backend) return status;
  std::unique_ptr<RankLaunch> launch;
  try {
    launch = start_launch(*parse_comm_kind(o.comm));  // IsMember checked the name
  } catch (const LaunchError& e) {
    if (reports_launch_error(e)) std::cerr << k_check_err << e.what() << "\n";
    return e.exit_status();
  }
  const bool reports = launch->reports();
  if (const std::string why = check_output_file("--junit", o.junit); reports && !why.empty()) {
    std::cerr << k_check_err << why << "\n";
    return 2;
  }
  // Every file read and every --case matched before the first case runs. A file that cannot be
  // read is reported and the others are still checked; the exit status is then 2.
  bool unreadable = false;
  std::vector<JunitCase> junit;
  std::vector<GoldenFile> goldens;
  for (const std::string& path : o.files) {
    try {
      goldens.push_back(read_golden(path));
    } catch (const GoldenError& e) {
      if (reports) std::cerr << k_check_err << e.what() << "\n";
      unreadable = true;
      junit.push_back({path, "(file)", 0, std::string(e.what())});
    }
  }
  for (const std::string& want : o.cases)
    if (std::ranges::none_of(goldens, [&](const GoldenFile& g) {
          return std::ranges::any_of(g.cases, [&](const GoldenCase& c) { return golden_case_matches(c, want); });
        })) {
      if (reports)
        std::cerr << fmt::format("{}--case {}: no case has this id or name in {}\n", k_check_err, want,
                                 fmt::join(o.files, ", "));
      return 2;
    }
  GoldenCheckOptions opt;
  opt.growth_limit = o.growth;
  opt.only_cases = o.cases;
  if (!o.allreduce.empty()) opt.only_allreduce = parse_allreduce_model(o.allreduce);  // IsMember checked it
  // One TP rank per process: the cases of the world's size, the others are left out.
  opt.only_tp = launch->required_tp();
  opt.execution = launch->execution();
  opt.backend = &*backend;
  opt.ssim = ssim_kind_of(o.ssim);
  opt.inputs_cache = o.inputs_cache;
  std::vector<std::size_t> cases_of;  // per file, the cases that will run
  for (const GoldenFile& g : goldens) cases_of.push_back(select_golden_cases(g, opt).size());
  const std::size_t selected = std::accumulate(cases_of.begin(), cases_of.end(), std::size_t{0});
  if (selected == 0 && !unreadable) {
    // Nothing checked is never a pass.
    if (reports) {
      const bool no_cases = std::ranges::all_of(goldens, [](const GoldenFile& g) { return g.cases.empty(); });
      GoldenCheckOptions any_tp = opt;
      any_tp.only_tp.reset();
      const bool no_model = opt.only_allreduce && golden_blessed_models(goldens, any_tp).empty();
      std::cerr << k_check_err
                << (no_cases   ? fmt::format("nothing to check: {} holds no cases (frames blessed by `frames bless` "
                                             "are compared with `ffn-parity frames compare`)",
                                             fmt::join(o.files, ", "))
                    : no_model ? fmt::format("nothing to check: no case blessed with --allreduce {} in {}", o.allreduce,
                                             fmt::join(o.files, ", "))
                               : fmt::format("nothing to check: no case of tp {} (one rank per process) in {}",
                                             opt.only_tp.value_or(0), fmt::join(o.files, ", ")))
                << "\n";
      write_check_junit(o.junit, junit);  // one testcase in error
    }
    return 2;
  }
  // --comm nccl: NCCL pinned to what the selected cases were blessed with, once per process (it
  // reads its variables once), before the first communicator.
  std::string pinned;
  if (launch->kind() == CommKind::nccl && selected > 0) {
    const std::vector<AllReduceModel> blessed = golden_blessed_models(goldens, opt);
    if (blessed.size() > 1) {
      std::vector<std::string_view> names;
      for (AllReduceModel m : blessed) names.push_back(allreduce_model_name(m));
      if (reports)
        std::cerr << fmt::format("{}--comm nccl: the selected cases were blessed with {}; NCCL is pinned once per "
                                 "process: check one model's cases (--allreduce MODEL)\n",
                                 k_check_err, fmt::join(names, ", "));
      return 2;
    }
    try {
      pinned = launch->pin_reduction({nccl_run_for_blessed(blessed.front())});
    } catch (const LaunchError& e) {
      if (reports) std::cerr << k_check_err << e.what() << "\n";
      return e.exit_status();
    }
    if (reports) {
      fmt::print("# comm nccl: pinned {}\n", pinned);
      if (blessed.front() == AllReduceModel::ring)
        fmt::print("# comm nccl: the cases were blessed with ring, the generic worst-case budget; NCCL runs its own "
                   "Ring (nccl-ring, one channel): as many bf16 roundings per element, in its own order\n");
    }
  }
  std::size_t passed = 0, failed = 0, done = 0;
  TerminalProgress progress(reports);
  for (std::size_t f = 0; f < goldens.size(); ++f) {
    const GoldenFile& g = goldens[f];
    const std::size_t cases = cases_of[f];
    if (cases == 0) continue;
    try {
      if (reports) print_check_header(g, cases, o.growth);
      const std::size_t before = done;
      const GoldenCheckProgress events{
          [&](std::size_t i, std::size_t, const CaseConfig& c) { progress.started(before + i, selected, c.name()); },
          [&](const GoldenCaseCheck& k) {
            progress.print([&] { print_check_row(k); });
            progress.finished(++done, selected);
            (k.pass ? passed : failed)++;
            junit.push_back({g.path, k.golden->config.name(), k.today.seconds,
                             k.pass ? std::nullopt : std::optional(k.reason)});
          }};
      check_golden(g, opt, reports ? events : GoldenCheckProgress{});
    } catch (const GoldenError& e) {
      progress.clear();
      if (reports) std::cerr << k_check_err << e.what() << "\n";
      unreadable = true;
      junit.push_back({g.path, "(file)", 0, std::string(e.what())});
    } catch (const std::invalid_argument& e) {  // inputs no sound budget exists for (BudgetOverflow)
      progress.clear();
      if (reports) std::cerr << k_check_err << g.path << ": " << e.what() << "\n";
      unreadable = true;
      junit.push_back({g.path, "(file)", 0, std::string(e.what())});
    } catch (const std::exception& e) {
      progress.clear();
      if (launch->world_size() == 1) throw;  // main reports it
      // A collective or a device failed on this rank: the others cannot go on without it.
      std::cerr << fmt::format("{}rank {}: {}\n", k_check_err, launch->rank(), e.what());
      launch->abort(3);
    }
  }
  progress.clear();
  if (!reports) return 0;  // rank 0 reports
  fmt::print("{} passed, {} failed\n", passed, failed);
  if (!write_check_junit(o.junit, junit, pinned)) return 2;
  return unreadable ? 2 : failed == 0 ? 0 : 1;
}

// ---- diff -----------------------------------------------------------------------------

struct TensorDiff {
  std::int64_t differing = 0;
  double max_abs = 0, rel_l2 = 0;
};

template <class T>
TensorDiff diff_tensors(const Matrix<T>& a, const Matrix<T>& b) {
  TensorDiff d;
  if (a.rows() != b.rows() || a.cols() != b.cols()) return {-1, INFINITY, INFINITY};
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a.data()[i], y = b.data()[i];
    d.differing += x != y;
    d.max_abs = std::max(d.max_abs, std::fabs(x - y));
    num += (x - y) * (x - y), den += y * y;
  }
  d.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return d;
}

std::string diff_cell(const TensorDiff& d) {
  if (d.differing < 0) return "shape differs";
  if (d.differing == 0) return "identical";
  return fmt::format("{} diff, max {:.2e}, rl2 {:.2e}", d.differing, d.max_abs, d.rel_l2);
}

int diff(const std::string& a_path, const std::string& b_path) {
  GoldenFile a, b;
  try {
    a = read_golden(a_path);
    b = read_golden(b_path);
  } catch (const GoldenError& e) {
    std::cerr << k_diff_err << e.what() << "\n";
    return 2;
  }
  bool same = true;
  fmt::print("# golden diff\n#  A: {} (blessed {} at {})\n#  B: {} (blessed {} at {})\n", a_path,
             a.provenance["created_utc"], a.provenance["git_commit"], b_path, b.provenance["created_utc"],
             b.provenance["git_commit"]);
  for (const auto& [id, sa] : a.input_sets) {
    const auto sb = b.input_sets.find(id);
    if (sb == b.input_sets.end()) continue;
    const TensorDiff r = diff_tensors(sa.reference, sb->second.reference);
    bool inputs_same = sa.sha256 == sb->second.sha256;
    same &= inputs_same && r.differing == 0;
    fmt::print("  input set {:<36} inputs {}, reference {}\n", id, inputs_same ? "identical" : "DIFFER",
               diff_cell(r));
  }
  fmt::print("#{:<41} {:>30} {:>30} {:>22}\n", "case", "allgather", "sharded", "sharded_ref_rl2 A -> B");
  std::set<std::string> in_b;
  for (const GoldenCase& cb : b.cases) in_b.insert(cb.id);
  for (const GoldenCase& ca : a.cases) {
    const auto cb = std::find_if(b.cases.begin(), b.cases.end(), [&](const GoldenCase& c) { return c.id == ca.id; });
    if (cb == b.cases.end()) {
      fmt::print(" {:<41} only in A\n", ca.config.name());
      same = false;
      continue;
    }
    in_b.erase(ca.id);
    const TensorDiff ag = diff_tensors(ca.allgather, cb->allgather), sh = diff_tensors(ca.sharded, cb->sharded);
    same &= ag.differing == 0 && sh.differing == 0;
    fmt::print(" {:<41} {:>30} {:>30} {:>10.3e} -> {:.3e}\n", ca.config.name(), diff_cell(ag), diff_cell(sh),
               ca.record.sharded_ref_rel_l2, cb->record.sharded_ref_rel_l2);
  }
  for (const GoldenCase& cb : b.cases)
    if (in_b.count(cb.id)) {
      fmt::print(" {:<41} only in B\n", cb.config.name());
      same = false;
    }
  fmt::print("{}\n", same ? "goldens are identical in every dataset" : "goldens differ");
  return same ? 0 : 1;
}

// ---- inputs ---------------------------------------------------------------------------

struct InputsOptions {
  std::vector<std::string> files;
  std::string cache;
};

// The test suite's fixture: every seeded input set of the goldens generated once, checked
// against its recorded digests and written into the cache that `check --inputs-cache` reads.
int inputs(const InputsOptions& o) {
  std::size_t written = 0, refused = 0;
  std::error_code ec;
  std::filesystem::create_directories(o.cache, ec);
  if (ec) {
    std::cerr << k_inputs_err << "--cache " << o.cache << ": cannot create the directory: " << ec.message() << "\n";
    return 2;
  }
  for (const std::string& path : o.files) {
    try {
      const GoldenFile g = read_golden(path);
      cache_golden_inputs(g, o.cache, [&](const CachedInputSet& c) {
        fmt::print("{}: /input_sets/{}: {} ({:.1f} s)\n", path, c.id,
                   c.problem.empty() ? "written to " + c.file.string() : "not written: " + c.problem, c.seconds);
        std::fflush(stdout);
        (c.problem.empty() ? written : refused)++;
      });
    } catch (const GoldenError& e) {
      std::cerr << k_inputs_err << e.what() << "\n";
      return 2;
    } catch (const InputCacheError& e) {
      std::cerr << k_inputs_err << e.what() << "\n";
      return 2;
    }
  }
  // A golden of stored or real inputs has no set to cache: its cases read them where they are.
  fmt::print("{} input sets written, {} refused{}\n", written, refused,
             written + refused == 0 ? " (no seeded input set: stored and real inputs are read where they are)" : "");
  return refused == 0 ? 0 : 1;
}

// ---- info -----------------------------------------------------------------------------

int info(const std::string& path) {
  GoldenFile g;
  try {
    g = read_golden(path);
  } catch (const GoldenError& e) {
    std::cerr << k_info_err << e.what() << "\n";
    return 2;
  }
  fmt::print("# {}\n", path);
  for (const auto& [key, value] : g.provenance) fmt::print("  {:<18} {}\n", key, value);
  fmt::print("# input sets\n");
  for (const auto& [id, s] : g.input_sets)
    fmt::print("  {:<36} {} inputs, shape {} ({} -> {}), {} tokens, {}, seed {}\n", id,
               input_mode_name(s.mode), s.config.shape.name, s.config.shape.dim,
               s.config.shape.inner, s.config.tokens, precision_of(s.config.dtype, s.config.scheme).name,
               s.config.seed);
  for (const auto& [id, s] : g.input_sets) {
    if (!s.real) continue;
    fmt::print("# real inputs of {}: {} block {} {} ({}), activations {}\n", id, s.real->spec.weights, s.real->spec.layer,
               stream_name(s.real->spec.stream), s.real->layout,
               s.real->spec.activations.empty() ? std::string("generated") : s.real->spec.activations + ":" + s.real->activations_group);
    for (const CheckpointTensor& t : s.real->tensors)
      fmt::print("  {:<22} {} in {} sha256 {}\n", t.role, t.name, t.file, s.real->stored_sha256.at(t.role));
  }
  // The frames of `frames bless` are not cases: they are compared with `frames compare`.
  std::optional<Video> video;
  try {
    video = read_frames_golden(path, k_frames_dataset);
  } catch (const GoldenError&) {
  }
  if (video)
    fmt::print("# frames {}: {} frames of {}x{} (compare with `ffn-parity frames compare {}:{} VIDEO`)\n",
               k_frames_dataset, video->size(), video->front().cols, video->front().rows, path, k_frames_dataset + 1);
  std::size_t with_frames = 0;
  for (const GoldenCase& c : g.cases) with_frames += c.frames.has_value();
  fmt::print("# cases (id: the value of `golden check --case`){}\n",
             with_frames ? fmt::format("; {} blessed with frames, rolled out again by `golden check`; frames: "
                                       "their SSIM definition and the parity's max MAD when blessed",
                                       with_frames)
                         : "");
  fmt::print("#{:<33} {:>3} {:>18} {:>8} {:>9} {:>9} {:>9} {:>8} {:>17}\n", "id", "tp", "precision", "reduce",
             "par_rl2", "ag_rl2", "sh_rl2", "par_mrg", "frames");
  for (const GoldenCase& c : g.cases)
    fmt::print(" {:<33} {:>3} {:>18} {:>8} {:>9.3e} {:>9.3e} {:>9.3e} {:>8.3f} {:>17}\n", c.id, c.config.tp,
               c.config.precision().name, allreduce_model_name(c.config.allreduce), c.record.parity_rel_l2,
               c.record.allgather_ref_rel_l2, c.record.sharded_ref_rel_l2, c.record.parity_margin,
               c.frames ? fmt::format("{} mad {:.4f}", ssim_kind_name(c.frames->ssim), c.frames->parity_mad_max)
                        : "no");
  fmt::print("{} cases{}\n", g.cases.size(), video ? fmt::format(", {} frames", video->size()) : "");
  return 0;
}

}  // namespace

void write_manifest(const GoldenFile& g, const std::string& golden_path) {
  // Temporary file and rename, like the golden: a kill leaves the old list or the new one.
  const std::string path = golden_path + ".cases", tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    for (const GoldenCase& c : g.cases) out << c.id << "\n";
    if (!out.flush()) throw GoldenError(path + ": cannot write the case manifest");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw GoldenError(path + ": cannot write the case manifest (" + ec.message() + ")");
}

void add_golden_command(CLI::App& app, int* exit_code) {
  CLI::App* golden = app.add_subcommand("golden", "Bless, check, compare and inspect HDF5 goldens");
  golden->require_subcommand(1);

  auto b = std::make_shared<BlessOptions>();
  CLI::App* bless_cmd = golden->add_subcommand(
      "bless", "Run a sweep and store its results as a golden (refuses to overwrite without --force; "
               "the write is atomic). Also writes FILE.cases, the case list ctest registers.");
  add_sweep_options(bless_cmd, b->sweep);
  add_backend_options(bless_cmd, b->backend);
  add_frame_options(bless_cmd, b->frames);
  bless_cmd->add_option("--inputs", b->inputs,
                        "Store the input tensors (full) or only their generator key and SHA-256 (seeded); "
                        "auto: full for shapes up to 1 Mi weights")
      ->check(CLI::IsMember({"auto", "full", "seeded"}))
      ->capture_default_str();
  bless_cmd->add_option("-o,--output", b->output, "Golden file to write")->required();
  bless_cmd->add_flag("--force", b->force, "Replace an existing golden");
  add_real_input_options(bless_cmd, b->real);
  // Real inputs are recorded by where they came from and their digests, whatever --inputs says.
  bless_cmd->get_option("--weights")->excludes("--inputs");
  bless_cmd->callback([b, exit_code, bless_cmd] {
    b->real.precision_given = bless_cmd->count("--precision") > 0;
    *exit_code = bless(*b);
  });

  auto c = std::make_shared<CheckOptions>();
  CLI::App* check_cmd = golden->add_subcommand(
      "check", "Re-run the cases recorded in each golden and compare with the blessed results");
  check_cmd->add_option("files", c->files, "Golden files")->required()->check(CLI::ExistingFile);
  check_cmd->add_option("--case", c->cases, "Only this case (id or name); repeatable");
  std::vector<std::string> model_names;
  for (AllReduceModel m : allreduce_models()) model_names.emplace_back(allreduce_model_name(m));
  for (const AllReduceAlias& a : allreduce_aliases()) model_names.emplace_back(a.name);
  check_cmd->add_option("--allreduce", c->allreduce,
                        "Only the cases blessed with this AllReduce model (with --comm nccl, which pins NCCL once per "
                        "process to the cases' model: ring, the generic budget, runs on NCCL's Ring)")
      ->check(CLI::IsMember(model_names));
  check_cmd->add_option("--growth", c->growth,
                        "Fail when an error against the reference grew more than this factor (>= 1)")
      ->check(number_check<double>())
      ->check(at_least(1, "an error never grows below 1x of itself, so every case would fail"))
      ->capture_default_str();
  check_cmd->add_option("--comm", c->comm,
                        "Where the TP ranks run (as in run); with one rank per process (mpi, nccl under a "
                        "launcher) only the cases whose tp is the number of processes are checked")
      ->check(CLI::IsMember({"simulated", "mpi", "nccl"}))
      ->capture_default_str();
  check_cmd->add_option("--junit", c->junit, "Also write the verdicts as JUnit XML, one testcase per case");
  add_ssim_option(check_cmd, c->ssim, "for frames against the blessed ones, default: the one each case was blessed with");
  check_cmd->add_option("--inputs-cache", c->inputs_cache,
                        "Read seeded input sets from this directory, where `golden inputs --cache` wrote them "
                        "after checking their digests, instead of generating and hashing them again (a set "
                        "not found there is generated)")
      ->check(CLI::ExistingDirectory);
  add_backend_options(check_cmd, c->backend);
  check_cmd->callback([c, exit_code] { *exit_code = check(*c); });

  auto d = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* diff_cmd = golden->add_subcommand("diff", "Compare two goldens case by case, dataset by dataset "
                                                      "(exit 0: identical, 1: different, 2: trouble)");
  diff_cmd->add_option("a", d->first, "First golden")->required()->check(CLI::ExistingFile);
  diff_cmd->add_option("b", d->second, "Second golden")->required()->check(CLI::ExistingFile);
  diff_cmd->callback([d, exit_code] { *exit_code = diff(d->first, d->second); });

  auto in = std::make_shared<InputsOptions>();
  CLI::App* inputs_cmd = golden->add_subcommand(
      "inputs", "Generate the seeded input sets of goldens once, check them against their recorded SHA-256 "
                "digests and write those that match into a cache directory for `check --inputs-cache` "
                "(exit 1: a set's digests differ, 2: trouble)");
  inputs_cmd->add_option("files", in->files, "Golden files")->required()->check(CLI::ExistingFile);
  inputs_cmd->add_option("--cache", in->cache, "Directory to write the sets into (created if missing)")->required();
  inputs_cmd->callback([in, exit_code] { *exit_code = inputs(*in); });

  auto i = std::make_shared<std::string>();
  CLI::App* info_cmd = golden->add_subcommand("info", "Provenance and cases of a golden");
  info_cmd->add_option("file", *i, "Golden file")->required()->check(CLI::ExistingFile);
  info_cmd->callback([i, exit_code] { *exit_code = info(*i); });
}

}  // namespace ffn::cli
