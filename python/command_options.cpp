#include "python/command_options.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "python/errors.hpp"

namespace ffn::python {

CommandOptions parse_run_options(const std::vector<std::string>& args, const std::string& prefix) {
  CommandOptions o;
  CLI::App app{"", "ffn-parity"};
  CLI::App* run = app.add_subcommand("run");
  cli::add_sweep_options(run, o.sweep);
  cli::add_real_input_options(run, o.real);
  std::vector<std::string> argv{"run"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::reverse(argv.begin(), argv.end());  // CLI11 takes a vector last argument first
  try {
    app.parse(argv);
  } catch (const CLI::ParseError& e) {
    throw usage_error(prefix, e.what());
  }
  if (!app.remaining().empty()) throw usage_error(prefix, fmt::format("unexpected argument '{}'", app.remaining().front()));
  o.real.precision_given = run->count("--precision") > 0;
  return o;
}

PlannedSweep plan_sweep(const CommandOptions& o, const std::string& prefix) {
  PlannedSweep p;
  try {
    if (o.real.given()) {
      cli::RealRun real = cli::plan_real_run(o.sweep, o.real);
      p.sweep = std::move(real.sweep);
      p.source = std::move(real.source);
    } else {
      p.sweep = cli::to_sweep(o.sweep);
    }
    p.runnable = expand_runnable(p.sweep);
  } catch (const std::invalid_argument& e) {
    throw usage_error(prefix, e.what());
  } catch (const RealInputError& e) {
    throw usage_error(prefix, e.what());
  }
  if (p.runnable.cases.empty())
    throw usage_error(prefix, fmt::format("nothing to run: every combination is refused ({})",
                                          fmt::join(p.runnable.not_run, "; ")));
  return p;
}

Backend open_backend(const std::string& name, const std::string& prefix) {
  try {
    return make_backend(name);
  } catch (const BackendUnavailable& e) {
    throw CommandError(3, fmt::format("{}: error: --backend {}: {}", prefix, name, e.what()));
  } catch (const std::invalid_argument& e) {
    throw usage_error(prefix, e.what());
  }
}

}  // namespace ffn::python
