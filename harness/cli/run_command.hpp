#pragma once
// `ffn-parity run`: the parity sweep.
#include <CLI/CLI.hpp>

namespace ffn::cli {

// Registers the subcommand; *exit_code receives its exit status when it runs.
void add_run_command(CLI::App& app, int* exit_code);

}  // namespace ffn::cli
