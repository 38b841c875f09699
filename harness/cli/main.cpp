// ffn-parity: numerical parity of the old (allgather) and new (sharded) tensor-parallel
// FFN of LTX-2, against an fp64 reference.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "harness/cli/false_alarm_command.hpp"
#include "harness/cli/frames_command.hpp"
#include "harness/cli/golden_command.hpp"
#include "harness/cli/list_command.hpp"
#include "harness/cli/run_context.hpp"
#include "harness/cli/run_command.hpp"
#include "harness/cli/validators.hpp"
#include "harness/launch/backend.hpp"
#include "harness/launch/rank_launch.hpp"
#include "harness/version.hpp"
#include "kernels/heap_reuse.hpp"

namespace {

// The one line a usage error gets. CLI11 checks for a missing subcommand before it looks at
// leftover arguments, so on its own "ffn-parity --bogus" and "ffn-parity frob" would both
// say only "A subcommand is required"; naming the argument it did not understand comes first.
std::string usage_error(const CLI::App& app, const CLI::ParseError& e) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  const std::string known = fmt::format("{}", fmt::join(names, ", "));

  const std::vector<std::string> extras = app.remaining(true);
  const bool in_subcommand = !app.get_subcommands().empty();
  if (!extras.empty()) {
    const std::string& first = extras.front();
    if (first.starts_with('-')) return fmt::format("unknown option '{}'", first);
    if (!in_subcommand)
      return fmt::format("unknown subcommand '{}' (expected one of: {})", first, known);
    return fmt::format("unexpected argument '{}'", first);
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e)) {
    // The deepest subcommand given, when it needs one of its own (`ffn-parity golden`).
    const CLI::App* last = &app;
    while (!last->get_subcommands().empty()) last = last->get_subcommands().front();
    std::vector<std::string> subs;
    for (const CLI::App* sub : last->get_subcommands([](const CLI::App*) { return true; }))
      subs.push_back(sub->get_name());
    if (!subs.empty() && last->get_subcommands().empty())
      return fmt::format("no subcommand given (expected one of: {})", fmt::join(subs, ", "));
  }
  return e.what();
}

// --version: what this binary is, and what it was built with (the provenance a report records).
std::string version_text() {
  const ffn::RunContext c = ffn::cli::run_context({}, ffn::cpu_backend());
  const auto yes = [](bool b) { return b ? "yes" : "no"; };
  return fmt::format("ffn-parity {} (commit {})\nbuilt with: CUDA backend {}, MPI {}, NCCL {}\nlibraries: {}",
                     c.version, c.commit, yes(ffn::cuda_backend_built()), yes(ffn::comm_built(ffn::CommKind::mpi)),
                     yes(ffn::comm_built(ffn::CommKind::nccl)), c.libraries);
}

// "ffn-parity golden check": the program and the subcommands given.
std::string command_prefix(const CLI::App& app) {
  std::string prefix = "ffn-parity";
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    prefix += " " + sub->get_name();
  }
  return prefix;
}

}  // namespace

int main(int argc, char** argv) {
  ffn::reuse_freed_memory();
  CLI::App app{"ffn-parity: numerical parity of tensor-parallel FFN implementations", "ffn-parity"};
  app.set_version_flag("--version", version_text);
  app.require_subcommand(1);
  int exit_code = 0;
  ffn::cli::add_run_command(app, &exit_code, std::vector<std::string>(argv, argv + argc));
  ffn::cli::add_golden_command(app, &exit_code);
  ffn::cli::add_frames_command(app, &exit_code);
  ffn::cli::add_false_alarm_command(app, &exit_code);
  ffn::cli::add_list_command(app, &exit_code);
  // CLI11 drops empty list elements ("--tp 1,,2" runs tp 1 and 2): refused before parsing.
  if (const std::string line = ffn::cli::empty_list_element(app, argc, argv); !line.empty()) {
    std::cerr << line << "\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Prefixed like the subcommand's own errors, so every usage error reads the same way.
    std::cerr << command_prefix(app) << ": error: " << usage_error(app, e) << "\n";
    return 2;
  } catch (const std::exception& e) {
    // Every expected failure is handled where it happens; what arrives here is a bug.
    std::cerr << command_prefix(app) << ": internal error: " << e.what() << "\n";
    return 4;
  }
  return exit_code;
}
