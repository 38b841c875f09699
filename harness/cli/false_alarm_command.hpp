#pragma once
#include <CLI/CLI.hpp>

namespace ffn::cli {

// `ffn-parity false-alarms`: correct code over many seeds per configuration; every FAIL is a
// false alarm. Sets *exit_code: 0 none, 1 a false alarm, 2 bad usage.
void add_false_alarm_command(CLI::App& app, int* exit_code);

}  // namespace ffn::cli
