#pragma once
// How a sweep's results are shown: a terse table (one line per case, like nccl-tests, with a
// #wrong column and a closing verdict line) or JSON with every figure, for machines.
#include <cstddef>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/case/sweep.hpp"

namespace ffn {

// The whole table: header, a row per case, then the frames and captured tables and the
// verdict lines. A sweep that prints each row as its case finishes calls the three parts.
void print_table(std::ostream& out, const SweepConfig& sweep, const std::vector<CaseResult>& results);
// `faults`: the sweep injects faults, so every row names its fault. `not_run`: the combinations
// the loader refuses (expand_runnable), listed in the header and counted in the summary.
void print_table_header(std::ostream& out, const SweepConfig& sweep, bool faults = false,
                        const std::vector<std::string>& not_run = {});
void print_table_row(std::ostream& out, const CaseResult& result, bool faults = false);
void print_table_footer(std::ostream& out, const std::vector<CaseResult>& results, std::size_t not_run = 0);
// `pinned`: what the collectives were pinned to (--comm nccl: NCCL's version, algorithm, protocol,
// channels), recorded as "collectives_pinned" (null when nothing was pinned).
void print_json(std::ostream& out, const SweepConfig& sweep, const std::vector<CaseResult>& results,
                const std::vector<std::string>& not_run = {}, const std::string& pinned = {});

// One comparison as the JSON of `run` writes it: verdict, budget details, allclose, error
// statistics, worst elements (the Python module reports captured outputs the same way).
nlohmann::json comparison_json(const Comparison& c);

// "N passed, N failed" (", N not applicable" with injected faults that cannot occur, ", N not
// run" with combinations the loader refuses)
std::string summary_line(const std::vector<CaseResult>& results, std::size_t not_run = 0);
// With injected faults: "injected faults: N detected, N missed, N not applicable; controls:
// N passed, N failed"; empty without.
std::string injection_line(const std::vector<CaseResult>& results);

}  // namespace ffn
