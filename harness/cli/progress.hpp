#pragma once
// Progress of a sweep, on a terminal only: piped output stays clean.
#include "harness/run/case_runner.hpp"

namespace ffn::cli {

// A progress callback writing "[i/n] case" to stderr when it is a terminal; empty otherwise.
ProgressFn terminal_progress();
// Erases the progress line, if one was shown.
void clear_progress(const ProgressFn& progress);

}  // namespace ffn::cli
