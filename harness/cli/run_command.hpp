#pragma once
// `ffn-parity run`: the parity sweep.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace ffn::cli {

// Registers the subcommand; *exit_code receives its exit status when it runs. `command`: the
// program's arguments, for the header of the HTML report.
void add_run_command(CLI::App& app, int* exit_code, std::vector<std::string> command);

}  // namespace ffn::cli
