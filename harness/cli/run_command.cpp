#include "harness/cli/run_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>

#include "harness/cli/progress.hpp"
#include "harness/cli/real_input_options.hpp"
#include "harness/cli/sweep_options.hpp"
#include "harness/fault.hpp"
#include "harness/html_report.hpp"
#include "harness/junit_report.hpp"
#include "harness/rank_launch.hpp"
#include "harness/report.hpp"
#include "metrics/frame_io.hpp"
#include "harness/sweep.hpp"

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
  bool tps_given = false;  // --tp on the command line (else one launched rank per process picks it)
  std::string outputs_dir;  // --dump-outputs: empty for none
  std::string junit;  // --junit: empty for none
};

void print_fault_catalog() {
  for (const FaultInfo& f : fault_catalog())
    fmt::print("{:<24} {:<9} {}\n", f.name, f.path == FaultedPath::sharded ? "sharded" : "allgather",
               f.description);
}

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
    std::string name = r.config.name();
    std::replace(name.begin(), name.end(), '/', '_');
    for (const auto& [path, m] : {std::pair{"allgather", &r.allgather_out}, std::pair{"sharded", &r.sharded_out}}) {
      const std::string file = fmt::format("{}/{}.{}.f32", dir, name, path);
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(m->data()), static_cast<std::streamsize>(m->size() * sizeof(float)));
      if (!out.flush()) throw std::runtime_error(file + ": cannot write");
    }
  }
}

int run(const RunOptions& o) {
  if (std::find(o.inject.begin(), o.inject.end(), "list") != o.inject.end()) {
    print_fault_catalog();
    return 0;
  }
  if (!o.inject.empty() && (o.frames.enabled || !o.report_dir.empty())) {
    std::cerr << "ffn-parity run: error: --inject: judged on the FFN outputs only, not with --frames or --report\n";
    return 2;
  }
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
  std::unique_ptr<RankLaunch> launch;
  try {
    launch = start_launch(comm);
    if (!o.tps_given && launch->required_tp()) sweep.tps = {*launch->required_tp()};
    check_tp(*launch, sweep.tps);
  } catch (const LaunchError& e) {
    if (launch ? launch->reports() : reports_launch_error(e))
      std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return 2;
  }
  std::vector<CaseConfig> cases;
  try {
    cases = with_faults(expand(sweep), o.inject);
  } catch (const std::invalid_argument& e) {
    if (launch->reports()) std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    return 2;
  }
  // A report that cannot be written is refused before the sweep spends its time.
  if (!o.report_dir.empty()) {
    try {
      prepare_report_dir(o.report_dir);
    } catch (const std::runtime_error& e) {
      std::cerr << "ffn-parity run: error: --report: " << e.what() << "\n";
      return 2;
    }
  }
  const ProgressFn progress = launch->reports() ? terminal_progress() : ProgressFn{};
  std::vector<CaseResult> results;
  try {
    const std::optional<FrameOptions> frames = to_frame_options(o.frames);
    results = run_cases(cases, progress, source, frames ? &*frames : nullptr, launch->execution());
  } catch (const RealInputError& e) {
    clear_progress(progress);
    if (launch->reports()) std::cerr << "ffn-parity run: error: " << e.what() << "\n";
    if (launch->world_size() > 1) launch->abort(2);
    return 2;
  } catch (const std::bad_alloc&) {
    clear_progress(progress);
    std::cerr << fmt::format("ffn-parity run: error: --tokens: {} tokens of shape {} (dim {}, "
                             "inner {}) do not fit in memory\n",
                             sweep.tokens, sweep.shape.name, sweep.shape.dim, sweep.shape.inner);
    if (launch->world_size() > 1) launch->abort(2);
    return 2;
  } catch (const std::exception& e) {
    if (launch->world_size() == 1) throw;  // main reports it
    // A collective or a device failed on this rank: the others cannot go on without it.
    std::cerr << fmt::format("ffn-parity run: error: rank {}: {}\n", launch->rank(), e.what());
    launch->abort(3);
  }
  clear_progress(progress);
  if (!launch->reports()) return 0;  // rank 0 reports the cases and their verdicts
  if (o.format == "json")
    print_json(std::cout, sweep, results);
  else {
    std::cout << real_inputs;
    print_table(std::cout, sweep, results);
  }
  if (!o.report_dir.empty()) {
    try {
      write_html_report(o.report_dir, sweep, results);
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
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<RunOptions>();
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
                  "Also write an HTML report into this directory (created if missing): index.html, "
                  "self-contained, with the summary table, parity-vs-tp plots and, with --frames, the worst "
                  "frames with difference heatmaps and SSIM maps, also as PNG files");
  cmd->add_option("--frames-dir", opts->frames_dir,
                  "With --frames: write every case's decoded frames (allgather, sharded, reference) as PNG "
                  "files into DIR/<case>/<path>/");
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
  cmd->add_option("--junit", opts->junit, "Also write the verdicts as JUnit XML, one testcase per case");
  add_real_input_options(cmd, opts->real);
  cmd->callback([cmd, opts, exit_code] {
    opts->tps_given = cmd->count("--tp") > 0;
    opts->real.precision_given = cmd->count("--precision") > 0;
    *exit_code = run(*opts);
  });
}

}  // namespace ffn::cli
