#pragma once
// How a sweep's results are shown: a terse table (one line per case, like nccl-tests, with a
// #wrong column and a closing verdict line) or JSON with every figure, for machines.
#include <iosfwd>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/case/sweep.hpp"

namespace ffn {

void print_table(std::ostream& out, const SweepConfig& sweep, const std::vector<CaseResult>& results);
void print_json(std::ostream& out, const SweepConfig& sweep, const std::vector<CaseResult>& results);

// "N passed, N failed" (", N not applicable" with injected faults that cannot occur)
std::string summary_line(const std::vector<CaseResult>& results);
// With injected faults: "injected faults: N detected, N missed, N not applicable; controls:
// N passed, N failed"; empty without.
std::string injection_line(const std::vector<CaseResult>& results);

}  // namespace ffn
