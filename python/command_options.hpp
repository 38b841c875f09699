#pragma once
// The module's options are the command line's: the Python wrapper turns keyword arguments into
// `ffn-parity run` arguments, and they are parsed and validated here by the CLI's own option
// groups (harness/cli/sweep_options, real_input_options), so a bad value gets the CLI's line.
#include <string>
#include <vector>

#include "harness/case/sweep.hpp"
#include "harness/cli/real_input_options.hpp"
#include "harness/cli/sweep_options.hpp"
#include "harness/launch/backend.hpp"
#include "harness/run/case_runner.hpp"

namespace ffn::python {

struct CommandOptions {
  cli::SweepOptions sweep;
  cli::RealInputOptions real;
};

// Parses `args` as `ffn-parity run ARGS` parses them. Throws CommandError "<prefix>: error: ...".
CommandOptions parse_run_options(const std::vector<std::string>& args, const std::string& prefix);

// The sweep the options describe and where its inputs come from (generated, or a checkpoint).
struct PlannedSweep {
  SweepConfig sweep;
  InputSource source;  // empty: generated
  RunnableCases runnable;
};
PlannedSweep plan_sweep(const CommandOptions& o, const std::string& prefix);

// "cpu" or "cuda"; CommandError status 3 (no device: "--backend cuda: ...") or 2.
Backend open_backend(const std::string& name, const std::string& prefix);

}  // namespace ffn::python
