#pragma once
// `ffn-parity golden bless|check|diff|info`: the HDF5 golden workflow.
#include <CLI/CLI.hpp>

#include "goldens/golden_file.hpp"

namespace ffn::cli {

void add_golden_command(CLI::App& app, int* exit_code);

// FILE.cases: the ids of the cases in a golden, one per line, for ctest to register each
// case as its own test at configure time (when no binary exists to read the HDF5 file).
void write_manifest(const GoldenFile& golden, const std::string& golden_path);

}  // namespace ffn::cli
