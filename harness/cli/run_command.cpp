#include "harness/cli/run_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <utility>

#include "harness/case/sweep.hpp"
#include "harness/cli/backend_options.hpp"
#include "harness/cli/case_dump.hpp"
#include "harness/cli/list_command.hpp"
#include "harness/cli/output_paths.hpp"
#include "harness/cli/progress.hpp"
#include "harness/cli/real_input_options.hpp"
#include "harness/cli/run_context.hpp"
#include "harness/cli/sweep_options.hpp"
#include "harness/launch/rank_launch.hpp"
#include "harness/report/html_report.hpp"
#include "harness/report/junit_report.hpp"
#include "harness/report/table_json_report.hpp"
#include "harness/verdict/backend_agreement.hpp"
#include "harness/verdict/fault.hpp"
#include "metrics/frame_io.hpp"

namespace ffn::cli {

namespace {

struct RunOptions {
  SweepOptions sweep;
  FrameCliOptions frames;
  RealInputOptions real;
  std::string format = "table";
  std::string report_dir;  // --report: empty for none
  std::string frames_dir;  // --frames-dir: empty for none
  std::vector<std::string> inject;  // --inject: fault names, or "list"
  std::string comm = "simulated";
  bool other_options_given = false;  // any option besides --inject
  std::string outputs_dir;  // --dump-outputs: empty for none
  std::string inputs_dir;   // --dump-inputs: empty for none
  std::string junit;  // --junit: empty for none
  BackendOptions backend;
  std::string compare_backend;  // --compare-backend: empty for none
  std::vector<std::string> command;  // the program's arguments, for the report's header
};

constexpr const char* k_prefix = "ffn-parity run";

// Every case once per injected fault (the fault innermost, so cases of one input set stay
// together and share their inputs).
std::vector<CaseConfig> with_faults(const std::vector<CaseConfig>& cases, const std::vector<std::string>& names) {
  if (names.empty()) return cases;
  std::vector<CaseConfig> out;
  for (const CaseConfig& c : cases)
    for (const std::string& n : names) {
      out.push_back(c);
      out.back().fault = *parse_fault(n);  // IsMember checked the name
    }
  return out;
}

// Each case's two outputs as raw little-endian float32, DIR/<case>.{allgather,sharded}.f32:
// byte-comparable across communicators and launches.
void dump_outputs(const std::string& dir, const std::vector<CaseResult>& results) {
  std::filesystem::create_directories(dir);
  for (const auto& r : results) {
    for (const auto& [path, m] : {std::pair{"allgather", &r.allgather_out}, std::pair{"sharded", &r.sharded_out}}) {
      const std::string file = dir + "/" + output_file_name(r.config, path);
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(m->data()), static_cast<std::streamsize>(m->size() * sizeof(float)));
      if (!out.flush()) throw std::runtime_error(file + ": cannot write");
    }
  }
}

// One line per case and path: how the two backends' outputs agree, against the tolerance of
// the precision (harness/verdict/backend_agreement.hpp). Returns the number of disagreements.
std::size_t print_agreement(std::ostream& out, const Backend& a, const Backend& b, bool tf32,
                            const std::vector<CaseResult>& ra, const std::vector<CaseResult>& rb) {
  out << fmt::format("# backend agreement: {} ({}; {}) vs {} ({}; {})\n", a.name, a.device, a.libraries, b.name,
                     b.device, b.libraries);
  out << fmt::format("# relative L2 of the difference of the outputs, within a tolerance by precision\n");
  out << fmt::format("#{:<39} {:<9} {:>10} {:>10} {:>10} {:>9} {:>7}\n", "case", "path", "rel_l2", "tolerance",
                     "identical", "max_ulp", "verdict");
  std::size_t failed = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    for (const auto& [path, ya, yb] : {std::tuple{"allgather", &ra[i].allgather_out, &rb[i].allgather_out},
                                       std::tuple{"sharded", &ra[i].sharded_out, &rb[i].sharded_out}}) {
      const BackendAgreement g = backend_agreement(*ya, *yb, ra[i].config.precision(), tf32);
      failed += !g.pass;
      out << fmt::format(" {:<39} {:<9} {:>10.3g} {:>10.3g} {:>9.1f}% {:>9.3g} {:>7}\n", ra[i].config.name(), path,
                         g.rel_l2, g.tolerance, 100 * g.identical_share, g.ulp_max, g.pass ? "AGREE" : "DIFFER");
    }
  }
  out << fmt::format("{} of {} outputs agree within tolerance\n", 2 * ra.size() - failed, 2 * ra.size());
  return failed;
}

int run_one(const RunOptions& o) {
  if (std::find(o.inject.begin(), o.inject.end(), "list") != o.inject.end()) {
    if (o.other_options_given) {
      std::cerr << k_prefix << ": error: --inject list: prints the faults and runs nothing; give it alone\n";
      return 2;
    }
    print_fault_catalog();
    return 0;
  }
  if (!o.compare_backend.empty() && o.compare_backend == o.backend.backend) {
    std::cerr << fmt::format("{}: error: --compare-backend {}: the same as --backend; compare two different "
                             "backends\n",
                             k_prefix, o.compare_backend);
    return 2;
  }
  // Every output path, before minutes of work.
  for (const std::string& why :
       {check_output_file("--junit", o.junit), check_output_dir("--dump-outputs", o.outputs_dir),
        check_output_dir("--dump-inputs", o.inputs_dir),
        check_output_dir("--frames-dir", o.frames_dir), check_output_dir("--report", o.report_dir)})
    if (!why.empty()) {
      std::cerr << k_prefix << ": error: " << why << "\n";
      return 2;
    }
  if (!o.inject.empty() && (o.frames.enabled || !o.report_dir.empty())) {
    std::cerr << "ffn-parity run: error: --inject: judged on the FFN outputs only, not with --frames or --report\n";
    return 2;
  }
  if (!o.compare_backend.empty() && o.format == "json") {
    std::cerr << k_prefix << ": error: --compare-backend: its agreement table has no JSON form; use --format table\n";
    return 2;
  }
  int status = 0;
  const std::optional<Backend> backend = open_backend(o.backend.backend, o.backend.tf32, k_prefix, status);
  if (!backend) return status;
  std::optional<Backend> other;
  if (!o.compare_backend.empty() && !(other = open_backend(o.compare_backend, false, k_prefix, status))) return status;
  SweepConfig sweep;
  InputSource source;
  std::string real_inputs;  // what the table says about them
  try {
    if (o.real.given()) {
      RealRun real = plan_real_run(o.sweep, o.real);
      real_inputs = describe(real);
      sweep = std::move(real.sweep);
      source = std::move(real.source);
    } else {
      sweep = to_sweep(o.sweep);
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return 2;
  } catch (const RealInputError& e) {
    std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return 2;
  }
  const CommKind comm = *parse_comm_kind(o.comm);  // IsMember checked the name
  if (comm != CommKind::simulated && o.frames.enabled) {
    std::cerr << "ffn-parity run: error: --frames: the rollout runs every rank in one process; "
                 "it cannot be combined with --comm " << o.comm << "\n";
    return 2;
  }
  // NCCL runs the model it is pinned to: without --allreduce, its Ring.
  if (comm == CommKind::nccl && !o.sweep.allreduce_given) sweep.allreduce = {AllReduceModel::nccl_ring};
  std::unique_ptr<RankLaunch> launch;
  try {
    launch = start_launch(comm);
    // Without --tp, one launched rank per process picks it.
    if (!o.sweep.tps_given && launch->required_tp()) sweep.tps = {*launch->required_tp()};
    check_tp(*launch, sweep.tps);
  } catch (const LaunchError& e) {
    if (launch ? launch->reports() : reports_launch_error(e))
      std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return e.exit_status();
  }
  if (const std::string why = rollout_problem(o.frames, sweep.shape); !why.empty()) {
    if (launch->reports()) std::cerr << k_prefix << ": error: " << why << "\n";
    return 2;
  }
  RunnableCases runnable;
  try {
    runnable = expand_runnable(sweep);
  } catch (const std::invalid_argument& e) {
    if (launch->reports()) std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return 2;
  }
  // What the collectives are pinned to (NCCL: algorithm, protocol, channels), before any of them.
  std::string pinned;
  try {
    std::vector<AllReduceConfig> models;
    for (AllReduceModel m : sweep.allreduce) {
      models.emplace_back(m, sweep.nccl_channels);
      models.back().nccl_ring_orders = sweep.nccl_ring_orders;
    }
    pinned = launch->pin_reduction(models);
  } catch (const LaunchError& e) {
    if (launch->reports()) std::cerr << k_prefix << ": error: " << e.what() << "\n";
    return e.exit_status();
  }
  if (runnable.cases.empty()) {
    if (launch->reports())
      std::cerr << fmt::format("{}: error: nothing to run: every combination is refused ({})\n", k_prefix,
                               fmt::join(runnable.not_run, "; "));
    return 2;
  }
  const std::vector<CaseConfig> cases = with_faults(runnable.cases, o.inject);
  // Nothing checked is never a pass: faults that apply to no case leave nothing to detect.
  if (!o.inject.empty()) {
    const auto applies = [](const CaseConfig& c) {
      return fault_not_applicable(c.fault, c.tp, c.precision(), c.shape.bias, c.shape.activation).empty();
    };
    if (std::ranges::none_of(cases, applies)) {
      if (launch->reports())
        std::cerr << fmt::format("{}: error: --inject: no injected fault applies to any case ({}: {})\n", k_prefix,
                                 cases.front().name(),
                                 fault_not_applicable(cases.front().fault, cases.front().tp,
                                                      cases.front().precision(), cases.front().shape.bias,
                                                      cases.front().shape.activation));
      return 2;
    }
  }
  const bool table = o.format == "table" && launch->reports();
  const bool faults = !o.inject.empty();
  if (table) {
    if (backend->name != "cpu")
      std::cout << fmt::format("# backend {}: {}; {}\n", backend->name, backend->device, backend->libraries);
    if (!pinned.empty()) std::cout << fmt::format("# comm {}: pinned {}\n", o.comm, pinned);
    for (const std::string& note : allreduce_notes(runnable.cases)) std::cout << "# note: " << note << "\n";
    std::cout << real_inputs;
    print_table_header(std::cout, sweep, faults, runnable.not_run);
    std::cout << std::flush;
  }
  // Each row as soon as its case is judged (flushed, also into a pipe), the progress line on a
  // terminal around it.
  TerminalProgress progress(launch->reports());
  const std::size_t runs = cases.size() * (other ? 2 : 1);
  std::size_t done = 0;
  const auto progress_of = [&](std::size_t offset, bool rows) {
    return CaseProgress{
        [&, offset](std::size_t i, std::size_t, const CaseConfig& c) { progress.started(offset + i, runs, c.name()); },
        [&, rows](std::size_t, std::size_t, const CaseResult& r) {
          if (rows && table) progress.print([&] { print_table_row(std::cout, r, faults); });
          progress.finished(++done, runs);
        }};
  };
  std::vector<CaseResult> results, other_results;
  try {
    const std::optional<FrameOptions> frames = to_frame_options(o.frames);
    // The dumps write each case's budget; nothing else of a run reads it.
    CaseExecution execution = launch->execution();
    execution.keep_budgets = !o.outputs_dir.empty() || !o.inputs_dir.empty();
    results = run_cases(cases, progress_of(0, true), source, frames ? &*frames : nullptr, execution, *backend);
    if (other)
      other_results = run_cases(cases, progress_of(cases.size(), false), source, nullptr, execution, *other);
  } catch (const RealInputError& e) {
    progress.clear();
    if (launch->reports()) std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    if (launch->world_size() > 1) launch->abort(2);
    return 2;
  } catch (const std::invalid_argument& e) {  // inputs no sound budget exists for (BudgetOverflow)
    progress.clear();
    if (launch->reports()) std::cerr << k_prefix << ": error: " << e.what() << "\n";
    if (launch->world_size() > 1) launch->abort(2);
    return 2;
  } catch (const std::bad_alloc&) {
    progress.clear();
    std::cerr << fmt::format("ffn-parity run: error: --tokens{}: {} tokens of shape {} (dim {}, "
                             "inner {}){} do not fit in memory\n",
                             o.frames.enabled ? " and --grid" : "", sweep.tokens, sweep.shape.name, sweep.shape.dim,
                             sweep.shape.inner, o.frames.enabled ? " and the rollout of its frames" : "");
    if (launch->world_size() > 1) launch->abort(2);
    return 2;
  } catch (const std::exception& e) {
    progress.clear();
    if (launch->world_size() > 1) {
      // A collective or a device failed on this rank: the others cannot go on without it.
      std::cerr << fmt::format("ffn-parity run: error: rank {}: {}\n", launch->rank(), e.what());
      launch->abort(3);
    }
    // A kernel the device cannot run (nvfp4 before Blackwell, fp8 before sm_89), a CUDA error.
    if (backend->name == "cpu" || !dynamic_cast<const std::runtime_error*>(&e)) throw;  // main reports it
    std::cerr << k_prefix << ": error: --backend " << backend->name << ": " << e.what() << "\n";
    return 2;
  }
  progress.clear();
  if (!launch->reports()) return 0;  // rank 0 reports the cases and their verdicts
  if (table)
    print_table_footer(std::cout, results, runnable.not_run.size());
  else
    print_json(std::cout, sweep, results, runnable.not_run, pinned);
  const std::size_t disagreements =
      other ? print_agreement(std::cout, *backend, *other, o.backend.tf32, results, other_results) : 0;
  if (!o.report_dir.empty()) {
    try {
      RunContext context = run_context(o.command, *backend);
      if (!pinned.empty()) context.libraries += ", " + pinned;
      const std::string page = write_html_report(o.report_dir, context, sweep, results);
      if (o.format == "table") std::cout << "report: " << page << "\n";
    } catch (const std::runtime_error& e) {
      std::cerr << "ffn-parity run: error: --report: " << e.what() << "\n";
      return 2;
    }
  }
  if (!o.junit.empty()) {
    std::vector<JunitCase> cases_xml;
    for (const auto& r : results)
      cases_xml.push_back({"run." + r.config.shape.name, r.config.name(), r.seconds,
                           r.pass ? std::nullopt : std::optional(r.reason)});
    try {
      write_junit_file(o.junit, "ffn-parity run", cases_xml);
    } catch (const std::runtime_error& e) {
      std::cerr << "ffn-parity run: error: --junit: " << e.what() << "\n";
      return 2;
    }
  }
  if (!o.outputs_dir.empty()) {
    try {
      dump_outputs(o.outputs_dir, results);
    } catch (const std::exception& e) {
      std::cerr << "ffn-parity run: error: --dump-outputs: " << e.what() << "\n";
      return 2;
    }
  }
  if (!o.inputs_dir.empty()) {
    try {
      dump_inputs(o.inputs_dir, results, source, *backend, o.backend.tf32, o.outputs_dir);
    } catch (const std::exception& e) {
      std::cerr << "ffn-parity run: error: --dump-inputs: " << e.what() << "\n";
      return 2;
    }
  }
  if (!o.frames_dir.empty()) {
    // DIR/<case>/<path>/frame_NNNN.png, for a person to look at.
    try {
      for (const auto& r : results) {
        if (!r.frames) continue;
        std::string name = r.config.name();
        std::replace(name.begin(), name.end(), '/', '_');
        const std::string base = o.frames_dir + "/" + name + "/";
        write_png_dir(r.frames->videos.allgather, base + "allgather");
        write_png_dir(r.frames->videos.sharded, base + "sharded");
        write_png_dir(r.frames->videos.reference, base + "reference");
      }
    } catch (const FrameIoError& e) {
      std::cerr << "ffn-parity run: error: --frames-dir: " << e.what() << "\n";
      return 2;
    }
  }
  for (const auto& r : results)
    if (!r.pass && r.applicable()) return 1;
  return disagreements == 0 ? 0 : 1;
}

// --model with several models: one table each, in catalog order, then one closing line.
int run(const RunOptions& o) {
  std::vector<std::string> models;
  try {
    models = selected_models(o.sweep);
  } catch (const std::invalid_argument& e) {
    std::cerr << k_prefix << ": error: " << e.what() << "\n";
    return 2;
  }
  if (models.size() <= 1) return run_one(o);
  const char* single = o.format != "table"       ? "--format json"
                       : !o.report_dir.empty()   ? "--report"
                       : !o.junit.empty()        ? "--junit"
                       : !o.outputs_dir.empty()  ? "--dump-outputs"
                       : !o.inputs_dir.empty()   ? "--dump-inputs"
                       : !o.frames_dir.empty()   ? "--frames-dir"
                       : !o.compare_backend.empty() ? "--compare-backend"
                       : o.real.given()          ? "--weights"
                       : o.comm != "simulated"   ? "--comm"
                                                 : nullptr;
  if (single) {
    std::cerr << fmt::format("{}: error: {}: one model at a time ({} models given); run one invocation per model, as "
                             "ci/nightly-multi-gpu.sh does\n",
                             k_prefix, single, models.size());
    return 2;
  }
  int worst = 0;
  std::size_t passed = 0;
  for (const std::string& id : models) {
    RunOptions one = o;
    one.sweep.models = {id};
    const int status = run_one(one);
    if (status >= 2) return status;  // bad input or no device: the same for the models after it
    passed += status == 0;
    worst = std::max(worst, status);
    std::cout << "\n";
  }
  std::cout << fmt::format("models: {} of {} passed\n", passed, models.size());
  return worst;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code, std::vector<std::string> command) {
  auto opts = std::make_shared<RunOptions>();
  opts->command = std::move(command);
  CLI::App* cmd = app.add_subcommand(
      "run", "Run both FFN paths on identical inputs over TP sizes and precisions, compare them "
             "with each other and with the fp64 reference, print one line per case and a verdict. "
             "Exit status: 0 all cases pass, 1 a case failed, 2 bad usage.");
  add_sweep_options(cmd, opts->sweep);
  add_frame_options(cmd, opts->frames);
  cmd->add_option("--format", opts->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_option("--report", opts->report_dir,
                  "Also write an HTML report into this directory (created if missing; an earlier report's "
                  "page and pictures there are replaced): index.html, self-contained, with the command line and "
                  "provenance, the summary table, plots of the margins (and with --frames the PSNR and SSIM) "
                  "against tp and, with --frames, the worst frames of each precision with difference heatmaps "
                  "and SSIM maps, also as PNG files. The table ends with the page's path");
  cmd->add_option("--frames-dir", opts->frames_dir,
                  "With --frames: write every case's decoded frames (allgather, sharded, reference) as PNG "
                  "files into DIR/<case>/<path>/")
      ->needs("--frames");
  add_backend_options(cmd, opts->backend);
  cmd->add_option("--compare-backend", opts->compare_backend,
                  "Also run every case on this backend with the same inputs and print how the two backends' "
                  "outputs agree (relative L2 within a tolerance by precision; exit 1 where they differ)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  std::vector<std::string> fault_names{"list"};
  std::string fault_help =
      "Inject faults into the path under test, comma-separated; each case runs once per fault and a FAIL "
      "means the fault was detected (exit status 1). `--inject list` describes them:";
  for (const FaultInfo& f : fault_catalog()) {
    fault_names.emplace_back(f.name);
    fault_help += " " + std::string(f.name);
  }
  cmd->add_option("--inject", opts->inject, fault_help)->delimiter(',')->check(CLI::IsMember(fault_names));
  cmd->add_option("--comm", opts->comm,
                  "Where the TP ranks run: simulated (all in this process), mpi (one CPU rank per process "
                  "under mpirun/srun; tp = number of processes, the default --tp), nccl (GPUs: one process "
                  "per GPU under a launcher, else one process driving tp GPUs)")
      ->check(CLI::IsMember({"simulated", "mpi", "nccl"}))
      ->capture_default_str();
  cmd->add_option("--dump-outputs", opts->outputs_dir,
                  "Write each case's allgather and sharded outputs as raw float32 into DIR/<case>.<path>.f32");
  cmd->add_option("--dump-inputs", opts->inputs_dir,
                  "Write each input set's x and weights (safetensors, PyTorch layout), its fp64 reference, each "
                  "case's error budgets and its settings as JSON into DIR, for ci/torch-parity.py "
                  "(harness/cli/case_dump.hpp)");
  cmd->add_option("--junit", opts->junit, "Also write the verdicts as JUnit XML, one testcase per case");
  add_real_input_options(cmd, opts->real);
  cmd->callback([cmd, opts, exit_code] {
    opts->other_options_given = std::ranges::any_of(cmd->get_options(), [](const CLI::Option* opt) {
      return opt->get_name() != "--inject" && opt->count() > 0;
    });
    opts->real.precision_given = cmd->count("--precision") > 0;
    *exit_code = run(*opts);
  });
}

}  // namespace ffn::cli
