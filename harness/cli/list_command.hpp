#pragma once
// `ffn-parity list shapes|precisions|allreduce|faults`: what each option value means.
#include <CLI/CLI.hpp>

namespace ffn::cli {

void add_list_command(CLI::App& app, int* exit_code);
// The fault catalog, one line per fault (also `run --inject list`).
void print_fault_catalog();

}  // namespace ffn::cli
