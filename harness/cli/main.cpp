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
#include "harness/cli/run_command.hpp"
#include "harness/version.hpp"

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
  if (!in_subcommand && dynamic_cast<const CLI::RequiredError*>(&e))
    return fmt::format("no subcommand given (expected one of: {})", known);
  return e.what();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ffn-parity: numerical parity of tensor-parallel FFN implementations", "ffn-parity"};
  app.set_version_flag("--version", ffn::k_version);
  app.require_subcommand(1);
  int exit_code = 0;
  ffn::cli::add_run_command(app, &exit_code, std::vector<std::string>(argv, argv + argc));
  ffn::cli::add_golden_command(app, &exit_code);
  ffn::cli::add_frames_command(app, &exit_code);
  ffn::cli::add_false_alarm_command(app, &exit_code);
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
    std::string prefix = "ffn-parity";
    for (const CLI::App* sub : app.get_subcommands()) prefix += " " + sub->get_name();
    std::cerr << prefix << ": error: " << usage_error(app, e) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ffn-parity: error: " << e.what() << "\n";
    return 3;
  }
  return exit_code;
}
