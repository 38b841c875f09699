#pragma once
// The options that point `run` and `golden bless` at real inputs: a checkpoint's FFN
// (--weights, --layer, --stream, --tensor-prefix, --tensor-map) and captured activations
// (--activations).
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "harness/cli/sweep_options.hpp"
#include "harness/inputs/real_inputs.hpp"
#include "harness/run/case_runner.hpp"

namespace ffn::cli {

struct RealInputOptions {
  std::string weights;
  int layer = -1;
  std::string stream = "video";
  std::string tensor_prefix;
  std::vector<std::string> tensor_map;
  std::string activations;
  bool precision_given = false;  // set from the command's parse

  bool given() const { return !weights.empty(); }
};

// Registers the options on `cmd`; `o` must outlive parsing. --shape, --outliers and --frames
// describe generated inputs and are refused together with --weights.
void add_real_input_options(CLI::App* cmd, RealInputOptions& o);

struct RealRun {
  std::shared_ptr<const RealInputs> inputs;
  SweepConfig sweep;  // the shape from the checkpoint, the precisions it runs in
  InputSource source;
  double load_seconds = 0;  // reading the checkpoint's FFN and the capture
};

// "# real inputs: ..." lines for the table: the files, the tensors, the layout, the load time.
std::string describe(const RealRun& run);

// Loads the real inputs and the sweep over them. Throws std::invalid_argument or
// RealInputError, one line each.
RealRun plan_real_run(const SweepOptions& sweep, const RealInputOptions& real);

}  // namespace ffn::cli
