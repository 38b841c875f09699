// ffn-parity: numerical parity of the old (allgather) and new (sharded) tensor-parallel
// FFN of LTX-2, against an fp64 reference.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "harness/cli/run_command.hpp"
#include "harness/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ffn-parity: numerical parity of tensor-parallel FFN implementations", "ffn-parity"};
  app.set_version_flag("--version", ffn::k_version);
  app.require_subcommand(1);
  int exit_code = 0;
  ffn::cli::add_run_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ffn-parity: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ffn-parity: error: " << e.what() << "\n";
    return 3;
  }
  return exit_code;
}
